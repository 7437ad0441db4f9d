"""Questions in tens when the backlog is more than the staff group can take in a minute.

Telegram lets a bot send about 20 messages a minute into a group: one card per question makes a
burst of 600 wait half an hour. A digest lists up to ten questions, oldest first (author, the
start of the text, whether X lets the museum reply, the link). Each question is answerable
from the digest alone: its number takes it and opens the answer dialogue in the curator's
private chat, so answering adds no message to the group; its 🗂 brings the full card (for
a curator the bot may not write to, or to hide the question).
"""

from __future__ import annotations

import html
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from opsbot.db.models import Question
from opsbot.i18n import Html, Translator
from opsbot.services.posts import post_url
from opsbot.telegram.callback_data import Action, pack
from opsbot.telegram.cards import link, shorten

DIGEST_SIZE = 10
EXCERPT = 160
BUTTONS_PER_ROW = 5


def render_digest(
    questions: list[Question],
    waiting: int,
    _: Translator,
    zone: ZoneInfo,
    *,
    priority: frozenset[int] = frozenset(),
) -> tuple[str, InlineKeyboardMarkup]:
    """The digest message and its numbered buttons; `waiting` counts the whole backlog, and
    the questions of `priority` (ids) are starred."""
    lines = [
        _.ngettext(
            "📥 {count} question is waiting: here they come in tens, oldest first. "
            "Press a number to answer in our private chat, 🗂 for the full card.",
            "📥 {count} questions are waiting: here they come in tens, oldest first. "
            "Press a number to answer in our private chat, 🗂 for the full card.",
            waiting,
            count=waiting,
        )
    ]
    for number, question in enumerate(questions, start=1):
        author = link(
            post_url(question.author_handle, question.x_post_id), f"@{question.author_handle}"
        )
        mark = "" if question.replyable else " " + _.plain("🚫 no reply on X")
        time = question.posted_at.astimezone(zone).strftime("%H:%M")
        excerpt = html.escape(shorten(" ".join(question.text.split()), EXCERPT), quote=False)
        star = "⭐ " if question.id in priority else ""
        lines.append(
            Html(f"\n{star}<b>{number}.</b> {author} · {time}{html.escape(mark)}\n{excerpt}")
        )
    answer = [
        InlineKeyboardButton(str(number), callback_data=pack(Action.DIGEST_ANSWER, question.id))
        for number, question in enumerate(questions, start=1)
    ]
    card = [
        InlineKeyboardButton(f"🗂{number}", callback_data=pack(Action.FULL_CARD, question.id))
        for number, question in enumerate(questions, start=1)
    ]
    return "\n".join(lines), InlineKeyboardMarkup(_rows(answer) + _rows(card))


def _rows(buttons: list[InlineKeyboardButton]) -> list[list[InlineKeyboardButton]]:
    return [buttons[i : i + BUTTONS_PER_ROW] for i in range(0, len(buttons), BUTTONS_PER_ROW)]
