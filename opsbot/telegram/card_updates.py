"""Keep a question's card in step with the question after someone acts on it."""

from __future__ import annotations

import asyncio
import logging
import weakref

from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest

from opsbot.db.models import Question
from opsbot.i18n import translator
from opsbot.services import answers, inbox, questions, staff
from opsbot.services.posts import post_url
from opsbot.telegram.cards import CardState, digest, render_card, shorten
from opsbot.telegram.context import Services

log = logging.getLogger(__name__)


async def card_state(services: Services, question: Question) -> CardState:
    async with services.sessionmaker.begin() as session:
        answer = await answers.posted_answer(session, question.id)
        return CardState(
            salon_seq=question.salon_seq,
            taken_by=await staff.display_name(session, question.taken_by),
            hidden_by=await staff.display_name(session, question.hidden_by),
            answered_by=await staff.display_name(session, answer.curator_id if answer else None),
            answer_url=post_url(services.settings.x_account, answer.x_post_id)
            if answer and answer.x_post_id
            else None,
            answer_excerpt=shorten(answer.text.splitlines()[0], 120) if answer else None,
        )


async def refresh_card(
    bot: Bot, services: Services, question_id: int, *, only_known: bool = False
) -> bool:
    """Show the question's current state on its card; True if a message was changed or sent.

    `only_known` leaves alone cards whose shown state was never recorded (sent by an older
    version), where comparing would cost an edit each just to learn they were right.
    One card is brought up to date by one task at a time: two at once would both compare
    with the state shown before either, and both spend an edit.
    """
    lock = _card_locks.get(question_id)
    if lock is None:
        lock = _card_locks[question_id] = asyncio.Lock()
    async with lock:
        return await _refresh(bot, services, question_id, only_known=only_known)


# A lock lives while a task holds or awaits it, and no longer.
_card_locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()


async def _refresh(bot: Bot, services: Services, question_id: int, *, only_known: bool) -> bool:
    async with services.sessionmaker.begin() as session:
        question = await questions.load(session, question_id)
    if question is None or question.card_message_id is None:
        # The card is still queued; it will be rendered from the current state when sent.
        return False
    if only_known and question.card_digest is None:
        return False
    state = await card_state(services, question)
    text, markup = render_card(
        question, translator(services.settings.default_language), services.settings.zone, state
    )
    shown = digest(text, markup)
    if shown == question.card_digest:
        return False
    try:
        await bot.edit_message_text(
            text,
            chat_id=question.card_chat_id,
            message_id=question.card_message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )
    except BadRequest as exc:
        message = str(exc).lower()
        if "message is not modified" in message:
            async with services.sessionmaker.begin() as session:
                await inbox.record_card_shown(session, question_id, shown)
            return False
        if "message to edit not found" not in message:
            raise
        log.info("card of question %s was deleted; sending a new one", question_id)
        try:
            sent = await _send(bot, services, text, markup, question.card_thread_id)
        except BadRequest as error:
            reason = str(error).lower()
            if question.card_thread_id is None or not (
                "thread not found" in reason or "topic_closed" in reason
            ):
                raise
            # Its topic went with it (or was closed): the General chat takes the card.
            sent = await _send(bot, services, text, markup, None)
        async with services.sessionmaker.begin() as session:
            await inbox.record_card_shown(
                session,
                question_id,
                shown,
                chat_id=sent.chat_id,
                thread_id=sent.message_thread_id,
                message_id=sent.message_id,
            )
        return True
    async with services.sessionmaker.begin() as session:
        await inbox.record_card_shown(session, question_id, shown)
    return True


async def _send(
    bot: Bot, services: Services, text: str, markup: InlineKeyboardMarkup | None, thread: int | None
) -> Message:
    return await bot.send_message(
        services.staff_chat_id,
        text,
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
        message_thread_id=thread,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )
