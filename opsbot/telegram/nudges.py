"""The nudge to the curators on duty while a salon is live, and the open questions the
ten-minute warning lists.

One job per live salon (named like the salon's other timers, so ending the salon cancels it)
looks when a nudge may next be due, on the bot's clock: when the oldest untaken question's
wait reaches OPSBOT_NUDGE_MINUTES, and never sooner than a period after the last nudge.
The curators on duty hear it in their private chats; those the bot cannot write to are named
in one message in the salon's topic. A salon without a duty list nudges the salon's topic,
where every curator reads.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import cast

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import TelegramError

from opsbot.db.models import Question, Salon, StaffMember
from opsbot.i18n import Html, Translator, pick_language, translator
from opsbot.services import nudges, planning, priority, salons, staff
from opsbot.services.priority import Priority
from opsbot.telegram.cards import question_line, shorten
from opsbot.telegram.clock_jobs import ClockJobs
from opsbot.telegram.context import OpsbotContext, Runtime
from opsbot.telegram.prompts import mention

log = logging.getLogger(__name__)

# Lines of at most about 150 characters: a message stays well inside Telegram's 4096.
MAX_LISTED = 15
MAX_NAME = 30
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def _job(salon_id: int) -> str:
    return f"salon-{salon_id}-nudge"


def arm(timers: ClockJobs, salon: Salon) -> None:
    """Look at once (after a restart too); each look arms the next."""
    if salon.started_at is not None:
        timers.run_at(check, salon.started_at, name=_job(salon.id), data=salon.id)


def disarm(timers: ClockJobs, salon_id: int) -> None:
    timers.cancel(_job(salon_id))


async def check(context: OpsbotContext) -> None:
    salon_id = cast(int, context.job.data if context.job else None)
    runtime = context.runtime
    period = timedelta(minutes=runtime.settings.nudge_minutes)
    now = runtime.clock.now()
    # Looked at again a period on even when this look fails, so the nudges go on.
    next_at = now + period
    try:
        async with runtime.sessionmaker.begin() as session:
            waiting = await nudges.overdue(session, salon_id, now - period)
            claimed = bool(waiting) and await nudges.claim(session, salon_id, now, period)
            next_at = await nudges.next_check(session, salon_id, now, period)
            first = await priority.of_questions(session, waiting, runtime.settings.vip_followers)
            duty = await planning.on_duty(session, salon_id)
        if claimed:
            await _nudge(context.bot, runtime, salon_id, waiting, first, duty)
    finally:
        # No await between the look and the arming: an end that cleared `live_salon_id`
        # has cancelled the salon's timers already, or will cancel this one.
        if runtime.live_salon_id == salon_id:
            runtime.timers.run_at(check, next_at, name=_job(salon_id), data=salon_id)


async def _nudge(
    bot: Bot,
    runtime: Runtime,
    salon_id: int,
    waiting: list[Question],
    first: dict[int, Priority],
    duty: list[StaffMember],
) -> None:
    settings = runtime.settings
    in_topic: list[StaffMember] = []
    for member in duty:
        if not member.private_chat:
            in_topic.append(member)
            continue
        language = pick_language(
            member.language, member.telegram_language, settings.default_language
        )
        text = render_nudge(waiting, first, translator(language), settings.nudge_minutes)
        try:
            await bot.send_message(
                member.telegram_id,
                text,
                parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW,
            )
        except TelegramError as exc:
            # Blocked the bot, say: the topic reaches them instead.
            log.warning("nudge to %s not delivered: %s", member.telegram_id, exc)
            in_topic.append(member)
    if duty and not in_topic:
        return
    async with runtime.sessionmaker.begin() as session:
        salon = await salons.get(session, salon_id)
    group = translator(settings.default_language)
    text = render_nudge(waiting, first, group, settings.nudge_minutes)
    if in_topic:
        names = ", ".join(
            mention(m.telegram_id, shorten(m.first_name or m.username or "?", MAX_NAME))
            for m in in_topic
        )
        text = Html(text + "\n" + group("On duty: {names}", names=Html(names)))
    await bot.send_message(
        runtime.staff_chat_id,
        text,
        parse_mode=ParseMode.HTML,
        message_thread_id=salon.thread_id if salon is not None else None,
        link_preview_options=NO_PREVIEW,
    )


def _number(question: Question) -> str:
    seq = f".{question.salon_seq}" if question.salon_seq else ""
    return f"#{question.salon_id}{seq} "


def render_nudge(
    waiting: list[Question], first: dict[int, Priority], _: Translator, minutes: int
) -> Html:
    lines: list[str] = [
        _.ngettext(
            "🔔 {count} question nobody has taken for {minutes}+ minutes:",
            "🔔 {count} questions nobody has taken for {minutes}+ minutes, oldest first:",
            len(waiting),
            count=len(waiting),
            minutes=minutes,
        )
    ]
    for question in waiting[:MAX_LISTED]:
        star = "⭐ " if question.id in first else ""
        lines.append(question_line(question, prefix=f"{star}{_number(question)}"))
    if len(waiting) > MAX_LISTED:
        lines.append(_("…and {count} more.", count=len(waiting) - MAX_LISTED))
    return Html("\n".join(lines))


async def render_still_open(runtime: Runtime, salon_id: int, _: Translator) -> Html | None:
    """The salon's open questions and who has which, for the ten-minute warning; None when
    every question is answered."""
    async with runtime.sessionmaker.begin() as session:
        found = await nudges.still_open(session, salon_id, runtime.settings.vip_followers)
        shown = found[:MAX_LISTED]
        first = await priority.of_questions(session, shown, runtime.settings.vip_followers)
        holders = {q.id: await staff.display_name(session, q.taken_by) for q in shown}
    if not found:
        return None
    lines: list[str] = [
        _.ngettext(
            "{count} question is still open:",
            "{count} questions are still open:",
            len(found),
            count=len(found),
        )
    ]
    for question in shown:
        star = "⭐ " if question.id in first else ""
        who = (
            _(" — {curator}", curator=shorten(holders[question.id] or "?", MAX_NAME))
            if question.taken_by
            else _(" — nobody has taken it")
        )
        lines.append(question_line(question, prefix=f"{star}{_number(question)}") + who)
    if len(found) > MAX_LISTED:
        lines.append(_("…and {count} more.", count=len(found) - MAX_LISTED))
    return Html("\n".join(lines))
