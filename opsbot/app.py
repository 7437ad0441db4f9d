"""Builds the Application from settings: the one place that wires the bot together."""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults, JobQueue

from opsbot.clock import Clock, SystemClock
from opsbot.db.engine import create_engine, create_sessionmaker
from opsbot.db.instance_lock import InstanceLock
from opsbot.db.migrate import upgrade
from opsbot.services import planning as planning_service
from opsbot.services import staff
from opsbot.settings import Settings
from opsbot.telegram import (
    budget,
    heartbeats,
    reconcile,
    reminders,
    salon_opening,
    take_lapse,
    x_polling,
)
from opsbot.telegram.card_queue import CardQueue
from opsbot.telegram.card_updates import refresh_card
from opsbot.telegram.clock_jobs import ClockJobs
from opsbot.telegram.context import OpsbotApplication, OpsbotContext, Runtime
from opsbot.telegram.handlers import (
    answers,
    answers_by_hand,
    approvals,
    budget_report,
    curators,
    deletions,
    draws,
    fallback,
    guards,
    joint_draw,
    members,
    menus,
    partners,
    planning,
    priority,
    questions,
    reports,
    salons,
)
from opsbot.telegram.handlers import settings as settings_handlers
from opsbot.telegram.keyed_locks import KeyedLocks
from opsbot.telegram.outbox import Outbox
from opsbot.telegram.poll_schedule import PollSchedule
from opsbot.telegram.prompts import ask_again_after_restart
from opsbot.telegram.ratelimit import BotStopping, PacedRateLimiter
from opsbot.telegram.roles import Roles
from opsbot.telegram.send_journal import SendJournal
from opsbot.x.gateway import gateway_from_settings
from opsbot.x.ledger import UsageLedger
from opsbot.x.partner_accounts import PartnerAccounts
from opsbot.x.pin_flow import PinFlow
from opsbot.x.poller import Poller
from opsbot.x.publisher import Publisher

log = logging.getLogger(__name__)

FEATURES = (
    guards,
    members,
    planning,
    settings_handlers,
    questions,
    partners,
    answers,
    deletions,
    answers_by_hand,
    approvals,
    curators,
    salons,
    draws,
    joint_draw,
    priority,
    reports,
    budget_report,
)


def build_application(settings: Settings, clock: Clock | None = None) -> OpsbotApplication:
    clock = clock or SystemClock()
    limiter = PacedRateLimiter(
        group_rate=settings.telegram_group_rate,
        group_period=settings.telegram_group_period,
        global_rate=settings.telegram_global_rate,
        global_period=settings.telegram_global_period,
        private_rate=settings.telegram_private_rate,
        private_period=settings.telegram_private_period,
        clock=clock,
    )
    application: OpsbotApplication = (
        ApplicationBuilder()
        .token(settings.telegram_token.get_secret_value())
        .base_url(f"{settings.telegram_api_url}/bot")
        .base_file_url(f"{settings.telegram_api_url}/file/bot")
        .rate_limiter(limiter)
        .context_types(ContextTypes(context=OpsbotContext, bot_data=Runtime))
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .job_queue(JobQueue[OpsbotContext]())
        .concurrent_updates(8)
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .build()
    )
    application.bot_data.settings = settings
    application.bot_data.clock = clock
    for feature in FEATURES:
        feature.register(application)
    fallback.register(application)
    application.add_error_handler(log_error)
    return application


async def log_error(update: object, context: OpsbotContext) -> None:
    """A handler failed: log it (through the redacting formatter) and keep serving."""
    if isinstance(context.error, BotStopping):
        log.info("an update was left unanswered: the bot is stopping")
        return
    log.error("handling an update failed", exc_info=context.error)


