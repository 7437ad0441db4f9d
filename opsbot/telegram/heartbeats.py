"""The heartbeat from the bot's side, and the staff notice after the bot was down.

Telegram's heartbeat is a getMe answered: the one `Application.initialize` makes at start,
then one every TELEGRAM_EVERY seconds. X's is a poll that caught up: no source unavailable,
refused or rate-limited throughout. `opsbot health` reads both from the database.

At start, a gap longer than DOWNTIME_NOTICE since the previous run's newest heartbeat is told
to the staff group once: from when to when, in the group's language. The same message is
completed with the number of questions that arrived meanwhile once the first X poll has caught
up; before that the number would fall short.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.units import format_unit
from telegram import Bot
from telegram.error import TelegramError

from opsbot.db.base import utcnow
from opsbot.i18n import Html, Translator, translator
from opsbot.services import downtime, heartbeat
from opsbot.services.downtime import Gap
from opsbot.telegram.context import OpsbotContext, Runtime
from opsbot.telegram.downtime_notice import DowntimeNotice
from opsbot.x.poller import PollResult

log = logging.getLogger(__name__)

JOB = "heartbeat"
TELEGRAM_EVERY = 60.0
# An outage of Telegram shorter than this is only logged.
TELEGRAM_OUTAGE_NOTICE = timedelta(minutes=2)


def moment(at: datetime, zone: ZoneInfo, language: str) -> str:
    return format_datetime(at, "short", tzinfo=zone, locale=language)


def duration(length: timedelta, language: str) -> str:
    """“1 h 38 min”, “2 days 3 h”: the two largest units that are not zero."""
    minutes = max(1, round(length.total_seconds() / 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [
        format_unit(value, unit, length="short", locale=language)
        for value, unit in (
            (days, "duration-day"),
            (hours, "duration-hour"),
            (minutes, "duration-minute"),
        )
        if value
    ]
    return " ".join(parts[:2])


def render_gap(gap: Gap, _: Translator, zone: ZoneInfo) -> Html:
    return _(
        "⏸ opsbot was not running from {start} to {end} ({duration}).",
        start=moment(gap.start, zone, _.language),
        end=moment(gap.end, zone, _.language),
        duration=duration(gap.length, _.language),
    )


def render_count(count: int, _: Translator) -> Html:
    if count == 0:
        return _("No questions arrived on X meanwhile.")
    return _.ngettext(
        "{count} question arrived on X meanwhile; its card follows.",
        "{count} questions arrived on X meanwhile; their cards follow.",
        count,
        count=count,
    )


async def on_start(bot: Bot, runtime: Runtime) -> None:
    """Record the start's Telegram round-trip; tell the staff if the bot was down long."""
    now = utcnow()
    async with runtime.sessionmaker.begin() as session:
        gap = downtime.find_gap(await heartbeat.read(session), now)
        await heartbeat.record(session, heartbeat.TELEGRAM, now)
    if gap is None:
        return
    log.warning("opsbot was not running from %s to %s", gap.start, gap.end)
    settings = runtime.settings
    _ = translator(settings.default_language)
    head = render_gap(gap, _, settings.zone)
    try:
        sent = await bot.send_message(
            runtime.staff_chat_id, Html(head + "\n" + _("Reading X for what was asked meanwhile…"))
        )
    except TelegramError as exc:
        log.warning("could not tell the staff group about the downtime: %s", exc)
        return
    runtime.downtime = DowntimeNotice(gap, sent.chat_id, sent.message_id, head)


async def beat(context: OpsbotContext) -> None:
    """The repeating job: one cheap Bot API round-trip, recorded when it succeeds."""
    runtime = context.runtime
    try:
        await context.bot.get_me()
    except TelegramError as exc:
        log.warning("Telegram did not answer the heartbeat: %s", exc)
        if runtime.telegram_down_since is None:
            runtime.telegram_down_since = runtime.clock.now()
        return
    async with runtime.sessionmaker.begin() as session:
        await heartbeat.record(session, heartbeat.TELEGRAM, utcnow())
    await after_outage(context.bot, runtime)


def telegram_failed(runtime: Runtime) -> None:
    """Polling or the heartbeat could not reach Telegram: the outage starts now, if not yet."""
    if runtime.telegram_down_since is None:
        runtime.telegram_down_since = runtime.clock.now()


async def after_outage(bot: Bot, runtime: Runtime) -> None:
    """Telegram answers again: a long outage is told to the staff group, once.

    Short ones are not: Telegram's own hiccups would otherwise fill the group.
    """
    since, runtime.telegram_down_since = runtime.telegram_down_since, None
    if since is None:
        return
    now = runtime.clock.now()
    if now - since < TELEGRAM_OUTAGE_NOTICE:
        return
    log.warning("Telegram could not be reached from %s to %s", since, now)
    _ = translator(runtime.settings.default_language)
    try:
        await bot.send_message(
            runtime.staff_chat_id,
            _(
                "📡 Telegram could not be reached from {start} to {end} ({duration}). Nothing "
                "was lost: cards and answers waited and go out now.",
                start=moment(since, runtime.settings.zone, _.language),
                end=moment(now, runtime.settings.zone, _.language),
                duration=duration(now - since, _.language),
            ),
        )
    except TelegramError as exc:
        log.warning("could not tell the staff group about the outage: %s", exc)


async def x_polled(context: OpsbotContext, result: PollResult) -> None:
    """After a poll: record X's heartbeat if it caught up, then finish a downtime notice."""
    if not result.caught_up:
        return
    runtime = context.runtime
    notice, runtime.downtime = runtime.downtime, None
    async with runtime.sessionmaker.begin() as session:
        await heartbeat.record(session, heartbeat.X, utcnow())
        count = await downtime.questions_in(session, notice.gap) if notice else 0
    if notice is None:
        return
    _ = translator(runtime.settings.default_language)
    try:
        await context.bot.edit_message_text(
            Html(notice.head + "\n" + render_count(count, _)),
            chat_id=notice.chat_id,
            message_id=notice.message_id,
        )
    except TelegramError as exc:
        log.warning("could not complete the downtime notice: %s", exc)
