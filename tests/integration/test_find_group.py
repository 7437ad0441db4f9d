"""`opsbot find-group` names the groups the bot is in, and the bot still gets their updates."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from opsbot.emulators.sandbox import MODERATOR, STAFF_CHAT_ID, Sandbox
from opsbot.find_group import find_groups
from tests.environment import without_opsbot_settings


async def test_lists_the_staff_group_and_leaves_the_updates(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    token = sandbox.credentials["telegram_token"]
    sandbox.telegram.user_sends(STAFF_CHAT_ID, MODERATOR.user_id, "hello")
    assert await find_groups(token, sandbox.telegram.base_url) == 0
    out = capsys.readouterr().out
    assert f"{STAFF_CHAT_ID}\tMuseum staff" in out
    assert token not in out
    # Nothing was confirmed: a second look (and the bot, later) sees the same updates.
    assert await find_groups(token, sandbox.telegram.base_url) == 0
    assert str(STAFF_CHAT_ID) in capsys.readouterr().out


async def test_a_wrong_token_is_refused_without_showing_it(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = "123456:not-the-token"
    assert await find_groups(wrong, sandbox.telegram.base_url) == 1
    out = capsys.readouterr().out
    assert "Telegram refused" in out
    assert wrong not in out


async def test_the_command_needs_only_the_token(sandbox: Sandbox, tmp_path: Path) -> None:
    env = {
        **without_opsbot_settings(),
        "OPSBOT_TELEGRAM_TOKEN": sandbox.credentials["telegram_token"],
        "OPSBOT_TELEGRAM_API_URL": sandbox.telegram.base_url,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "opsbot",
        "find-group",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    assert f"{STAFF_CHAT_ID}\tMuseum staff" in stdout.decode()
