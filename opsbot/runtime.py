"""Running the bot: started and stopped the same way by `opsbot run`, the demo and the tests.

Start-up reaches Telegram (the token), X (the keys) and the database, in that order, before
anything is migrated or sent. What a person can fix there comes out as one `StartupError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from telegram import Update
from telegram.error import TelegramError

from opsbot import failures
from opsbot.app import build_application, post_init, post_shutdown
from opsbot.settings import Settings
from opsbot.telegram.context import OpsbotApplication
from opsbot.x.gateway import XError, XRateLimited, gateway_from_settings

log = logging.getLogger(__name__)


async def check_x(settings: Settings) -> None:
    """The keys work and belong to the museum: replies must not go out from someone else."""
    gateway = gateway_from_settings(settings)
    try:
        account = await gateway.me()
    except XRateLimited as exc:
        # The keys were accepted; the poller waits for the window itself.
        log.warning("%s; starting anyway", exc)
        return
    except XError as exc:
        raise failures.x(exc) from exc
    finally:
        await gateway.close()
    if account.username.lower() != settings.x_account.lower():
        raise failures.x_account(account.username, settings.x_account)


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
    try:
        await application.initialize()  # getMe: the token
    except TelegramError as exc:
        raise failures.telegram(exc, settings.telegram_api_url) from exc
    try:
        await check_x(settings)
        await failures.reach_database(settings.database_url)
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
        log.info("opsbot is running")
        await stop.wait()
