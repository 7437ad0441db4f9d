"""Small helpers every handler uses: the person's language, the audit log, safe answers."""

from __future__ import annotations

import html
import logging
import re

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import CallbackQuery, Update, User
from telegram.error import BadRequest, TelegramError

from opsbot.i18n import Html, Translator, translator
from opsbot.services import audit, staff
from opsbot.telegram.context import OpsbotContext

log = logging.getLogger(__name__)


async def translator_for(context: OpsbotContext, user: User | None) -> Translator:
    runtime = context.runtime
    if user is None:
        return translator(runtime.settings.default_language)
    async with runtime.sessionmaker.begin() as session:
        language = await staff.language_of(
            session, user.id, user.language_code, runtime.settings.default_language
        )
    return translator(language)


def number(text: str | None) -> int | None:
    """A plain 1-9 digit number such as a salon or saved-reply number; else None.

    str.isdigit() would also accept "²" and numbers no database column can hold.
    """
    if text is None:
        return None
    match = re.fullmatch(r"#?([0-9]{1,9})", text)
    return int(match.group(1)) if match else None


def actor(update: Update) -> int | None:
    """Who did it, for the audit log (None for updates without a person)."""
    return update.effective_user.id if update.effective_user else None


async def see_user(session: AsyncSession, user: User) -> None:
    """Remember what Telegram says about a person (name, username, app language)."""
    await staff.see_member(
        session,
        telegram_id=user.id,
        first_name=user.full_name,
        username=user.username,
        telegram_language=user.language_code,
    )


async def answer_query(
    query: CallbackQuery, text: str, *, alert: bool = False, url: str | None = None
) -> None:
    """Answer a button press; a query Telegram already forgot is not an error.

    `url` (only a t.me/<bot>?start= link, Telegram's rule) makes the app open it.
    """
    if isinstance(text, Html):
        # Button answers are plain text: undo the escaping done for HTML messages.
        text = html.unescape(text)
    try:
        await query.answer(text[:200], show_alert=alert, url=url)
    except BadRequest as exc:
        if "query is too old" in str(exc) or "query id is invalid" in str(exc).lower():
            log.info("button press expired before it was answered")
            return
        raise


async def audit_refusal(
    context: OpsbotContext,
    update: Update,
    action: str,
    reason: str,
    question_id: int | None = None,
) -> None:
    async with context.runtime.sessionmaker.begin() as session:
        await audit.record(
            session,
            actor_id=actor(update),
            action=action,
            outcome=audit.REFUSED,
            question_id=question_id,
            detail=reason,
        )


async def clear_buttons(query: CallbackQuery) -> None:
    """Take the buttons off a handled preview, so nobody presses them again."""
    try:
        await query.edit_message_reply_markup(reply_markup=None)
    except TelegramError as exc:
        log.info("could not clear the preview's buttons: %s", exc)
