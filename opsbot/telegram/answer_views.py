"""Showing answers in the staff group: the preview message and what follows a publication."""

from __future__ import annotations

import logging

from telegram import Bot, LinkPreviewOptions, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest

from opsbot.i18n import Translator, translator
from opsbot.services import answers, questions
from opsbot.services.compose import answer_hashtags, split_thread
from opsbot.services.tweet_length import fits
from opsbot.telegram.card_updates import refresh_card
from opsbot.telegram.context import Services
from opsbot.telegram.previews import render_preview
from opsbot.telegram.x_notices import refused_notice
from opsbot.x.publisher import Published, PublishResult

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
        parts, question, _, settings.zone, settings.x_account, split_into=split_into
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


async def after_publish(bot: Bot, services: Services, result: PublishResult, _: Translator) -> None:
    """Bring the card and the preview up to date with what happened on X."""
    await show_preview(bot, services, result.root_id, _)
    if result.outcome == Published.POSTED:
        await refresh_card(bot, services, result.question_id)
    if result.alert_raised and result.refused is not None:
        group = translator(services.settings.default_language)
        await bot.send_message(
            services.staff_chat_id, refused_notice(result.refused, group, posting=True)
        )
