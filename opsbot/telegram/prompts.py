"""The bot's "reply to this message with your answer", and asking again after a restart.

Telegram hands the bot a message once: a curator's answer that arrived in the instant before
the bot was stopped can be gone for good. After a restart, every recent prompt that no draft
followed is asked again, once, in the chat it was asked in (the staff group or the curator's
private chat), so the curator knows to resend rather than wait.
"""

from __future__ import annotations

import html
import logging
from datetime import timedelta

from telegram import Bot, ForceReply, Message
from telegram.constants import ParseMode
from telegram.error import Forbidden, TelegramError

from opsbot.db.models import Question
from opsbot.i18n import Html, Translator, translator
from opsbot.services import answers, presence, questions, staff
from opsbot.telegram.context import Runtime

log = logging.getLogger(__name__)

# A curator who wrote longer ago than this would have noticed that no preview came.
ASK_AGAIN_WINDOW = timedelta(minutes=30)


def quote(text: str) -> Html:
    return Html(f"<blockquote>{html.escape(text, quote=False)}</blockquote>")


def mention(user_id: int, name: str) -> Html:
    return Html(f'<a href="tg://user?id={user_id}">{html.escape(name, quote=False)}</a>')


async def send_prompt(
    bot: Bot,
    runtime: Runtime,
    question: Question,
    curator_id: int,
    curator_name: str,
    _: Translator,
    *,
    again: bool = False,
    chat_id: int | None = None,
    hint: str = "",
) -> Message:
    """Ask the curator for the answer's text, with a reply field opened for them alone.

    `chat_id` is the staff group (the default) or the curator's private chat with the bot,
    where the question is quoted since the card is not in sight. `hint` is added at the end.
    """
    chat_id = runtime.staff_chat_id if chat_id is None else chat_id
    private = chat_id > 0
    who = mention(curator_id, curator_name)
    text = (
        _(
            "🔄 {curator}, the bot was restarted just now. If you had already sent your answer "
            "to @{handle}, it may not have arrived: please send it again as a reply to this "
            "message.",
            curator=who,
            handle=question.author_handle,
        )
        if again
        else _(
            "✍️ Reply to this message with your answer to @{handle}:",
            handle=question.author_handle,
        )
        if private
        else _(
            "✍️ {curator}, reply to this message with your answer to @{handle}.",
            curator=who,
            handle=question.author_handle,
        )
    )
    if private:
        text = Html(text + "\n" + quote(question.text))
    text = Html(text + hint)
    prompt = await bot.send_message(
        chat_id,
        text,
        parse_mode=ParseMode.HTML,
        message_thread_id=None if private else question.card_thread_id,
        reply_markup=ForceReply(
            selective=True, input_field_placeholder=_.plain("Your answer")[:64]
        ),
    )
    async with runtime.sessionmaker.begin() as session:
        await answers.remember_prompt(
            session, prompt.chat_id, prompt.message_id, question.id, curator_id
        )
        await presence.start_writing(session, question.id, curator_id)
    return prompt


async def ask_again_after_restart(bot: Bot, runtime: Runtime) -> int:
    """Ask again for answers that may have been lost while the bot stopped; how many were."""
    now = runtime.clock.now()
    async with runtime.sessionmaker.begin() as session:
        maybe_lost = await answers.prompts_maybe_lost(session, now=now, window=ASK_AGAIN_WINDOW)
    asked = 0
    for prompt in maybe_lost:
        async with runtime.sessionmaker.begin() as session:
            if not await answers.mark_asked_again(session, prompt, now):
                continue
            question = await questions.load(session, prompt.question_id)
            name = await staff.display_name(session, prompt.curator_id) or ""
            language = await staff.language_of(
                session, prompt.curator_id, None, runtime.settings.default_language
            )
        if question is None:
            continue
        try:
            await send_prompt(
                bot,
                runtime,
                question,
                prompt.curator_id,
                name,
                translator(language),
                again=True,
                chat_id=prompt.chat_id,
            )
            asked += 1
        except TelegramError as exc:
            log.warning("could not ask curator %s to resend an answer: %s", prompt.curator_id, exc)
            if isinstance(exc, Forbidden) and prompt.chat_id > 0:
                # They blocked the bot meanwhile: their next Answer goes to the group.
                async with runtime.sessionmaker.begin() as session:
                    await staff.close_private_chat(session, prompt.curator_id)
    return asked
