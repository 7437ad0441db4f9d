"""Builds the Application from settings: the one place that wires the bot together."""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial
from typing import Any

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults, JobQueue

from opsbot.db.engine import create_engine, create_sessionmaker
from opsbot.db.instance_lock import InstanceLock
from opsbot.db.migrate import upgrade
from opsbot.i18n import Html, translator
from opsbot.services import planning as planning_service
from opsbot.services import staff
from opsbot.settings import Settings
from opsbot.telegram import heartbeats, menus, reconcile, reminders, x_notices
from opsbot.telegram.card_queue import CardQueue
from opsbot.telegram.card_updates import refresh_card
from opsbot.telegram.context import OpsbotApplication, OpsbotContext, Services
from opsbot.telegram.handlers import (
    answers,
    curators,
    draws,
    fallback,
    guards,
    members,
    planning,
    questions,
    salons,
)
from opsbot.telegram.handlers import settings as settings_handlers
from opsbot.telegram.outbox import Outbox
from opsbot.telegram.poll_schedule import PollSchedule
from opsbot.telegram.prompts import ask_again_after_restart
from opsbot.telegram.ratelimit import PacedRateLimiter
from opsbot.telegram.roles import Roles
from opsbot.telegram.send_journal import SendJournal
from opsbot.x.gateway import gateway_from_settings
from opsbot.x.poller import Poller
from opsbot.x.publisher import Publisher

log = logging.getLogger(__name__)

FEATURES = (
    guards,
    members,
    planning,
    settings_handlers,
    questions,
    answers,
    curators,
    salons,
    draws,
)


def build_application(settings: Settings) -> OpsbotApplication:
    limiter = PacedRateLimiter(
        group_rate=settings.telegram_group_rate,
        group_period=settings.telegram_group_period,
        global_rate=settings.telegram_global_rate,
        global_period=settings.telegram_global_period,
    )
    application: OpsbotApplication = (
        ApplicationBuilder()
        .token(settings.telegram_token.get_secret_value())
        .base_url(f"{settings.telegram_api_url}/bot")
        .base_file_url(f"{settings.telegram_api_url}/file/bot")
        .rate_limiter(limiter)
        .context_types(ContextTypes(context=OpsbotContext, bot_data=Services))
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .job_queue(JobQueue[OpsbotContext]())
        .concurrent_updates(8)
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .build()
    )
    application.bot_data.settings = settings
    for feature in FEATURES:
        feature.register(application)
    fallback.register(application)
    application.add_error_handler(log_error)
    return application


async def log_error(update: object, context: OpsbotContext) -> None:
    """A handler failed: log it (through the redacting formatter) and keep serving."""
    log.error("handling an update failed", exc_info=context.error)


async def post_init(application: Application) -> None:  # type: ignore[type-arg]
    services: Services = application.bot_data
    settings = services.settings
    services.engine = create_engine(settings.database_url)
    services.lock = InstanceLock()
    await services.lock.acquire(services.engine)
    await upgrade(services.engine)
    services.sessionmaker = create_sessionmaker(services.engine)
    services.gateway = gateway_from_settings(settings)
    services.poller = Poller(services.sessionmaker, services.gateway, hashtags=settings.hashtags)
    services.publisher = Publisher(
        services.sessionmaker, services.gateway, lambda: services.poller.account
    )
    services.roles = Roles(application.bot, settings.moderator_ids)
    limiter = application.bot.rate_limiter
    assert isinstance(limiter, PacedRateLimiter)
    services.sends = SendJournal(
        services.sessionmaker,
        limiter,
        window=timedelta(seconds=settings.telegram_group_period),
        clock=services.clock,
    )
    own_messages = await services.sends.load()
    services.cards = CardQueue(application.bot, services.sessionmaker, settings)
    services.cards.refresh = partial(refresh_card, application.bot, services)
    for chat_id, message_id in own_messages:
        services.cards.known.sent(chat_id, message_id)
    async with services.sessionmaker.begin() as session:
        services.cards.chat_id = await staff.staff_chat_id(session, settings.staff_chat_id)
    await menus.register(application.bot, settings, services.cards.chat_id)
    await heartbeats.on_start(application.bot, services)
    await salons.resume(application, services)
    await ask_again_after_restart(application.bot, services)
    async with services.sessionmaker.begin() as session:
        await planning_service.top_up_all(
            session, offsets=settings.reminder_offsets, zone=settings.zone, now=services.clock()
        )
    services.cards.start()
    services.outbox = Outbox(application.bot, services)
    services.outbox.start()
    assert application.job_queue is not None
    services.polls = PollSchedule(application.job_queue, poll_x)
    services.polls.start()
    application.job_queue.run_repeating(
        reminders.tick, interval=reminders.TICK_SECONDS, first=1, name="reminders"
    )
    reconcile.schedule(application.job_queue)
    application.job_queue.run_repeating(
        heartbeats.beat,
        interval=heartbeats.TELEGRAM_EVERY,
        first=heartbeats.TELEGRAM_EVERY,
        name=heartbeats.JOB,
    )


async def post_shutdown(application: Application) -> None:  # type: ignore[type-arg]
    """Stop the loops, then close what they used; a step that fails does not skip the rest,
    so the database's connections and the instance lock are always given back."""
    services: Services = application.bot_data
    try:
        if hasattr(services, "outbox"):
            await services.outbox.stop()
        if hasattr(services, "cards"):
            await services.cards.stop()
    finally:
        if hasattr(services, "sends"):
            services.sends.stop()
        try:
            if hasattr(services, "gateway"):
                await services.gateway.close()
        finally:
            if hasattr(services, "lock"):
                await services.lock.release()
            if hasattr(services, "engine"):
                await services.engine.dispose()


def poll_interval(services: Services) -> float:
    """Fast while a salon is live; slow otherwise, since X charges for every post read."""
    if services.live_salon_id is not None:
        return services.settings.poll_live_seconds
    return services.settings.poll_idle_seconds


async def poll_x(context: OpsbotContext) -> float:
    """One round of reading X; returns the seconds until the next, at X's pace."""
    services = context.services
    interval = poll_interval(services)
    delay = interval
    _ = translator(services.settings.default_language)
    try:
        result = await services.poller.poll()
        await heartbeats.x_polled(context, result)
        if result.new_question_ids:
            services.cards.wake()
        for notice in x_notices.poll_notices(result, _, services.settings.zone):
            await tell_staff(context, notice)
        delay = services.poller.next_delay(result, interval)
    except Exception:
        log.exception("polling X failed")
    return delay


async def tell_staff(context: OpsbotContext, message: str, **values: Any) -> None:
    """Send a notice to the staff group in its language; `message` is a msgid or `Html`."""
    services = context.services
    _ = translator(services.settings.default_language)
    text = message if isinstance(message, Html) else _(message, **values)
    try:
        await context.bot.send_message(services.staff_chat_id, text)
    except TelegramError as exc:
        log.warning("could not tell the staff group: %s", exc)


def allowed_updates() -> list[str]:
    return Update.ALL_TYPES
