"""The emulator's private chats with the bot: Start and its deep-link payload, the per-chat
flood limit, and what the bot hears when a person blocks and unblocks it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot
from telegram.error import Forbidden, RetryAfter

from opsbot.emulators.telegram import TelegramEmulator
from tests.emulators.test_telegram_emulator import TOKEN, Clock

ANNA, BORIS = 101, 102


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def emu(clock: Clock) -> AsyncIterator[TelegramEmulator]:
    emulator = TelegramEmulator(token=TOKEN, clock=clock)
    emulator.add_user(ANNA, "Anna")
    emulator.add_user(BORIS, "Boris", language_code="en")
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


@pytest.fixture
async def bot(emu: TelegramEmulator) -> AsyncIterator[Bot]:
    client = Bot(TOKEN, base_url=f"{emu.base_url}/bot")
    async with client:
        yield client


async def test_a_deep_link_sends_start_with_its_payload(emu: TelegramEmulator, bot: Bot) -> None:
    with pytest.raises(Forbidden, match="bot can't initiate conversation with a user"):
        await bot.send_message(ANNA, "hello?")
    emu.user_starts_bot(ANNA, "a123_x-Y")
    [update] = await bot.get_updates(timeout=0)
    assert update.message is not None and update.message.text == "/start a123_x-Y"
    assert update.message.chat.type == "private"
    assert [(e.type, e.offset, e.length) for e in update.message.entities] == [
        ("bot_command", 0, 6)
    ]
    assert (await bot.send_message(ANNA, "hello")).chat.id == ANNA


@pytest.mark.parametrize("payload", ["", "a b", "x" * 65, "привет", "a+b"])
def test_a_payload_telegram_would_not_open_is_refused(emu: TelegramEmulator, payload: str) -> None:
    with pytest.raises(ValueError, match="start payload"):
        emu.user_starts_bot(ANNA, payload)


async def test_one_message_a_second_to_a_private_chat(
    emu: TelegramEmulator, bot: Bot, clock: Clock
) -> None:
    emu.user_starts_bot(ANNA)
    emu.user_starts_bot(BORIS)
    await bot.send_message(ANNA, "one")
    # Another person's chat has its own window.
    await bot.send_message(BORIS, "one")
    with pytest.raises(RetryAfter):
        await bot.send_message(ANNA, "two")
    clock.advance(1.0)
    await bot.send_message(ANNA, "two, after the pause")
    assert [m["text"] for m in emu.chat_view(ANNA) if m["from"]["is_bot"]] == [
        "one",
        "two, after the pause",
    ]


async def test_blocking_and_unblocking_are_told_to_the_bot(emu: TelegramEmulator, bot: Bot) -> None:
    emu.user_starts_bot(ANNA)
    emu.user_blocks_bot(ANNA)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(ANNA, "still there?")
    emu.user_starts_bot(ANNA)
    updates = await bot.get_updates(timeout=0)
    changes = [u.my_chat_member for u in updates if u.my_chat_member is not None]
    assert [(c.old_chat_member.status, c.new_chat_member.status) for c in changes] == [
        ("member", "kicked"),
        ("kicked", "member"),
    ]
    assert (await bot.send_message(ANNA, "welcome back")).chat.id == ANNA
