"""The approval request in the staff group: the exact text moderators approve, and its state.

One message per answer sent for approval, in the question's topic, edited through its states
(awaiting, approved, returned, withdrawn): a state change costs one edit of the group's 20
messages a minute. Its buttons are for moderators; the handlers check that on each press.
"""

from __future__ import annotations

import logging

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest

from opsbot.db.models import Answer, AnswerStatus, Question
from opsbot.i18n import Html, Translator, translator
from opsbot.services import answers, approvals, questions, staff
from opsbot.telegram.callback_data import Action, pack
from opsbot.telegram.cards import shorten
from opsbot.telegram.context import Runtime
from opsbot.telegram.previews import answer_lines
from opsbot.telegram.roles import Role

log = logging.getLogger(__name__)

QUESTION_EXCERPT = 300
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


async def needs_approval(runtime: Runtime, user_id: int) -> bool:
    """Whether this person's answers wait for a moderator (OPSBOT_APPROVAL and /approval)."""
    mode = approvals.Mode(runtime.settings.approval)
    if mode == approvals.Mode.OFF:
        return False
    role = await runtime.roles.role_of(runtime.staff_chat_id, user_id)
    async with runtime.sessionmaker.begin() as session:
        listed = await approvals.is_listed(session, user_id)
    return approvals.required(mode, moderator=role == Role.MODERATOR, listed=listed)


def render_request(
    parts: list[Answer],
    question: Question,
    _: Translator,
    *,
    curator: str,
    reviewer: str | None,
) -> tuple[str, InlineKeyboardMarkup | None]:
    root = parts[0]
    lines: list[str] = [
        _("📨 For approval: {curator}'s answer", curator=curator),
        _(
            "❓ @{handle}: {question}",
            handle=question.author_handle,
            question=shorten(" ".join(question.text.split()), QUESTION_EXCERPT),
        ),
        *answer_lines(parts, question, _),
    ]
    markup = None
    if root.status == AnswerStatus.AWAITING:
        if root.reviewed_by is not None:
            lines.append(_("✏️ Edited by {moderator}", moderator=reviewer or "?"))
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        _.plain("Approve"), callback_data=pack(Action.APPROVE, root.id)
                    ),
                    InlineKeyboardButton(
                        _.plain("Return with a comment"),
                        callback_data=pack(Action.RETURN, root.id),
                    ),
                    InlineKeyboardButton(
                        _.plain("Edit"), callback_data=pack(Action.AMEND, root.id)
                    ),
                ]
            ]
        )
    elif root.status in (AnswerStatus.POSTING, AnswerStatus.POSTED, AnswerStatus.FAILED):
        lines.append(_("✅ Approved by {moderator}", moderator=reviewer or "?"))
    elif root.status == AnswerStatus.RETURNED:
        lines.append(
            _(
                "↩️ Returned by {moderator}: {comment}",
                moderator=reviewer or "?",
                comment=root.review_comment or "",
            )
        )
    else:
        lines.append(
            _("Withdrawn: the answer was cancelled or replaced, or the question answered.")
        )
    return "\n".join(lines), markup


async def show_request(bot: Bot, runtime: Runtime, root_id: int) -> None:
    """Send the request to the staff group, or bring the one already sent up to date."""
    async with runtime.sessionmaker.begin() as session:
        parts = await answers.thread_of(session, root_id)
        if not parts:
            return
        root = parts[0]
        question = await questions.load(session, root.question_id)
        curator = await staff.display_name(session, root.curator_id) or "?"
        reviewer = await staff.display_name(session, root.reviewed_by)
    assert question is not None
    _ = translator(runtime.settings.default_language)
    text, markup = render_request(parts, question, _, curator=curator, reviewer=reviewer)
    if root.review_message_id is not None:
        try:
            await bot.edit_message_text(
                Html(text),
                chat_id=root.review_chat_id,
                message_id=root.review_message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=NO_PREVIEW,
            )
        except BadRequest as exc:
            reason = str(exc).lower()
            if "message is not modified" in reason:
                return
            if "message to edit not found" not in reason:
                raise
            log.info("the approval request of answer %s was deleted", root_id)
        else:
            return
        if root.status != AnswerStatus.AWAITING:
            return  # a deleted request that asks for nothing more needs no new message
    sent = await bot.send_message(
        runtime.staff_chat_id,
        Html(text),
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
        link_preview_options=NO_PREVIEW,
        message_thread_id=question.card_thread_id,
    )
    async with runtime.sessionmaker.begin() as session:
        await approvals.set_request(session, root_id, sent.chat_id, sent.message_id)
