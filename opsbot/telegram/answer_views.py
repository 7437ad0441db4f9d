"""Showing answers to the curator: the preview message (in the staff group or in the curator's
private chat with the bot), and what the outbox did with it."""

from __future__ import annotations

import logging

from telegram import Bot, LinkPreviewOptions, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest

from opsbot.db.models import Answer, Delivery, DeliveryState
from opsbot.i18n import N_, Translator, translator
from opsbot.services import answers, outbox, partners, questions, staff
from opsbot.services.answers import ClaimOutcome
from opsbot.services.compose import answer_hashtags, split_thread
from opsbot.services.tweet_length import fits
from opsbot.telegram.approvals import needs_approval
from opsbot.telegram.card_updates import refresh_card
from opsbot.telegram.context import Runtime
from opsbot.telegram.delivery_failures import why_failed
from opsbot.telegram.previews import render_preview

log = logging.getLogger(__name__)
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def claim_refusal(_: Translator, outcome: ClaimOutcome) -> str:
    """Why Post (or Send for approval, or Approve) did nothing, for the person who pressed."""
    refusals = {
        ClaimOutcome.ALREADY_POSTING: _.plain("This answer is already being posted."),
        ClaimOutcome.ALREADY_POSTED: _.plain("This answer is already on X."),
        ClaimOutcome.CANCELLED: _.plain("This draft was cancelled or replaced."),
        ClaimOutcome.NOT_FOUND: _.plain("This button is not valid any more."),
        ClaimOutcome.QUESTION_ANSWERED: _.plain("This question has already been answered."),
        ClaimOutcome.QUESTION_HIDDEN: _.plain("This question is hidden; unhide it first."),
        ClaimOutcome.OTHER_ANSWER: _.plain(
            "Another answer to this question is already being posted."
        ),
        ClaimOutcome.NOT_REPLYABLE: _.plain(
            "X will not accept a reply to this visitor; answer by hand."
        ),
        ClaimOutcome.TOO_LONG: _.plain("Too long for one post: shorten it or split it."),
        ClaimOutcome.AWAITING: _.plain("This answer is waiting for a moderator's approval."),
        ClaimOutcome.RETURNED: _.plain(
            "A moderator returned this answer: write a new version of it."
        ),
    }
    return refusals[outcome]


async def show_preview(
    bot: Bot,
    runtime: Runtime,
    root_id: int,
    _: Translator,
    *,
    reply_to: Message | None = None,
    signature: str | None = None,
    chat_id: int | None = None,
) -> None:
    """Send the preview (as a reply to the curator's text) or edit the one already shown.

    A new preview goes to `chat_id` (the chat of the curator's text: the staff group or their
    private chat), else to where the last one was, else to the staff group. One answer's
    preview is drawn by one task at a time: a handler's redraw read before the outbox posted
    must not land after the outbox's "Posted".
    """
    async with runtime.preview_lock(root_id):
        await _show_preview(
            bot, runtime, root_id, _, reply_to=reply_to, signature=signature, chat_id=chat_id
        )


async def _show_preview(
    bot: Bot,
    runtime: Runtime,
    root_id: int,
    _: Translator,
    *,
    reply_to: Message | None,
    signature: str | None,
    chat_id: int | None,
) -> None:
    settings = runtime.settings
    async with runtime.sessionmaker.begin() as session:
        parts = await answers.thread_of(session, root_id)
        question = await questions.load(session, parts[0].question_id)
        deliveries = await outbox.of_answers(session, [part.id for part in parts])
        partner = await partners.partner_of_staff(session, parts[0].curator_id)
        reviewer = await staff.display_name(session, parts[0].reviewed_by)
    assert question is not None
    by_hand = partner.handle if partner is not None and partner.access_token is None else None
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
        parts,
        deliveries,
        question,
        _,
        settings.zone,
        settings.x_account,
        split_into=split_into,
        by_hand=by_hand,
        needs_approval=await needs_approval(runtime, parts[0].curator_id),
        reviewer=reviewer,
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
    target = chat_id or root.preview_chat_id or runtime.staff_chat_id
    sent = await bot.send_message(
        target,
        text,
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
        link_preview_options=NO_PREVIEW,
        message_thread_id=question.card_thread_id if target < 0 else None,
        reply_parameters=ReplyParameters(reply_to.message_id, allow_sending_without_reply=True)
        if reply_to is not None
        else None,
    )
    async with runtime.sessionmaker.begin() as session:
        await answers.set_preview(session, root_id, sent.chat_id, sent.message_id)


async def _curator_language(runtime: Runtime, root: Answer) -> Translator:
    async with runtime.sessionmaker.begin() as session:
        language = await staff.language_of(
            session, root.curator_id, None, runtime.settings.default_language
        )
    return translator(language)


async def _root_of(runtime: Runtime, row: Delivery) -> Answer | None:
    if row.answer_id is None:
        return None
    async with runtime.sessionmaker.begin() as session:
        part = await answers.load(session, row.answer_id)
        root_id = (part.thread_root_id or part.id) if part else None
        return await answers.load(session, root_id) if root_id else None


async def show_progress(bot: Bot, runtime: Runtime, row: Delivery) -> None:
    """The preview says what the answer waits for (X's limit, the museum's keys, X itself)."""
    root = await _root_of(runtime, row)
    if root is not None:
        await show_preview(bot, runtime, root.id, await _curator_language(runtime, root))


async def tell_outcome(bot: Bot, runtime: Runtime, row: Delivery) -> None:
    """An answer is on X (its last part is): the preview and the card show it. A part that
    failed: the preview says why, and a reply to it tells the curator."""
    async with runtime.sessionmaker.begin() as session:
        follower = await outbox.follower_of(session, row.id)
    if row.state == DeliveryState.SENT and follower is not None:
        return  # the thread goes on; its last part tells
    root = await _root_of(runtime, row)
    if root is None:
        return
    _ = await _curator_language(runtime, root)
    await show_preview(bot, runtime, root.id, _)
    if row.state == DeliveryState.SENT:
        await refresh_card(bot, runtime, root.question_id)
        return
    async with runtime.sessionmaker.begin() as session:
        question = await questions.load(session, root.question_id)
        root = await answers.load(session, root.id) or root
    # Said where the curator wrote it: in the group, or in their private chat.
    private = root.preview_chat_id is not None and root.preview_chat_id > 0
    # A partner's curator wrote it in the partner's own group: it is told there.
    where = root.preview_chat_id if private else root.preview_chat_id or runtime.staff_chat_id
    assert where is not None
    told = _ if private else translator(runtime.settings.default_language)
    await bot.send_message(
        where,
        told(
            N_("❌ The answer to @{handle} was not posted: {reason}"),
            handle=question.author_handle if question else "?",
            reason=why_failed(row, told),
        ),
        message_thread_id=question.card_thread_id
        if question and where == runtime.staff_chat_id
        else None,
        reply_parameters=ReplyParameters(root.preview_message_id, allow_sending_without_reply=True)
        if root.preview_message_id is not None
        else None,
    )
