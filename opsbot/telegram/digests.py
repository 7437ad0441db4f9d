"""Questions in tens when the backlog is more than the staff group can take in a minute.

Telegram lets a bot send about 20 messages a minute into a group: one card per question makes a
burst of 600 wait half an hour. A digest lists up to ten questions, oldest first (author, the
start of the text, whether X lets the museum reply, the link), with a numbered button per
question that brings its full card, where it is taken, hidden and answered on its own.
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
    questions: list[Question], waiting: int, _: Translator, zone: ZoneInfo
) -> tuple[str, InlineKeyboardMarkup]:
    """The digest message and its numbered buttons; `waiting` counts the whole backlog."""
    lines = [
        _.ngettext(
            "📥 {count} question is waiting: here they come in tens, oldest first. "
            "Press a number for the full card.",
            "📥 {count} questions are waiting: here they come in tens, oldest first. "
            "Press a number for the full card.",
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
        lines.append(Html(f"\n<b>{number}.</b> {author} · {time}{html.escape(mark)}\n{excerpt}"))
    buttons = [
        InlineKeyboardButton(str(number), callback_data=pack(Action.FULL_CARD, question.id))
        for number, question in enumerate(questions, start=1)
    ]
    rows = [buttons[i : i + BUTTONS_PER_ROW] for i in range(0, len(buttons), BUTTONS_PER_ROW)]
    return "\n".join(lines), InlineKeyboardMarkup(rows)
