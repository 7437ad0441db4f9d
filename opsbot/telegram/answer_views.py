"""Showing answers in the staff group: the preview message, and what the outbox did with it."""

from __future__ import annotations

import logging

from telegram import Bot, LinkPreviewOptions, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest

from opsbot.db.models import Answer, Delivery, DeliveryState
from opsbot.i18n import N_, Translator, translator
from opsbot.services import answers, outbox, questions, staff
from opsbot.services.compose import answer_hashtags, split_thread
from opsbot.services.tweet_length import fits
from opsbot.telegram.card_updates import refresh_card
from opsbot.telegram.context import Services
from opsbot.telegram.previews import render_preview

log = logging.getLogger(__name__)
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


async def show_preview(
    bot: Bot,
    services: Services,
    root_id: int,
    _: Translator,
    *,
    reply_to: Message | None = None,
    signature: str | None = None,
) -> None:
    """Send the preview (as a reply to the curator's text) or edit the one already shown."""
    settings = services.settings
    async with services.sessionmaker.begin() as session:
        parts = await answers.thread_of(session, root_id)
        question = await questions.load(session, parts[0].question_id)
        deliveries = await outbox.of_answers(session, [part.id for part in parts])
    assert question is not None
    split_into = 0
    if len(parts) == 1 and not fits(parts[0].text):
        split_into = len(
            split_thread(
                parts[0].source_text,
                hashtags=answer_hashtags(question.text, settings.hashtags),
                signature=signature,
            )
        )
    text, markup = render_preview(
        parts, deliveries, question, _, settings.zone, settings.x_account, split_into=split_into
    )
    root = parts[0]
    if reply_to is None and root.preview_message_id is not None:
        try:
            await bot.edit_message_text(
                text,
                chat_id=root.preview_chat_id,
                message_id=root.preview_message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=NO_PREVIEW,
            )
            return
        except BadRequest as exc:
            if "message is not modified" in str(exc).lower():
                return
            if "message to edit not found" not in str(exc).lower():
                raise
    sent = await bot.send_message(
        services.staff_chat_id,
        text,
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
        link_preview_options=NO_PREVIEW,
        message_thread_id=question.card_thread_id,
        reply_parameters=ReplyParameters(reply_to.message_id, allow_sending_without_reply=True)
        if reply_to is not None
        else None,
    )
    async with services.sessionmaker.begin() as session:
        await answers.set_preview(session, root_id, sent.chat_id, sent.message_id)


async def _curator_language(services: Services, root: Answer) -> Translator:
    async with services.sessionmaker.begin() as session:
        language = await staff.language_of(
            session, root.curator_id, None, services.settings.default_language
        )
    return translator(language)


async def _root_of(services: Services, row: Delivery) -> Answer | None:
    if row.answer_id is None:
        return None
    async with services.sessionmaker.begin() as session:
        part = await answers.load(session, row.answer_id)
        root_id = (part.thread_root_id or part.id) if part else None
        return await answers.load(session, root_id) if root_id else None


async def show_progress(bot: Bot, services: Services, row: Delivery) -> None:
    """The preview says what the answer waits for (X's limit, the museum's keys, X itself)."""
    root = await _root_of(services, row)
    if root is not None:
        await show_preview(bot, services, root.id, await _curator_language(services, root))


async def tell_outcome(bot: Bot, services: Services, row: Delivery) -> None:
    """An answer is on X (its last part is): the preview and the card show it. A part that
    failed: the preview says why, and a reply to it tells the curator."""
    async with services.sessionmaker.begin() as session:
        follower = await outbox.follower_of(session, row.id)
    if row.state == DeliveryState.SENT and follower is not None:
        return  # the thread goes on; its last part tells
    root = await _root_of(services, row)
    if root is None:
        return
    _ = await _curator_language(services, root)
    await show_preview(bot, services, root.id, _)
    if row.state == DeliveryState.SENT:
        await refresh_card(bot, services, root.question_id)
        return
    async with services.sessionmaker.begin() as session:
        question = await questions.load(session, root.question_id)
        root = await answers.load(session, root.id) or root
    group = translator(services.settings.default_language)
    await bot.send_message(
        services.staff_chat_id,
        group(
            N_("❌ The answer to @{handle} was not posted: {reason}"),
            handle=question.author_handle if question else "?",
            reason=row.last_error or "?",
        ),
        message_thread_id=question.card_thread_id if question else None,
        reply_parameters=ReplyParameters(root.preview_message_id, allow_sending_without_reply=True)
        if root.preview_message_id is not None
        else None,
    )
