"""The answer dialogue in a curator's private chat with the bot, and the way there.

Why the group's Answer stays a callback button rather than a t.me deep-link URL button: only a
callback press tells the bot at once who pressed, so the take is recorded (and a colleague
refused) before anything else, and the bot knows whether it may write to that person. A bot
may write to a person only after they started it (403 "bot can't initiate conversation"),
which a URL button cannot find out. So a curator with a private chat gets the prompt there
and the press is answered with the deep link t.me/<bot>?start=a<question>, which Telegram's
apps open: the private chat with the bot. A curator without one gets the group's prompt,
with, once, the link that starts the bot.

The staff group sees one edit per answer: the card, once the answer is on X. Presence
("✍️ Anna is writing") is shown on the card only if the dialogue outlasts `TAKEN_CARD_DELAY`
(colleagues are refused by the bot anyway; the card is for those who look), and its end only
if it was shown. That later edit is a job in memory: a restart forgets it, and the card
catches up when the answer is posted.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import cast

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import Forbidden

from opsbot.db.models import Question
from opsbot.i18n import Html, Translator
from opsbot.services import answers, staff, templates
from opsbot.telegram import take_lapse
from opsbot.telegram.callback_data import Action, pack
from opsbot.telegram.card_updates import refresh_card
from opsbot.telegram.cards import shorten
from opsbot.telegram.context import OpsbotContext, Runtime
from opsbot.telegram.prompts import send_prompt

log = logging.getLogger(__name__)

MAX_TEMPLATE_BUTTONS = 5
TAKEN_CARD_DELAY = timedelta(seconds=90)
# The start payload of the deep link for one question: "a" and its id (Telegram allows
# 1-64 characters of A-Z, a-z, 0-9, _ and -).
_PAYLOAD = re.compile(r"a([0-9]{1,9})")
HINT_PAYLOAD = "answers"


def deep_link(bot_username: str, payload: str) -> str:
    return f"https://t.me/{bot_username}?start={payload}"


def answer_payload(question_id: int) -> str:
    return f"a{question_id}"


def question_of_payload(payload: str) -> int | None:
    match = _PAYLOAD.fullmatch(payload)
    return int(match.group(1)) if match else None


def hint(bot_username: str, _: Translator) -> Html:
    """The one-time note under a group prompt: how to answer in private from now on."""
    return Html(
        "\n\n"
        + _(
            "💡 You can write your answers in a private chat with me, without filling the "
            'group: open <a href="{link}">the bot</a> and press Start.',
            link=Html(deep_link(bot_username, HINT_PAYLOAD)),
        )
    )


async def send_saved_replies(
    bot: Bot, runtime: Runtime, question: Question, chat_id: int, _: Translator
) -> None:
    async with runtime.sessionmaker.begin() as session:
        saved = await templates.for_language(session, _.language, MAX_TEMPLATE_BUTTONS)
    if not saved:
        return
    rows = [
        [
            InlineKeyboardButton(
                shorten(template.text, 40),
                callback_data=pack(Action.TEMPLATE, question.id, template.id),
            )
        ]
        for template in saved
    ]
    await bot.send_message(
        chat_id,
        _("Or use a saved reply:"),
        parse_mode=ParseMode.HTML,
        message_thread_id=question.card_thread_id if chat_id < 0 else None,
        reply_markup=InlineKeyboardMarkup(rows),
    )


async def ask_in_private(
    bot: Bot, runtime: Runtime, question: Question, curator_id: int, name: str, _: Translator
) -> bool:
    """The prompt (and saved replies) in the curator's private chat; False if Telegram refuses
    (they never started the bot, or blocked it), and then the bot stops trying there."""
    try:
        await send_prompt(bot, runtime, question, curator_id, name, _, chat_id=curator_id)
        await send_saved_replies(bot, runtime, question, curator_id, _)
    except Forbidden as exc:
        log.info("curator %s cannot be written to in private: %s", curator_id, exc)
        async with runtime.sessionmaker.begin() as session:
            await staff.close_private_chat(session, curator_id)
        return False
    return True


async def asked_already(runtime: Runtime, curator_id: int, question_id: int) -> bool:
    """The curator was asked for this question in private already: the deep link of their
    press only opens the chat (the draft may even be written by the time it arrives)."""
    async with runtime.sessionmaker.begin() as session:
        return await answers.asked_in(session, curator_id, question_id, curator_id)


async def presence_ended(context: OpsbotContext, question_id: int) -> None:
    """The dialogue closed without an answer: the card says so, unless it never showed the
    dialogue (the delayed edit is still due and will show the state of then), and the take,
    idle now, gets its clock."""
    runtime = context.runtime
    if not runtime.timers.pending(_taken_card_job(question_id)):
        await refresh_card(context.bot, runtime, question_id)
    await take_lapse.arm_question(runtime, question_id)


async def show_take_now(context: OpsbotContext, question_id: int) -> None:
    """The card shows the dialogue at once (the group has seen it begin): no later edit."""
    context.runtime.timers.cancel(_taken_card_job(question_id))
    await refresh_card(context.bot, context.runtime, question_id)


def _taken_card_job(question_id: int) -> str:
    return f"taken-card-{question_id}"


def show_take_later(context: OpsbotContext, question_id: int) -> None:
    """Show the take on the card only if the answer is not on X by then (see the module)."""
    runtime = context.runtime
    runtime.timers.run_at(
        _show_take,
        runtime.clock.now() + TAKEN_CARD_DELAY,
        name=_taken_card_job(question_id),
        data=question_id,
    )


async def _show_take(context: OpsbotContext) -> None:
    assert context.job is not None
    question_id = cast(int, context.job.data)
    await refresh_card(context.bot, context.runtime, question_id)
