"""Keep a question's card in step with the question after someone acts on it."""

from __future__ import annotations

import logging

from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest

from opsbot.i18n import translator
from opsbot.services import inbox, questions
from opsbot.telegram.card_facts import card_state
from opsbot.telegram.cards import digest, render_card
from opsbot.telegram.context import Runtime

log = logging.getLogger(__name__)


async def refresh_card(
    bot: Bot, runtime: Runtime, question_id: int, *, only_known: bool = False
) -> bool:
    """Show the question's current state on its card; True if a message was changed or sent.

    `only_known` leaves alone cards whose shown state was never recorded (sent by an older
    version), where comparing would cost an edit each just to learn they were right.
    One card is brought up to date by one task at a time: two at once would both compare
    with the state shown before either, and both spend an edit.
    """
    async with runtime.cards.card_lock(question_id):
        changed = await _refresh(bot, runtime, question_id, only_known=only_known)
        # The co-host's group sees who took or answered it as soon as the host's does.
        return await runtime.cards.partners.refresh(question_id) or changed


async def replace_buttons(
    bot: Bot, runtime: Runtime, question_id: int, markup: InlineKeyboardMarkup
) -> bool:
    """Other buttons under the card for a moment (a confirmation step), noted as what the
    card shows, so the next refresh puts the card's own back; False if there is no card."""
    async with runtime.cards.card_lock(question_id):
        async with runtime.sessionmaker.begin() as session:
            question = await questions.load(session, question_id)
        if question is None or question.card_message_id is None:
            return False
        text, _buttons = render_card(
            question,
            translator(runtime.settings.default_language),
            runtime.settings.zone,
            await card_state(runtime.sessionmaker, runtime.settings, question),
        )
        try:
            await bot.edit_message_reply_markup(
                question.card_chat_id, question.card_message_id, reply_markup=markup
            )
        except BadRequest as exc:
            if "message is not modified" not in str(exc).lower():
                raise
        async with runtime.sessionmaker.begin() as session:
            await inbox.record_card_shown(session, question_id, digest(text, markup))
        return True


async def _refresh(bot: Bot, runtime: Runtime, question_id: int, *, only_known: bool) -> bool:
    async with runtime.sessionmaker.begin() as session:
        question = await questions.load(session, question_id)
    if question is None or question.card_message_id is None:
        # The card is still queued; it will be rendered from the current state when sent.
        return False
    if only_known and question.card_digest is None:
        return False
    state = await card_state(runtime.sessionmaker, runtime.settings, question)
    text, markup = render_card(
        question, translator(runtime.settings.default_language), runtime.settings.zone, state
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
            async with runtime.sessionmaker.begin() as session:
                await inbox.record_card_shown(session, question_id, shown)
            return False
        if "message to edit not found" not in message:
            raise
        log.info("card of question %s was deleted; sending a new one", question_id)
        try:
            sent = await _send(bot, runtime, text, markup, question.card_thread_id)
        except BadRequest as error:
            reason = str(error).lower()
            if question.card_thread_id is None or not (
                "thread not found" in reason or "topic_closed" in reason
            ):
                raise
            # Its topic went with it (or was closed): the General chat takes the card.
            sent = await _send(bot, runtime, text, markup, None)
        async with runtime.sessionmaker.begin() as session:
            await inbox.record_card_shown(
                session,
                question_id,
                shown,
                chat_id=sent.chat_id,
                thread_id=sent.message_thread_id,
                message_id=sent.message_id,
            )
        return True
    async with runtime.sessionmaker.begin() as session:
        await inbox.record_card_shown(session, question_id, shown)
    return True


async def _send(
    bot: Bot, runtime: Runtime, text: str, markup: InlineKeyboardMarkup | None, thread: int | None
) -> Message:
    return await bot.send_message(
        runtime.staff_chat_id,
        text,
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
        message_thread_id=thread,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )
