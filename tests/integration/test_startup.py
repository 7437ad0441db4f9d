"""A first start that cannot work: one line that says what to do, and an exit code per cause.

`opsbot run`, `opsbot check` and `opsbot db upgrade` run as the museum runs them, in a
subprocess at the default log level, against the emulators, a port where nothing listens, a
SQLite path in a missing folder and the PostgreSQL server of the tests.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from opsbot import failures
from opsbot.emulators.sandbox import Sandbox
from opsbot.failures import ExitCode, StartupError
from tests.conftest import POSTGRES_URL
from tests.environment import without_opsbot_settings

WRONG_TOKEN = "7000000001:AAwrong-token-that-must-stay-hidden"
WRONG_KEY = "wrong-api-key-that-must-stay-hidden"


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


async def opsbot(env: dict[str, str], cwd: Path, *args: str) -> Result:
    clean = without_opsbot_settings()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "opsbot",
        *args,
        env={**clean, **env},
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 90)
    assert process.returncode is not None
    return Result(process.returncode, stdout.decode(), stderr.decode())


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port bound but not listening: connections to it are refused, and nobody else gets it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def environment(sandbox: Sandbox, tmp_path: Path, **changes: str) -> dict[str, str]:
    return {
        **sandbox.environment(),
        "OPSBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'opsbot.sqlite3'}",
        **changes,
    }


def assert_no_secret(output: str, sandbox: Sandbox) -> None:
    for secret in [*sandbox.credentials.values(), WRONG_TOKEN, WRONG_KEY]:
        assert secret not in output
        for part in secret.split(":"):
            if len(part) > 12:
                assert part not in output


async def assert_refused(
    sandbox: Sandbox, env: dict[str, str], cwd: Path, code: ExitCode, *words: str
) -> None:
    """`opsbot run` stops with one line on stderr; `opsbot check` has one FAIL line for it."""
    run = await opsbot(env, cwd, "run")
    assert run.code == code, run.stderr[-3000:]
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("opsbot: "), run.stderr[-3000:]
    assert all(word in lines[0] for word in words), lines[0]
    assert run.stdout == ""

    check = await opsbot(env, cwd, "check")
    assert check.code == code, check.stdout + check.stderr
    failed = [line for line in check.stdout.splitlines() if line.startswith("[FAIL]")]
    assert failed and all(word in failed[0] for word in words), check.stdout
    assert check.stderr == ""
    assert_no_secret(run.stdout + run.stderr + check.stdout + check.stderr, sandbox)


async def test_unknown_telegram_token(sandbox: Sandbox, tmp_path: Path) -> None:
    env = environment(sandbox, tmp_path, OPSBOT_TELEGRAM_TOKEN=WRONG_TOKEN)
    await assert_refused(
        sandbox, env, tmp_path, ExitCode.TELEGRAM_TOKEN, "OPSBOT_TELEGRAM_TOKEN", "@BotFather"
    )


async def test_telegram_unreachable(sandbox: Sandbox, tmp_path: Path, closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    env = environment(sandbox, tmp_path, OPSBOT_TELEGRAM_API_URL=url)
    await assert_refused(sandbox, env, tmp_path, ExitCode.TELEGRAM_UNREACHABLE, url, "network")


async def test_x_refuses_the_keys(sandbox: Sandbox, tmp_path: Path) -> None:
    env = environment(sandbox, tmp_path, OPSBOT_X_API_KEY=WRONG_KEY)
    await assert_refused(sandbox, env, tmp_path, ExitCode.X_KEYS, "OPSBOT_X_API_KEY", "portal")


async def test_x_keys_of_another_account(sandbox: Sandbox, tmp_path: Path) -> None:
    env = environment(sandbox, tmp_path, OPSBOT_X_ACCOUNT="other_museum")
    await assert_refused(sandbox, env, tmp_path, ExitCode.X_KEYS, "@museum", "@other_museum")


async def test_x_unreachable(sandbox: Sandbox, tmp_path: Path, closed_port: int) -> None:
    env = environment(sandbox, tmp_path, OPSBOT_X_API_URL=f"http://127.0.0.1:{closed_port}")
    await assert_refused(sandbox, env, tmp_path, ExitCode.X_UNREACHABLE, "OPSBOT_X_API_URL")


async def test_sqlite_in_a_missing_folder(sandbox: Sandbox, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    url = f"sqlite:///{missing / 'opsbot.sqlite3'}"
    env = environment(sandbox, tmp_path, OPSBOT_DATABASE_URL=url)
    await assert_refused(sandbox, env, tmp_path, ExitCode.DATABASE, str(missing), "does not exist")
    upgrade = await opsbot({"OPSBOT_DATABASE_URL": url}, tmp_path, "db", "upgrade")
    assert upgrade.code == ExitCode.DATABASE
    [line] = upgrade.stderr.splitlines()
    assert str(missing) in line and "does not exist" in line


async def _postgres_server() -> str:
    try:
        connection = await asyncpg.connect(POSTGRES_URL, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"no PostgreSQL server at {POSTGRES_URL}: {type(exc).__name__}")
    await connection.close()
    return POSTGRES_URL.rsplit("/", 1)[0]


async def test_postgresql_database_that_does_not_exist(tmp_path: Path) -> None:
    name = f"opsbot_absent_{uuid.uuid4().hex[:8]}"
    url = f"{await _postgres_server()}/{name}"
    with pytest.raises(StartupError) as raised:
        await failures.reach_database(url.replace("postgresql://", "postgresql+asyncpg://"))
    assert raised.value.code == ExitCode.DATABASE
    assert f"the database “{name}” does not exist" in str(raised.value)
    assert f"createdb {name}" in str(raised.value)
    # `db upgrade` needs nothing but the database, and says the same in one line.
    upgrade = await opsbot({"OPSBOT_DATABASE_URL": url}, tmp_path, "db", "upgrade")
    assert upgrade.code == ExitCode.DATABASE
    assert upgrade.stderr.splitlines() == [f"opsbot: {raised.value}"]


async def test_postgresql_refuses_an_unknown_user() -> None:
    server = await _postgres_server()
    url = server.replace("postgresql://postgres@", "postgresql+asyncpg://nobody_here:secret@")
    with pytest.raises(StartupError) as raised:
        await failures.reach_database(f"{url}/postgres")
    message = str(raised.value)
    assert "refused the user “nobody_here”" in message and "password" in message
    assert "secret" not in message


async def test_postgresql_port_where_nothing_listens(closed_port: int) -> None:
    url = f"postgresql+asyncpg://postgres:secret@127.0.0.1:{closed_port}/opsbot"
    with pytest.raises(StartupError) as raised:
        await failures.reach_database(url)
    message = str(raised.value)
    assert f"PostgreSQL at 127.0.0.1:{closed_port} is unreachable" in message
    assert "start it" in message and "secret" not in message
