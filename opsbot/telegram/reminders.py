"""Sends due reminders: to the staff group in its language, and privately to the curators on
duty in theirs. At a planned salon's start it starts the salon, or reminds the moderators to.

The clock is `Services.clock`, so tests move time instead of waiting for it.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import TelegramError

from opsbot.db.models import Question, Salon, StaffMember
from opsbot.i18n import N_, Translator, pick_language, translator
from opsbot.services import planning, reminders
from opsbot.telegram.cards import question_line
from opsbot.telegram.context import OpsbotContext, Services
from opsbot.telegram.handlers.salons import open_salon

log = logging.getLogger(__name__)

TICK_SECONDS = 20.0


def render_reminder(
    salon: Salon,
    offset_minutes: int,
    late: bool,
    duty: list[StaffMember],
    unanswered: tuple[int, list[Question]],
    _: Translator,
    services: Services,
) -> str:
    assert salon.planned_start_at is not None
    local = salon.planned_start_at.astimezone(services.settings.zone)
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
    names = ", ".join(m.first_name or f"@{m.username}" for m in duty)
    lines.append(
        _("On duty: {names}", names=names)
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


def _human(delta: timedelta, _: Translator) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes % 60 == 0:
        hours = minutes // 60
        return _.ngettext("{count} hour", "{count} hours", hours, count=hours)
    return _.ngettext("{count} minute", "{count} minutes", minutes, count=minutes)


async def tick(context: OpsbotContext) -> None:
    """Keep weekly series planned ahead, then send whatever is due now."""
    services = context.services
    settings = services.settings
    async with services.sessionmaker.begin() as session:
        await planning.top_up_all(
            session, offsets=settings.reminder_offsets, zone=settings.zone, now=services.clock()
        )
    await send_due(context.bot, services, context)


async def send_due(bot: Bot, services: Services, context: OpsbotContext | None = None) -> int:
    now = services.clock()
    async with services.sessionmaker.begin() as session:
        due = await reminders.take_due(session, now)
    sent = 0
    for item in due:
        try:
            if item.reminder.offset_minutes == 0:
                await _start_time(bot, services, item.salon, context)
            else:
                await _remind(bot, services, item)
        except Exception:
            # One reminder that fails must not take the rest of the round with it.
            log.exception("reminder %s for salon %s failed", item.reminder.id, item.salon.id)
            continue
        sent += 1
    return sent


async def _remind(bot: Bot, services: Services, item: reminders.Due) -> None:
    settings = services.settings
    async with services.sessionmaker.begin() as session:
        duty = await planning.on_duty(session, item.salon.id)
        assert item.salon.planned_start_at is not None
        waiting = await reminders.unanswered(session, item.salon.planned_start_at)
    group = translator(settings.default_language)
    args = (item.salon, item.reminder.offset_minutes, item.late, duty, waiting)
    await _send(
        bot, services.staff_chat_id, render_reminder(*args, group, services), item.salon.thread_id
    )
    for member in duty:
        if not member.private_chat:
            continue
        language = pick_language(
            member.language, member.telegram_language, settings.default_language
        )
        await _send(
            bot, member.telegram_id, render_reminder(*args, translator(language), services), None
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
    bot: Bot, services: Services, salon: Salon, context: OpsbotContext | None
) -> None:
    group = translator(services.settings.default_language)
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
        services.staff_chat_id,
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
