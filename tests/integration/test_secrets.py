"""No token or key appears in the output, at DEBUG, through a whole run, errors included."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from opsbot.emulators.base import Fault
from opsbot.emulators.sandbox import Sandbox
from opsbot.failures import ExitCode
from tests.environment import without_opsbot_settings
from tests.integration.helpers import wait_for_cards


def _env(sandbox: Sandbox, database_url: str, **extra: str) -> dict[str, str]:
    clean = without_opsbot_settings()
    return {
        **clean,
        **sandbox.environment(),
        "OPSBOT_DATABASE_URL": database_url,
        "OPSBOT_POLL_IDLE_SECONDS": "0.3",
        "OPSBOT_LOG_LEVEL": "DEBUG",
        **extra,
    }


def _assert_no_secret(output: str, sandbox: Sandbox, *more: str) -> None:
    for secret in [*sandbox.credentials.values(), *more]:
        assert secret not in output
        # The token's halves would still identify it.
        for part in secret.split(":"):
            if len(part) > 12:
                assert part not in output


async def test_debug_run_with_errors_shows_no_secret(
    sandbox: Sandbox, database_url: str, tmp_path: Path
) -> None:
    sandbox.x.inject_fault(Fault(endpoint="searchPostsRecent", status=503, count=1))
    sandbox.x.inject_fault(Fault(endpoint="getUsersMentions", status=401, count=1))
    sandbox.x.visitor_posts("ivan", "@museum hello #museumsalon")
    # A file, not a pipe: at DEBUG the bot writes more than a pipe buffers before the end.
    log_path = tmp_path / "opsbot.log"
    with log_path.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "opsbot",
            "run",
            env=_env(sandbox, database_url),
            cwd=tmp_path,
            stdout=log_file,
            stderr=log_file,
        )
        try:
            await wait_for_cards(sandbox, 1, timeout=30)
        finally:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 30)
    output = log_path.read_text()
    assert process.returncode == 0, output[-3000:]
    assert "DEBUG" in output and "getUpdates" in output
    assert "opsbot stopped" in output
    _assert_no_secret(output, sandbox)


async def test_rejected_token_is_not_printed(
    sandbox: Sandbox, database_url: str, tmp_path: Path
) -> None:
    wrong = "7000000001:AAwrong-token-that-must-stay-hidden"
    env = _env(sandbox, database_url, OPSBOT_TELEGRAM_TOKEN=wrong)
    for command in (["run"], ["check"]):
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "opsbot",
            *command,
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
        output = stdout.decode() + stderr.decode()
        assert process.returncode == ExitCode.TELEGRAM_TOKEN, output[-3000:]
        assert "Traceback" not in output
        _assert_no_secret(output, sandbox, wrong)


async def test_check_reports_what_works(
    sandbox: Sandbox, database_url: str, tmp_path: Path
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "opsbot",
        "check",
        env=_env(sandbox, database_url),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    output = stdout.decode()
    assert process.returncode == 0, output + stderr.decode()
    assert "[ok  ] Telegram token" in output
    assert "[ok  ] Staff group" in output
    assert "[ok  ] X user keys: posting as @museum" in output
    _assert_no_secret(output + stderr.decode(), sandbox)
