"""Sends due reminders: to the staff group in its language, and privately to the curators on
duty in theirs. At a planned salon's start it starts the salon, or reminds the moderators to.

A co-hosted salon's partner set goes to the partner's own group in the partner's language,
with the start on the partner's clock, and privately to the partner's curators on duty; the
host's set reaches the host's curators. Each text names who is on duty at both museums.

The clock is `Runtime.clock`, so tests move time instead of waiting for it.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import TelegramError

from opsbot.db.models import Partner, Question, Salon, StaffMember
from opsbot.i18n import N_, Translator, pick_language, translator
from opsbot.services import partners, planning, reminders
from opsbot.telegram.cards import question_line
from opsbot.telegram.context import OpsbotContext, Runtime
from opsbot.telegram.salon_opening import open_salon

log = logging.getLogger(__name__)

TICK_SECONDS = 20.0


def render_reminder(
    salon: Salon,
    offset_minutes: int,
    late: bool,
    duty: list[StaffMember],
    unanswered: tuple[int, list[Question]],
    _: Translator,
    zone: ZoneInfo,
    co_host: tuple[str, Partner] | None = None,
) -> str:
    """`co_host`: the host's X handle and the partner, when two museums host the salon."""
    assert salon.planned_start_at is not None
    local = salon.planned_start_at.astimezone(zone)
    when = timedelta(minutes=offset_minutes)
    lines: list[str] = [
        _(
            "⏰ Salon #{number} “{topic}” in {left}: {date} at {time}.",
            number=salon.id,
            topic=salon.topic,
            left=_human(when, _),
            date=local.strftime("%d.%m.%Y"),
            time=local.strftime("%H:%M"),
        )
    ]
    if late:
        lines.append(_("(Late: the bot was offline when this reminder was due.)"))
    if co_host is not None and duty:
        host_handle, partner = co_host
        for handle, people in (
            (host_handle, [m for m in duty if m.partner_id != partner.id]),
            (partner.handle, [m for m in duty if m.partner_id == partner.id]),
        ):
            lines.append(
                _("On duty at @{handle}: {names}", handle=handle, names=_names(people))
                if people
                else _("Nobody is on duty at @{handle} yet.", handle=handle)
            )
    else:
        lines.append(
            _("On duty: {names}", names=_names(duty))
            if duty
            else _("Nobody is on duty yet: /duty {number} @curator", number=salon.id)
        )
    count, oldest = unanswered
    if count:
        lines.append(
            _.ngettext(
                "{count} question from earlier sessions is still unanswered:",
                "{count} questions from earlier sessions are still unanswered:",
                count,
                count=count,
            )
        )
        for question in oldest:
            lines.append(question_line(question))
    return "\n".join(lines)


def _names(people: list[StaffMember]) -> str:
    return ", ".join(m.first_name or f"@{m.username}" for m in people)


def _human(delta: timedelta, _: Translator) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes % 60 == 0:
        hours = minutes // 60
        return _.ngettext("{count} hour", "{count} hours", hours, count=hours)
    return _.ngettext("{count} minute", "{count} minutes", minutes, count=minutes)


async def tick(context: OpsbotContext) -> None:
    """Keep weekly series planned ahead, then send whatever is due now."""
    runtime = context.runtime
    settings = runtime.settings
    async with runtime.sessionmaker.begin() as session:
        await planning.top_up_all(
            session, offsets=settings.reminder_offsets, zone=settings.zone, now=runtime.clock.now()
        )
    await send_due(context.bot, runtime, context)


async def send_due(bot: Bot, runtime: Runtime, context: OpsbotContext | None = None) -> int:
    now = runtime.clock.now()
    async with runtime.sessionmaker.begin() as session:
        due = await reminders.take_due(session, now)
    sent = 0
    for item in due:
        try:
            if item.reminder.offset_minutes == 0:
                await _start_time(bot, runtime, item.salon, context)
            else:
                await _remind(bot, runtime, item)
        except Exception:
            # One reminder that fails must not take the rest of the round with it.
            log.exception("reminder %s for salon %s failed", item.reminder.id, item.salon.id)
            continue
        sent += 1
    return sent


async def _remind(bot: Bot, runtime: Runtime, item: reminders.Due) -> None:
    settings = runtime.settings
    salon, partner = item.salon, item.partner
    async with runtime.sessionmaker.begin() as session:
        duty = await planning.on_duty(session, salon.id)
        assert salon.planned_start_at is not None
        # The backlog is the host's to clear; the partner's group is not asked about it.
        waiting = (
            await reminders.unanswered(session, salon.planned_start_at)
            if partner is None
            else (0, [])
        )
        co_host = await partners.co_host(session, salon)
    args = (salon, item.reminder.offset_minutes, item.late, duty, waiting)
    chat_id: int | None
    if partner is None:
        language, zone, chat_id = settings.default_language, settings.zone, runtime.staff_chat_id
        thread_id = salon.thread_id
        ours = [m for m in duty if co_host is None or m.partner_id != co_host.id]
    else:
        language, zone, chat_id = partner.language, ZoneInfo(partner.timezone), partner.chat_id
        thread_id = None
        ours = [m for m in duty if m.partner_id == partner.id]
    pair = (settings.x_account, co_host) if co_host is not None else None
    if chat_id is not None:
        text = render_reminder(*args, translator(language), zone, pair)
        await _send(bot, chat_id, text, thread_id)
    for member in ours:
        if not member.private_chat:
            continue
        own = pick_language(member.language, member.telegram_language, language)
        await _send(
            bot, member.telegram_id, render_reminder(*args, translator(own), zone, pair), None
        )


async def _send(bot: Bot, chat_id: int, text: str, thread_id: int | None) -> None:
    try:
        await bot.send_message(
            chat_id,
            text,
            parse_mode=ParseMode.HTML,
            message_thread_id=thread_id,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )
    except TelegramError as exc:
        # A curator who blocked the bot must not stop the others' reminders.
        log.warning("reminder to %s not delivered: %s", chat_id, exc)


async def _start_time(
    bot: Bot, runtime: Runtime, salon: Salon, context: OpsbotContext | None
) -> None:
    group = translator(runtime.settings.default_language)
    if salon.auto_start and context is not None:
        await open_salon(
            context,
            group,
            topic=salon.topic,
            duration=timedelta(minutes=salon.duration_minutes),
            by=None,
            planned_id=salon.id,
        )
        return
    await _send(
        bot,
        runtime.staff_chat_id,
        group(
            N_(
                "🔔 It is time for salon #{number} “{topic}”. "
                "A moderator starts it with /start_salon."
            ),
            number=salon.id,
            topic=salon.topic,
        ),
        None,
    )
