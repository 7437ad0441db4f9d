"""`opsbot health`: is the running bot alive? For Docker's HEALTHCHECK, and for people.

It reads only the heartbeat the bot writes to its database, so it needs OPSBOT_DATABASE_URL
and nothing else: no tokens, no call to Telegram or X. Exit 0 when both Telegram and X
answered the bot recently; otherwise 1 with one line saying which is stale. Every failure is
1, never 2, which Docker reserves.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import datetime

from sqlalchemy.engine import make_url

from opsbot.db.base import utcnow
from opsbot.db.engine import create_engine, create_sessionmaker
from opsbot.services import heartbeat
from opsbot.settings import Settings, normalise_database_url

PROG = "opsbot health"
# Telegram is asked every minute. X is read every OPSBOT_POLL_IDLE_SECONDS (300 by default)
# outside salons: two missed polls and some slack.
MAX_AGE = {heartbeat.TELEGRAM: 180.0, heartbeat.X: 900.0}
NAMES = {heartbeat.TELEGRAM: "Telegram", heartbeat.X: "X"}


class Unhealthy(Exception):
    """One line for the exit status 1: safe to print (no URL, no password)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-age",
        metavar="SECONDS",
        type=float,
        help="how old the last round-trip may be, for both (default: Telegram 180, X 900)",
    )
    parser.add_argument("--max-x-age", metavar="SECONDS", type=float, help="the same for X alone")


def database_url() -> str:
    """OPSBOT_DATABASE_URL alone, so the check runs without the bot's tokens."""
    default = str(Settings.model_fields["database_url"].default)
    try:
        return normalise_database_url(os.environ.get("OPSBOT_DATABASE_URL") or default)
    except ValueError as exc:
        raise Unhealthy(f"OPSBOT_DATABASE_URL is malformed: {exc}") from None


def run(args: argparse.Namespace) -> int:
    limits = dict(MAX_AGE)
    if args.max_age is not None:
        limits = dict.fromkeys(limits, args.max_age)
    if args.max_x_age is not None:
        limits[heartbeat.X] = args.max_x_age
    try:
        url = database_url()
        missing_database(url)
        beats = asyncio.run(read_heartbeat(url))
        print(verdict(beats, utcnow(), limits))
    except Unhealthy as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    return 0


def missing_database(url: str) -> None:
    """Connecting would create an empty SQLite file where the bot's is missing: say so."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not os.path.exists(parsed.database or ""):
        raise Unhealthy(f"no database at {parsed.database}: has the bot ever run?")


async def read_heartbeat(url: str) -> dict[str, datetime]:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine).begin() as session:
            return await heartbeat.read(session)
    except Exception as exc:
        # The driver's message may quote the URL and its password: name the error only.
        name = type(exc).__name__
        raise Unhealthy(f"cannot read the heartbeat from the database ({name})") from None
    finally:
        await engine.dispose()


def verdict(beats: dict[str, datetime], now: datetime, limits: dict[str, float]) -> str:
    """A line for a healthy bot; raises Unhealthy naming every stale round-trip."""
    ages = {what: (now - at).total_seconds() for what, at in beats.items()}
    stale = []
    for what, limit in limits.items():
        age = ages.get(what)
        if age is None:
            stale.append(f"{NAMES[what]} never answered")
        elif age > limit:
            stale.append(f"{NAMES[what]} last answered {age:.0f} s ago (at most {limit:.0f} s)")
    if stale:
        raise Unhealthy("stale: " + "; ".join(stale))
    return "healthy: " + ", ".join(
        f"{NAMES[what]} answered {ages[what]:.0f} s ago" for what in limits
    )