async def post_init(application: Application) -> None:  # type: ignore[type-arg]
    runtime: Runtime = application.bot_data
    settings = runtime.settings
    runtime.engine = create_engine(settings.database_url)
    runtime.lock = InstanceLock()
    await runtime.lock.acquire(runtime.engine)
    await upgrade(runtime.engine)
    runtime.sessionmaker = create_sessionmaker(runtime.engine)
    clock = runtime.clock
    runtime.gateway = gateway_from_settings(settings, clock)
    runtime.gateway.on_usage = UsageLedger(runtime.sessionmaker, clock=clock.timestamp)
    runtime.poller = Poller(
        runtime.sessionmaker, runtime.gateway, hashtags=settings.hashtags, clock=clock
    )
    runtime.partner_accounts = PartnerAccounts(
        runtime.sessionmaker, settings, clock=clock, on_usage=runtime.gateway.on_usage
    )
    runtime.link_prompts = {}
    runtime.pin_flow = PinFlow(
        api_key=settings.x_api_key.get_secret_value(),
        api_secret=settings.x_api_secret.get_secret_value(),
        base_url=settings.x_api_url,
        clock=clock,
        timeout=settings.x_timeout_seconds,
    )
    runtime.publisher = Publisher(
        runtime.sessionmaker,
        runtime.gateway,
        lambda: runtime.poller.account,
        clock=clock,
        partners=runtime.partner_accounts,
    )
    runtime.roles = Roles(application.bot, settings.moderator_ids, clock=clock)
    limiter = application.bot.rate_limiter
    assert isinstance(limiter, PacedRateLimiter)
    runtime.sends = SendJournal(
        runtime.sessionmaker,
        limiter,
        window=timedelta(seconds=settings.telegram_group_period),
        clock=clock.now,
    )
    own_messages = await runtime.sends.load()
    runtime.cards = CardQueue(application.bot, runtime.sessionmaker, settings, clock)
    runtime.preview_lock = KeyedLocks()
    runtime.cards.refresh = partial(refresh_card, application.bot, runtime)
    runtime.cards.stored_up_to = lambda: runtime.poller.stored_before
    for chat_id, message_id in own_messages:
        runtime.cards.known.sent(chat_id, message_id)
    async with runtime.sessionmaker.begin() as session:
        runtime.cards.chat_id = await staff.staff_chat_id(session, settings.staff_chat_id)
    await runtime.cards.adopt_digests(await runtime.sends.digests(runtime.cards.chat_id))
    await menus.register(application.bot, settings, runtime.cards.chat_id)
    await heartbeats.on_start(application.bot, runtime)
    assert application.job_queue is not None
    runtime.timers = ClockJobs(application.job_queue, clock)
    await salon_opening.resume(runtime)
    await take_lapse.resume(runtime)
    await ask_again_after_restart(application.bot, runtime)
    async with runtime.sessionmaker.begin() as session:
        await planning_service.top_up_all(
            session, offsets=settings.reminder_offsets, zone=settings.zone, now=clock.now()
        )
    runtime.cards.start()
    runtime.outbox = Outbox(application.bot, runtime)
    runtime.outbox.start()
    runtime.polls = PollSchedule(application.job_queue, x_polling.poll_x, clock)
    runtime.polls.start()
    application.job_queue.run_repeating(
        reminders.tick, interval=reminders.TICK_SECONDS, first=1, name="reminders"
    )
    reconcile.schedule(application.job_queue)
    budget.schedule(application.job_queue)
    application.job_queue.run_repeating(
        heartbeats.beat,
        interval=heartbeats.TELEGRAM_EVERY,
        first=heartbeats.TELEGRAM_EVERY,
        name=heartbeats.JOB,
    )


async def post_shutdown(application: Application) -> None:  # type: ignore[type-arg]
    """Stop the loops, then close what they used; a step that fails does not skip the rest,
    so the database's connections and the instance lock are always given back."""
    runtime: Runtime = application.bot_data
    try:
        if hasattr(runtime, "polls"):
            await runtime.polls.stop()
        if hasattr(runtime, "outbox"):
            await runtime.outbox.stop()
        if hasattr(runtime, "cards"):
            await runtime.cards.stop()
    finally:
        if hasattr(runtime, "sends"):
            runtime.sends.stop()
        try:
            if hasattr(runtime, "partner_accounts"):
                await runtime.partner_accounts.close()
            if hasattr(runtime, "gateway"):
                await runtime.gateway.close()
        finally:
            if hasattr(runtime, "lock"):
                await runtime.lock.release()
            if hasattr(runtime, "engine"):
                await runtime.engine.dispose()


def allowed_updates() -> list[str]:
    return Update.ALL_TYPES
