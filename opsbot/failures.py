"""Why opsbot cannot start, in one line a person can act on, with an exit code per cause.

`opsbot run`, `opsbot check` and `opsbot db upgrade` say the same thing for the same cause.
A line names variables, hosts and paths, never a value that may be secret (a token, a key,
a password); the CLI still passes it through the redacting formatter before printing.
"""

from __future__ import annotations

import os
import socket
import sqlite3
from collections.abc import Iterator
from enum import IntEnum
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url
from telegram.error import InvalidToken, TelegramError

from opsbot.db.engine import create_engine, probe
from opsbot.x.gateway import XAuthFailed, XError


class ExitCode(IntEnum):
    """Documented in the README's "Exit codes"; a service manager may act on them."""

    OK = 0
    UNEXPECTED = 1
    SETTINGS = 2
    TELEGRAM_TOKEN = 3
    TELEGRAM_UNREACHABLE = 4
    X_KEYS = 5
    X_UNREACHABLE = 6
    DATABASE = 7
    STAFF_GROUP = 8
    ALREADY_RUNNING = 9


class StartupError(Exception):
    """A cause the person starting opsbot can fix; `str()` is the one line to print."""

    def __init__(self, code: ExitCode, message: str) -> None:
        # One line, whatever a library's message carried.
        super().__init__(" ".join(message.split()))
        self.code = code


def telegram(exc: TelegramError, api_url: str) -> StartupError:
    if isinstance(exc, InvalidToken):
        return StartupError(
            ExitCode.TELEGRAM_TOKEN,
            "Telegram refused OPSBOT_TELEGRAM_TOKEN: copy the bot's token again from "
            "@BotFather (/mybots → your bot → API Token)",
        )
    return StartupError(
        ExitCode.TELEGRAM_UNREACHABLE,
        f"Telegram at {api_url} did not answer ({exc}): check this machine's network, "
        "proxy or firewall, or OPSBOT_TELEGRAM_API_URL, then start again",
    )


def already_running(where: str) -> StartupError:
    return StartupError(
        ExitCode.ALREADY_RUNNING,
        f"another opsbot is already running {where}: stop it (or give this one another bot "
        "and database) and start again; the running one was left undisturbed",
    )


def x(exc: XError, *, reading: bool = False) -> StartupError:
    if isinstance(exc, XAuthFailed):
        keys = (
            "OPSBOT_X_BEARER_TOKEN"
            if reading
            else "OPSBOT_X_API_KEY, OPSBOT_X_API_SECRET, OPSBOT_X_ACCESS_TOKEN and "
            "OPSBOT_X_ACCESS_TOKEN_SECRET"
        )
        return StartupError(
            ExitCode.X_KEYS,
            f"X refused the museum's keys: copy {keys} again from the X developer portal "
            "(your app → Keys and tokens; the app needs Read and write)",
        )
    return StartupError(
        ExitCode.X_UNREACHABLE,
        f"X did not answer ({exc}): check this machine's network, proxy or "
        "firewall, or OPSBOT_X_API_URL, then start again",
    )


def x_account(found: str, expected: str) -> StartupError:
    return StartupError(
        ExitCode.X_KEYS,
        f"the X access token belongs to @{found}, not to @{expected} (OPSBOT_X_ACCOUNT): "
        f"generate the access token and secret while logged in to X as @{expected}",
    )


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The error and what it wraps: SQLAlchemy keeps the driver's error in `orig`."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [getattr(current, "orig", None), current.__cause__, current.__context__]


async def reach_database(url: str) -> None:
    """Connect once, or raise the reason as a `StartupError`."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and (problem := _sqlite_path(parsed.database)):
        # Said before connecting: aiosqlite's worker thread outlives a failed connect and
        # may print a traceback of its own after the event loop has closed.
        raise StartupError(ExitCode.DATABASE, problem)
    engine = create_engine(url)
    try:
        await probe(engine)
    except Exception as exc:
        # A bare connection and `SELECT 1`: whatever fails here is the database's doing.
        raise database(exc, url) from exc
    finally:
        await engine.dispose()


def database(exc: BaseException, url: str) -> StartupError:
    """Why a connection to OPSBOT_DATABASE_URL failed."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return StartupError(ExitCode.DATABASE, _sqlite(exc, parsed.database))
    server = f"PostgreSQL at {parsed.host or 'localhost'}:{parsed.port or 5432}"
    causes = list(_causes(exc))

    def first(kind: type[BaseException]) -> BaseException | None:
        return next((cause for cause in causes if isinstance(cause, kind)), None)

    if first(asyncpg.InvalidCatalogNameError):
        name = parsed.database or ""
        message = (
            f"the database “{name}” does not exist on {server}: create it (createdb {name}) "
            "or correct the name in OPSBOT_DATABASE_URL"
        )
    elif refused := first(asyncpg.InvalidAuthorizationSpecificationError):
        # A wrong password, an unknown role or pg_hba.conf: the server's words tell which.
        message = (
            f"{server} refused the user “{parsed.username or ''}” ({refused}): check the user "
            "and password in OPSBOT_DATABASE_URL"
        )
    elif first(socket.gaierror):
        message = f"the database host “{parsed.host}” is unknown: correct OPSBOT_DATABASE_URL"
    elif unreachable := first(OSError):  # refused, no route, timed out
        message = (
            f"{server} is unreachable ({type(unreachable).__name__}): start it, or correct "
            "the host and port in OPSBOT_DATABASE_URL"
        )
    else:
        message = f"{server} failed ({type(exc).__name__}): check OPSBOT_DATABASE_URL"
    return StartupError(ExitCode.DATABASE, message)


def _sqlite_path(database: str | None) -> str | None:
    """What keeps this user from creating or writing the SQLite file, if anything."""
    if not database or database == ":memory:":
        return None
    path = Path(database).absolute()
    folder = path.parent
    if not folder.is_dir():
        return (
            f"the folder {folder} of the SQLite database does not exist: create it, or "
            "correct the path in OPSBOT_DATABASE_URL"
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        return (
            f"the folder {folder} of the SQLite database is not writable by this user: "
            "give it write access, or choose another path in OPSBOT_DATABASE_URL"
        )
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        return f"the SQLite database {path} is read-only for this user: give it write access"
    return None


def _sqlite(exc: BaseException, database: str | None) -> str:
    problem = _sqlite_path(database)
    if problem:
        return problem
    reason = next(
        (str(cause) for cause in _causes(exc) if isinstance(cause, sqlite3.Error)),
        type(exc).__name__,
    )
    return f"the SQLite database {database} cannot be opened ({reason}): check OPSBOT_DATABASE_URL"
