"""Running the bot: started and stopped the same way by `opsbot run`, the demo and the tests.

Start-up reaches Telegram (the token), X (the keys) and the database, in that order, before
anything is migrated or sent. What a person can fix there comes out as one `StartupError`.

Two bots must never serve one group: on one database the instance lock refuses the second;
on one token, `opsbot run` first listens to Telegram for a moment without taking anything: a
bot already polling with the token takes its turn back at once (Telegram answers the newcomer
409), and the newcomer leaves. The running bot sees one interrupted poll and goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable

from telegram import Update
from telegram.error import Conflict, NetworkError, TelegramError

from opsbot import failures
from opsbot.app import build_application, post_init, post_shutdown
from opsbot.clock import Clock
from opsbot.db.instance_lock import AnotherInstanceRunning
from opsbot.settings import Settings
from opsbot.telegram import heartbeats
from opsbot.telegram.context import OpsbotApplication, Runtime
from opsbot.telegram.ratelimit import PacedRateLimiter
from opsbot.x.gateway import XError, XRateLimited, gateway_from_settings

log = logging.getLogger(__name__)

# Longer than a running bot's pause before it polls again after an interrupted poll (1 s).
CONFLICT_PROBE_SECONDS = 3
CONFLICT_WARNING_EVERY = 60.0


async def probe_for_another_bot(application: OpsbotApplication, seconds: int) -> None:
    """Raise if another process polls Telegram with this token; takes up to `seconds`."""
    try:
        # No offset: nothing is confirmed, the updates stay for the real polling.
        await application.bot.get_updates(timeout=seconds, allowed_updates=Update.ALL_TYPES)
    except Conflict as exc:
        raise failures.already_running("with this bot's token") from exc


class PollErrors:
    """Polling failures, said in one line each (PTB's default is a traceback a poll); PTB
    retries with a growing pause, and the heartbeat tells the staff of a long outage."""

    def __init__(self, runtime: Runtime, clock: Callable[[], float]) -> None:
        self._services = runtime
        self._clock = clock
        self._conflict_said_at: float | None = None

    def __call__(self, exc: TelegramError) -> None:
        if isinstance(exc, Conflict):
            now = self._clock()
            if self._conflict_said_at is None or now - self._conflict_said_at > (
                CONFLICT_WARNING_EVERY
            ):
                self._conflict_said_at = now
                log.warning(
                    "another process polled Telegram with this bot's token; if this repeats, "
                    "two bots are running: stop the other one"
                )
            return
        log.warning("polling Telegram failed, retrying: %s", exc)
        if isinstance(exc, NetworkError):
            heartbeats.telegram_failed(self._services)


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
    clock: Clock | None = None,
    conflict_probe: int = 0,
) -> AsyncIterator[OpsbotApplication]:
    """The bot, started: migrated database, services, long polling. Stopped cleanly on exit.

    `clock` replaces the system's for every part of the bot (tests move time with it).
    `conflict_probe` seconds are spent first making sure no other bot polls with the token.
    """
    application = build_application(settings, clock)
    try:
        await application.initialize()  # getMe: the token
    except TelegramError as exc:
        raise failures.telegram(exc, settings.telegram_api_url) from exc
    try:
        await check_x(settings)
        await failures.reach_database(settings.database_url)
        if conflict_probe:
            await probe_for_another_bot(application, conflict_probe)
        try:
            await post_init(application)
        except AnotherInstanceRunning as exc:
            raise failures.already_running("on this database") from exc
        assert application.updater is not None
        await application.updater.start_polling(
            allowed_updates=Update.ALL_TYPES,
            timeout=poll_timeout,
            drop_pending_updates=False,
            error_callback=PollErrors(application.bot_data, application.bot_data.clock.monotonic),
        )
        await application.start()
        try:
            yield application
        finally:
            # First, so that handlers, jobs and loops waiting for a send slot give up at
            # once: PTB's stop waits for every running handler and job, and each loop gets
            # a grace period of its own, in turn.
            limiter = application.bot.rate_limiter
            if isinstance(limiter, PacedRateLimiter):
                limiter.close()
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
    async with running(settings, conflict_probe=CONFLICT_PROBE_SECONDS):
        log.info("opsbot is running")
        await stop.wait()
