"""The answer preview a curator sees before posting: the exact text, its length, warnings."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from opsbot.db.models import (
    Answer,
    AnswerStatus,
    Delivery,
    DeliveryState,
    DeliveryWait,
    Question,
)
from opsbot.i18n import N_, Html, Translator
from opsbot.services.compose import has_link
from opsbot.services.posts import post_url
from opsbot.services.tweet_length import MAX_WEIGHTED_LENGTH, fits, weighted_length
from opsbot.telegram.callback_data import Action, pack
from opsbot.telegram.cards import link
from opsbot.telegram.delivery_failures import why_failed

# X refused the museum itself, not this answer: say what the staff must fix.
_WAITING: dict[DeliveryWait, str] = {
    DeliveryWait.KEYS: N_(
        "⏳ Waiting: X refused the museum's keys, not this answer. The staff group has been "
        "told; it will be tried again at {time}."
    ),
    DeliveryWait.ENROLMENT: N_(
        "⏳ Waiting: X refused the museum's app, which is not enrolled for X API access "
        "(client-not-enrolled), not this answer. It will be tried again at {time}."
    ),
    DeliveryWait.CREDITS: N_(
        "⏳ Waiting: the museum's X credits are spent, not this answer. It will be tried "
        "again at {time}."
    ),
}


def _quote(text: str) -> Html:
    return Html(f"<blockquote>{html.escape(text, quote=False)}</blockquote>")


def answer_lines(parts: Sequence[Answer], question: Question, _: Translator) -> list[str]:
    """The answer exactly as X will get it, each post with its length, and a link's cost."""
    lines: list[str] = [
        _("📝 Answer to @{handle}:", handle=question.author_handle)
        if len(parts) == 1
        else _.ngettext(
            "📝 Answer to @{handle}, a thread of {count} post:",
            "📝 Answer to @{handle}, a thread of {count} posts:",
            len(parts),
            handle=question.author_handle,
            count=len(parts),
        )
    ]
    for part in parts:
        lines.append(_quote(part.text))
        length = weighted_length(part.text)
        if fits(part.text):
            lines.append(_("Length: {length}/{limit}", length=length, limit=MAX_WEIGHTED_LENGTH))
        else:
            lines.append(
                _("⛔ Too long: {length}/{limit}", length=length, limit=MAX_WEIGHTED_LENGTH)
            )
    if any(has_link(part.text) for part in parts):
        lines.append(
            _("🔗 Contains a link: X charges about $0.20 for a post with a link instead of $0.015.")
        )
    return lines


def render_preview(
    parts: Sequence[Answer],
    deliveries: Mapping[int, Delivery],
    question: Question,
    _: Translator,
    zone: ZoneInfo,
    museum_handle: str,
    *,
    split_into: int = 0,
    needs_approval: bool = False,
    reviewer: str | None = None,
    by_hand: str | None = None,
) -> tuple[str, InlineKeyboardMarkup | None]:
    """`needs_approval`: the curator's Post becomes Send for approval; `reviewer` is the
    moderator who returned the answer. `by_hand`: the handle of the partner the curator answers
    for, when the bot may not post as it: the curator posts the text on X and the bot checks
    the reply's link."""
    root = parts[0]
    lines = answer_lines(parts, question, _)
    # A thread is as far as its first part not yet on X.
    current = next((p for p in parts if p.status != AnswerStatus.POSTED), root)
    status = current.status
    buttons: list[InlineKeyboardButton] = []
    if status == AnswerStatus.DRAFT:
        if by_hand is not None:
            lines.append(
                _(
                    "✋ @{handle} has not let the bot post as its account: copy the text, post "
                    "it on X from @{handle} as a reply to the question, then press “Mark "
                    "answered” and send me the reply's link.",
                    handle=by_hand,
                )
            )
            buttons.append(
                InlineKeyboardButton(
                    _.plain("Open on X"),
                    url=post_url(question.author_handle, question.x_post_id),
                )
            )
            buttons.append(
                InlineKeyboardButton(
                    _.plain("Mark answered"), callback_data=pack(Action.MARK_ANSWERED, root.id)
                )
            )
        elif not question.replyable:
            lines.append(
                _(
                    "🚫 X will not accept this reply: the visitor did not tag or quote the museum. "
                    "Copy the text and answer by hand: {link}",
                    link=link(
                        post_url(question.author_handle, question.x_post_id), question.author_handle
                    ),
                )
            )
        elif all(fits(part.text) for part in parts):
            buttons.append(
                InlineKeyboardButton(
                    _.plain("Send for approval"), callback_data=pack(Action.SUBMIT, root.id)
                )
                if needs_approval
                else InlineKeyboardButton(_.plain("Post"), callback_data=pack(Action.POST, root.id))
            )
        elif split_into:
            lines.append(
                _("Shorten it, or split it into a thread of {count} replies.", count=split_into)
            )
            buttons.append(
                InlineKeyboardButton(
                    _.plain("Split into {count}", count=split_into),
                    callback_data=pack(Action.SPLIT, root.id),
                )
            )
    elif status == AnswerStatus.POSTING:
        lines.append(_waiting(deliveries.get(current.id), _, zone))
    elif status == AnswerStatus.POSTED:
        posted = [p for p in parts if p.x_post_id]
        lines.append(_("✅ Posted:"))
        for part in posted:
            lines.append(
                link(
                    post_url(museum_handle, part.x_post_id or ""),
                    post_url(museum_handle, part.x_post_id or ""),
                )
            )
    elif status == AnswerStatus.FAILED:
        delivery = deliveries.get(current.id)
        lines.append(_("❌ Not posted: {reason}", reason=why_failed(delivery, _)))
    elif status == AnswerStatus.CANCELLED:
        lines.append(_("Cancelled."))
    elif status == AnswerStatus.AWAITING:
        lines.append(_("⏳ Sent for approval: a moderator will check it."))
    elif status == AnswerStatus.RETURNED:
        lines.append(
            _(
                "↩️ Returned by {moderator}: {comment}",
                moderator=reviewer or "?",
                comment=root.review_comment or "",
            )
        )
    if status in (
        AnswerStatus.DRAFT,
        AnswerStatus.FAILED,
        AnswerStatus.AWAITING,
        AnswerStatus.RETURNED,
    ):
        buttons.append(
            InlineKeyboardButton(_.plain("Edit"), callback_data=pack(Action.EDIT, root.id))
        )
        buttons.append(
            InlineKeyboardButton(_.plain("Cancel"), callback_data=pack(Action.CANCEL, root.id))
        )
    markup = InlineKeyboardMarkup([buttons]) if buttons else None
    return "\n".join(lines), markup


def _waiting(delivery: Delivery | None, _: Translator, zone: ZoneInfo) -> Html:
    """What an answer handed to the outbox is waiting for, if anything but X itself."""
    if delivery is None or delivery.state != DeliveryState.PENDING:
        return _("⏳ Posting…")
    time = delivery.next_attempt_at.astimezone(zone).strftime("%H:%M")
    if delivery.waiting_for == DeliveryWait.RATE_LIMIT:
        return _("⏳ Queued: X asked to wait. It will be posted at {time}.", time=time)
    waiting = _WAITING.get(delivery.waiting_for) if delivery.waiting_for else None
    return _(waiting, time=time) if waiting else _("⏳ Posting…")
