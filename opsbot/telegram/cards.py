"""The question card in the staff group: what the curators see and the buttons they press."""

from __future__ import annotations

import hashlib
import html
import json
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from opsbot.db.models import AnswerStatus, Question, QuestionAudience, QuestionStatus
from opsbot.i18n import Html, Translator
from opsbot.services.posts import post_url
from opsbot.services.priority import Priority
from opsbot.telegram.callback_data import Action, pack

# Telegram allows 4096 characters; the frame around the question takes a few hundred.
MAX_QUESTION_CHARS = 3000


@dataclass(frozen=True)
class CardState:
    """Who did what to the question, for the status line under it."""

    salon_seq: int | None = None
    taken_by: str | None = None
    answered_by: str | None = None
    answer_url: str | None = None
    answer_excerpt: str | None = None
    hidden_by: str | None = None
    # Whoever has the answer dialogue open (presence).
    writing_by: str | None = None
    priority: Priority | None = None
    # An answer awaiting a moderator's approval, or returned by one, and whose it is.
    review: AnswerStatus | None = None
    review_curator: str | None = None
    # A co-hosted salon: the partner museum, and the host's own X handle.
    partner_name: str | None = None
    partner_handle: str | None = None
    host_handle: str | None = None


def digest(text: str, markup: InlineKeyboardMarkup | None) -> str:
    """A fingerprint of what a message shows, to tell whether an edit would change it."""
    keyboard = json.dumps(markup.to_dict() if markup else None, sort_keys=True)
    return hashlib.sha256(f"{text}\0{keyboard}".encode()).hexdigest()[:32]


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def link(url: str, label: str) -> Html:
    return Html(f'<a href="{html.escape(url, quote=True)}">{html.escape(label, quote=False)}</a>')


def question_line(question: Question, *, prefix: str = "• ", width: int = 60) -> Html:
    """One line per question in lists: a link to the post and the start of its text."""
    excerpt = shorten(" ".join(question.text.split()), width)
    return Html(
        html.escape(prefix, quote=False)
        + link(post_url(question.author_handle, question.x_post_id), f"@{question.author_handle}")
        + ": "
        + html.escape(excerpt, quote=False)
    )


def priority_line(priority: Priority, _: Translator) -> Html:
    line = (
        _("⭐ Priority sender: {note}", note=priority.note)
        if priority.note
        else _("⭐ Priority sender")
    )
    if not priority.followers:
        return line
    return Html(
        line
        + " · "
        + _.ngettext(
            "{count} follower on X",
            "{count} followers on X",
            priority.followers,
            count=priority.followers,
        )
    )


def render_card(
    question: Question, _: Translator, zone: ZoneInfo, state: CardState | None = None
) -> tuple[str, InlineKeyboardMarkup | None]:
    state = state or CardState()
    url = post_url(question.author_handle, question.x_post_id)
    local = question.posted_at.astimezone(zone)
    lines: list[str] = []
    if question.salon_id is not None:
        number = f"#{question.salon_id}" + (f".{state.salon_seq}" if state.salon_seq else "")
        lines.append(
            _("🕰 Salon {number}, after it ended", number=number)
            if question.after_salon
            else _("🎙 Salon {number}", number=number)
        )
    lines += [
        _(
            "❓ <b>{name}</b> @{handle} · {time}",
            name=question.author_name or question.author_handle,
            handle=question.author_handle,
            time=local.strftime("%d.%m %H:%M"),
        ),
    ]
    if state.priority is not None:
        lines.append(priority_line(state.priority, _))
    lines += [
        Html("<blockquote>")
        + Html(html.escape(shorten(question.text, MAX_QUESTION_CHARS), quote=False))
        + Html("</blockquote>"),
        link(url, _.plain("Open on X")),
    ]
    if state.partner_handle is not None:
        lines.append(_whose(question, state, _))
    if not question.replyable:
        lines.append(
            _(
                "⚠️ X will not let the museum reply: the visitor did not tag or quote the "
                "museum. Ask them to tag the museum, or answer by hand."
            )
        )
    if question.status == QuestionStatus.HIDDEN:
        lines.append(_("🙈 Hidden by {curator}", curator=state.hidden_by or "?"))
    elif question.status == QuestionStatus.ANSWERED:
        lines.append(_("✅ Answered by {curator}", curator=state.answered_by or "?"))
        if state.answer_excerpt:
            lines.append(Html(f"<i>{html.escape(state.answer_excerpt, quote=False)}</i>"))
        if state.answer_url:
            lines.append(link(state.answer_url, _.plain("The answer on X")))
    elif state.review == AnswerStatus.AWAITING:
        lines.append(
            _("⏳ {curator}'s answer awaits approval", curator=state.review_curator or "?")
        )
    elif state.review == AnswerStatus.RETURNED:
        lines.append(
            _("↩️ {curator}'s answer was returned for changes", curator=state.review_curator or "?")
        )
    elif question.writing_by is not None and (
        question.status == QuestionStatus.OPEN or question.writing_by == question.taken_by
    ):
        lines.append(_("✍️ {curator} is writing", curator=state.writing_by or "?"))
    elif question.status == QuestionStatus.TAKEN:
        lines.append(_("✍️ Taken by {curator}", curator=state.taken_by or "?"))
    return "\n".join(lines), card_buttons(question, _, state)


def _whose(question: Question, state: CardState, _: Translator) -> Html:
    """Whose curators the question is for: X lets only an account the visitor summoned reply."""
    if question.audience == QuestionAudience.PARTNER:
        return _(
            "🤝 For the curators of {museum}: the visitor tagged only @{handle}, so only its "
            "account can reply.",
            museum=state.partner_name or "",
            handle=state.partner_handle or "",
        )
    if question.audience == QuestionAudience.HOST:
        return _(
            "🏛 For the curators of @{handle}: the visitor tagged only this account, so only "
            "it can reply.",
            handle=state.host_handle or "",
        )
    return _("🤝 For both museums: the first to take it answers.")


def card_buttons(
    question: Question, _: Translator, state: CardState
) -> InlineKeyboardMarkup | None:
    if question.status == QuestionStatus.ANSWERED:
        if state.answer_url is None:
            return None
        return InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        _.plain("Delete on X"), callback_data=pack(Action.DELETE, question.id)
                    )
                ]
            ]
        )
    if question.status == QuestionStatus.HIDDEN:
        return InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        _.plain("Unhide"), callback_data=pack(Action.UNHIDE, question.id)
                    )
                ]
            ]
        )
    take = (
        InlineKeyboardButton(_.plain("Release"), callback_data=pack(Action.RELEASE, question.id))
        if question.status == QuestionStatus.TAKEN
        else InlineKeyboardButton(_.plain("Take"), callback_data=pack(Action.TAKE, question.id))
    )
    return InlineKeyboardMarkup(
        [
            [
                take,
                InlineKeyboardButton(
                    _.plain("Answer"), callback_data=pack(Action.ANSWER, question.id)
                ),
                InlineKeyboardButton(_.plain("Hide"), callback_data=pack(Action.HIDE, question.id)),
            ]
        ]
    )


def deletion_buttons(question_id: int, _: Translator) -> InlineKeyboardMarkup:
    """The confirmation step of Delete on X, in place of the card's button."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _.plain("Yes, delete it on X"),
                    callback_data=pack(Action.CONFIRM_DELETE, question_id),
                ),
                InlineKeyboardButton(
                    _.plain("No, leave it"), callback_data=pack(Action.KEEP_ANSWER, question_id)
                ),
            ]
        ]
    )
