"""The benchmark's curator follows the bot wherever it leads: a prompt and a preview in the
staff group, or the same dialogue in the curator's private chat with the bot. A scripted bot
on the real python-telegram-bot client plays each flow against the Telegram emulator."""

from __future__ import annotations

import asyncio
import html
from pathlib import Path

import pytest
from telegram import Bot, ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode

from opsbot.bench.curators import Curator
from opsbot.chaos.journal import Journal
from opsbot.emulators.sandbox import CURATOR_EN, STAFF_CHAT_ID, Sandbox
from opsbot.telegram.callback_data import Action, pack


async def _next(bot: Bot, offset: list[int], wanted: str) -> Update:
    """The next update of the kind `wanted` ("callback_query" or "message")."""
    while True:
        for update in await bot.get_updates(offset=offset[0], timeout=1):
            offset[0] = update.update_id + 1
            if wanted == "callback_query" and update.callback_query is not None:
                return update
            if (
                wanted == "message"
                and update.message is not None
                and update.message.text is not None
                and not update.message.text.startswith("/")
            ):
                return update


async def _scripted_bot(bot: Bot, *, private: bool) -> None:
    """Answer → a prompt; the curator's text → a preview with Post; Post → "Posting…"."""
    offset = [0]
    press = (await _next(bot, offset, "callback_query")).callback_query
    assert press is not None
    await press.answer("Reply to my message with the text.")
    who = f'<a href="tg://user?id={CURATOR_EN.user_id}">{html.escape(CURATOR_EN.first_name)}</a>'
    chat = CURATOR_EN.user_id if private else STAFF_CHAT_ID
    await asyncio.sleep(0.2)
    await bot.send_message(
        chat,
        f"✍️ {who}, your answer to @anna?",
        parse_mode=ParseMode.HTML,
        reply_markup=ForceReply(selective=True),
    )
    text = (await _next(bot, offset, "message")).message
    assert text is not None and text.chat.id == chat
    # Telegram takes about one message a second in a private chat.
    await asyncio.sleep(1.1)
    await bot.send_message(
        chat,
        f"📝 {text.text}",
        reply_to_message_id=text.message_id,
        reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton("Post", callback_data=pack(Action.POST, 7))]]
        ),
    )
    post = (await _next(bot, offset, "callback_query")).callback_query
    assert post is not None
    await post.answer("Posting…")


@pytest.mark.parametrize("private", [False, True], ids=["in the group", "in private"])
async def test_the_curator_follows_the_dialogue_and_times_the_preview(
    sandbox: Sandbox, private: bool, tmp_path: Path
) -> None:
    telegram = sandbox.telegram
    journal = Journal(tmp_path / "bench.log", label="BENCH")
    curator = Curator(telegram, CURATOR_EN, STAFF_CHAT_ID, journal)
    curator.open_private_chat()
    bot = Bot(
        sandbox.credentials["telegram_token"],
        base_url=f"{telegram.base_url}/bot",
        base_file_url=f"{telegram.base_url}/file/bot",
    )
    async with bot:
        card = await bot.send_message(
            STAFF_CHAT_ID,
            "❓ @anna: When was the museum founded?",
            reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("Answer", callback_data=pack(Action.ANSWER, 3))]]
            ),
        )
        playing = asyncio.create_task(_scripted_bot(bot, private=private))
        shown = telegram.chat_view(STAFF_CHAT_ID, after=card.message_id - 1)[0]

        answered = await curator.answer("1", shown, "Founded in 1872.", timeout=10)
        posting = await curator.post(answered, timeout=10)
        await asyncio.wait_for(playing, 10)
    journal.close()

    chat = CURATOR_EN.user_id if private else STAFF_CHAT_ID
    assert answered.why == ""
    assert answered.preview_chat == chat
    assert answered.sent and answered.sent[0][0] == chat
    latency = answered.latency()
    # The scripted bot waits 1.3 s in all before its preview; the curator adds no delay.
    assert latency is not None and 1.3 <= latency < 4.0
    assert posting
