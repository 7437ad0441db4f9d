"""Two bots never serve one group: a second one on the same database or the same token says
so in one line and leaves, and the first goes on undisturbed."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from opsbot.emulators.sandbox import Sandbox
from opsbot.failures import ExitCode, StartupError
from opsbot.runtime import running
from opsbot.settings import Settings
from tests.environment import without_opsbot_settings
from tests.integration.helpers import wait_for_cards


async def test_a_second_bot_on_the_same_database_refuses_to_start(
    sandbox: Sandbox, settings: Settings
) -> None:
    async with running(settings, poll_timeout=1):
        sandbox.x.visitor_posts("ivan", "@museum Первый вопрос #museumsalon")
        await wait_for_cards(sandbox, 1)
        with pytest.raises(StartupError, match="already running on this database") as refused:
            async with running(settings, poll_timeout=1):
                pass
        assert refused.value.code == ExitCode.ALREADY_RUNNING
        sandbox.x.visitor_posts("olga", "@museum Второй вопрос #museumsalon")
        await wait_for_cards(sandbox, 2)
    # Once the first has stopped, the lock is free again.
    async with running(settings, poll_timeout=1):
        sandbox.x.visitor_posts("petr", "@museum Третий вопрос #museumsalon")
        await wait_for_cards(sandbox, 3)


async def test_a_second_bot_on_the_same_token_leaves_with_one_line(
    sandbox: Sandbox, settings: Settings, tmp_path: Path
) -> None:
    env = {
        **without_opsbot_settings(),
        **sandbox.environment(),
        # Another database: only Telegram can tell that a bot already runs.
        "OPSBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'other.sqlite3'}",
    }
    async with running(settings, poll_timeout=1):
        sandbox.x.visitor_posts("ivan", "@museum Первый вопрос #museumsalon")
        await wait_for_cards(sandbox, 1)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "opsbot",
            "run",
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
        lines = stderr.decode().strip().splitlines()
        assert process.returncode == ExitCode.ALREADY_RUNNING, stderr.decode()
        assert len(lines) == 1 and "already running with this bot's token" in lines[0], lines
        # The first bot goes on: a new question still becomes a card, and only one.
        sandbox.x.visitor_posts("olga", "@museum Второй вопрос #museumsalon")
        await wait_for_cards(sandbox, 2)
