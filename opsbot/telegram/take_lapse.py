"""A take nobody is answering goes back to the queue during a live salon, its holder warned.

One job per question on the bot's clock, named after it so arming again replaces it: due at
the warning, then at the lapse. Each fires through a conditional update (`services.presence`)
that only the holder's take, still idle, matches, so a Keep it, an Answer or a Release that
comes first wins, and a job armed twice acts once. A restart arms every idle take again.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import cast

from telegram import Bot, InlineKeyboardButton
from telegram import InlineKeyboardMarkup as Markup
from telegram.constants import ParseMode
from telegram.error import Forbidden, TelegramError

from opsbot.i18n import Translator, translator
from opsbot.services import audit, presence, questions, salons, staff
from opsbot.services.presence import IdleTake
from opsbot.telegram.callback_data import Action, pack
from opsbot.telegram.card_updates import refresh_card
from opsbot.telegram.context import OpsbotContext, Runtime
from opsbot.telegram.prompts import mention

log = logging.getLogger(__name__)


def _job(question_id: int) -> str:
    return f"take-lapse-{question_id}"


def limit(runtime: Runtime) -> timedelta:
    return timedelta(minutes=runtime.settings.take_minutes)


def arm(runtime: Runtime, take: IdleTake) -> None:
    """Due at the warning, or at the lapse once the holder was warned."""
    lapse_at = take.taken_at + limit(runtime)
    moment = lapse_at if take.warned else lapse_at - presence.WARNING_LEAD
    runtime.timers.run_at(_check, moment, name=_job(take.question_id), data=take.question_id)


async def arm_question(runtime: Runtime, question_id: int) -> None:
    async with runtime.sessionmaker.begin() as session:
        take = await presence.idle_take(session, question_id)
    if take is not None:
        arm(runtime, take)


async def resume(runtime: Runtime) -> None:
    """After a restart: every idle take gets its clock back."""
    async with runtime.sessionmaker.begin() as session:
        takes = await presence.idle_takes(session)
    for take in takes:
        arm(runtime, take)


async def _check(context: OpsbotContext) -> None:
    question_id = cast(int, context.job.data if context.job else None)
    runtime = context.runtime
    now = runtime.clock.now()
    async with runtime.sessionmaker.begin() as session:
        take = await presence.idle_take(session, question_id)
        live = await salons.live_salon(session)
    if take is None or live is None:
        # Answered, released or being written; or no salon is live: nothing lapses.
        return
    if take.warned and now >= take.taken_at + limit(runtime):
        await _lapse(context.bot, runtime, take)
        return
    if not take.warned:
        async with runtime.sessionmaker.begin() as session:
            warned = await presence.claim_warning(session, take, now, limit(runtime))
        if warned:
            await _warn(context.bot, runtime, take)
            take = IdleTake(take.question_id, take.holder_id, take.taken_at, True)
    arm(runtime, take)


async def _lapse(bot: Bot, runtime: Runtime, take: IdleTake) -> None:
    now = runtime.clock.now()
    async with runtime.sessionmaker.begin() as session:
        lapsed = await presence.lapse(session, take, now, limit(runtime))
        if lapsed:
            await audit.record(
                session,
                actor_id=take.holder_id,
                action="take_lapsed",
                question_id=take.question_id,
                detail=f"idle {runtime.settings.take_minutes} min",
            )
    if lapsed:
        log.info("the take of question %s lapsed", take.question_id)
        await refresh_card(bot, runtime, take.question_id)


def _warning(_: Translator, take: IdleTake, name: str, handle: str) -> tuple[str, Markup]:
    text = _(
        "⏳ {curator}, the question from @{handle} that you took goes back to the queue in "
        "{minutes} minutes unless you start answering it or keep it.",
        curator=mention(take.holder_id, name),
        handle=handle,
        minutes=int(presence.WARNING_LEAD.total_seconds() // 60),
    )
    keep = InlineKeyboardButton(
        _.plain("Keep it"), callback_data=pack(Action.KEEP_TAKE, take.question_id)
    )
    return text, Markup([[keep]])


async def _warn(bot: Bot, runtime: Runtime, take: IdleTake) -> None:
    """In the holder's private chat; in the group, mentioning them, if the bot may not."""
    async with runtime.sessionmaker.begin() as session:
        question = await questions.load(session, take.question_id)
        name = await staff.display_name(session, take.holder_id) or "?"
        language = await staff.language_of(
            session, take.holder_id, None, runtime.settings.default_language
        )
        private = await staff.has_private_chat(session, take.holder_id)
    if question is None:
        return
    try:
        if private:
            text, keep = _warning(translator(language), take, name, question.author_handle)
            try:
                await bot.send_message(
                    take.holder_id, text, parse_mode=ParseMode.HTML, reply_markup=keep
                )
                return
            except Forbidden:
                async with runtime.sessionmaker.begin() as session:
                    await staff.close_private_chat(session, take.holder_id)
        group = translator(runtime.settings.default_language)
        text, keep = _warning(group, take, name, question.author_handle)
        await bot.send_message(
            runtime.staff_chat_id,
            text,
            parse_mode=ParseMode.HTML,
            message_thread_id=question.card_thread_id,
            reply_markup=keep,
        )
    except TelegramError as exc:
        log.warning("could not warn curator %s of a lapsing take: %s", take.holder_id, exc)
