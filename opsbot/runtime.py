"""Running the bot: started and stopped the same way by `opsbot run`, the demo and the tests."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from telegram import Update

from opsbot.app import build_application, post_init, post_shutdown
from opsbot.settings import Settings
from opsbot.telegram.context import OpsbotApplication


@contextlib.asynccontextmanager
async def running(
    settings: Settings,
    *,
    poll_timeout: int = 30,
    clock: Callable[[], datetime] | None = None,
) -> AsyncIterator[OpsbotApplication]:
    """The bot, started: migrated database, services, long polling. Stopped cleanly on exit.

    `clock` replaces the bot's "now" for planning and reminders (tests move time with it).
    """
    application = build_application(settings)
    if clock is not None:
        application.bot_data.clock = clock
    await application.initialize()
    try:
        await post_init(application)
        assert application.updater is not None
        await application.updater.start_polling(
            allowed_updates=Update.ALL_TYPES, timeout=poll_timeout, drop_pending_updates=False
        )
        await application.start()
        try:
            yield application
        finally:
            if application.updater.running:
                await application.updater.stop()
            if application.running:
                await application.stop()
    finally:
        await post_shutdown(application)
        await application.shutdown()


async def run_until_signal(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running(settings):
        await stop.wait()
