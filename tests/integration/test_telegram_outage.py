"""Telegram out of reach while the bot runs: retried quietly, told to the staff once it lasted."""

from __future__ import annotations

import logging
from urllib.parse import urlparse

import pytest

from opsbot.clock import ManualClock
from opsbot.emulators.sandbox import Sandbox
from opsbot.runtime import running
from opsbot.settings import Settings
from opsbot.telegram import heartbeats
from tests.integration.helpers import bot_messages

NOTICE = "Telegram был недоступен"


async def test_a_long_outage_is_told_once_when_telegram_is_back(
    sandbox: Sandbox, settings: Settings, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    port = urlparse(sandbox.telegram.base_url).port
    async with running(settings, poll_timeout=1, clock=clock) as bot:
        runtime = bot.bot_data
        await sandbox.telegram.wait_for(
            lambda: any(r.endpoint == "getUpdates" for r in sandbox.telegram.requests)
        )
        await sandbox.telegram.stop()
        await sandbox.x.wait_for(lambda: runtime.telegram_down_since is not None, timeout=15)
        clock.advance(3 * 60)
        await sandbox.telegram.start(port=port or 0)
        assert bot.job_queue is not None
        [job] = bot.job_queue.get_jobs_by_name(heartbeats.JOB)
        await job.run(bot)
        await job.run(bot)
    notices = [m for m in bot_messages(sandbox) if NOTICE in m["text"]]
    assert len(notices) == 1
    assert "(3 мин)" in notices[0]["text"]
    # Retried quietly: one warning line a failure, no traceback, no ERROR.
    outage = [r for r in caplog.records if "polling Telegram failed" in r.getMessage()]
    assert outage and all(r.levelno == logging.WARNING and not r.exc_info for r in outage)
