"""What the integration tests share: reading the staff chat the way a person does."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from opsbot.db.models import Question
from opsbot.emulators.sandbox import STAFF_CHAT_ID, Sandbox
from opsbot.telegram.context import OpsbotApplication


def cards(sandbox: Sandbox) -> list[dict[str, Any]]:
    """Messages in the staff group that are question cards (they link to a post on X)."""
    return [
        m
        for m in sandbox.telegram.chat_view(STAFF_CHAT_ID)
        if "❓" in m["text"] and "/status/" in str(m.get("html") or "") and m["from"]["is_bot"]
    ]


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """Button label -> callback data."""
    markup = message.get("reply_markup") or {}
    return {
        button["text"]: button["callback_data"]
        for row in markup.get("inline_keyboard", [])
        for button in row
        if "callback_data" in button
    }


async def wait_for_cards(
    sandbox: Sandbox, count: int, timeout: float = 20.0
) -> list[dict[str, Any]]:
    def enough() -> list[dict[str, Any]] | None:
        found = cards(sandbox)
        return found if len(found) >= count else None

    enough.__name__ = f"{count}_cards_in_staff_chat"
    return await sandbox.telegram.wait_for(enough, timeout)  # type: ignore[no-any-return]


def bot_messages(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [m for m in sandbox.telegram.chat_view(STAFF_CHAT_ID) if m["from"]["is_bot"]]


async def press_and_wait(
    sandbox: Sandbox, user_id: int, message: dict[str, Any], label: str
) -> str:
    """Press a button by its label and wait until the bot has answered the press."""
    query = sandbox.telegram.user_presses(
        STAFF_CHAT_ID, user_id, message["message_id"], buttons(message)[label]
    )
    await sandbox.telegram.wait_for(lambda: query in sandbox.telegram.callback_answers)
    return str(sandbox.telegram.callback_answers[query]["text"])


async def write_answer(
    sandbox: Sandbox,
    user_id: int,
    card: dict[str, Any],
    text: str,
    *,
    answer_label: str = "Ответить",
) -> dict[str, Any]:
    """Answer -> the prompt -> the curator's reply -> the preview; returns the preview."""
    seen = {m["message_id"] for m in bot_messages(sandbox)}
    await press_and_wait(sandbox, user_id, card, answer_label)

    def prompt() -> dict[str, Any] | None:
        for m in bot_messages(sandbox):
            markup = m.get("reply_markup") or {}
            if m["message_id"] not in seen and markup.get("force_reply"):
                return m
        return None

    found = await sandbox.telegram.wait_for(prompt)
    sent = sandbox.telegram.user_sends(
        STAFF_CHAT_ID, user_id, text, reply_to_message_id=found["message_id"]
    )
    return await preview_for(sandbox, sent["message_id"])


async def preview_for(sandbox: Sandbox, curator_message_id: int) -> dict[str, Any]:
    def preview() -> dict[str, Any] | None:
        for m in bot_messages(sandbox):
            if m.get("reply_to_message_id") == curator_message_id:
                return m
        return None

    return await sandbox.telegram.wait_for(preview)  # type: ignore[no-any-return]


def message_by_id(sandbox: Sandbox, message_id: int) -> dict[str, Any]:
    return next(
        m for m in sandbox.telegram.chat_view(STAFF_CHAT_ID) if m["message_id"] == message_id
    )


async def card_recorded(bot: OpsbotApplication) -> None:
    """The card is in the chat a moment before the bot has written down where it is."""
    for _attempt in range(100):
        async with bot.bot_data.sessionmaker.begin() as session:
            if await session.scalar(select(Question.card_message_id)):
                return
        await asyncio.sleep(0.05)
    raise AssertionError("the card was never recorded")


def one_card_each(bot: OpsbotApplication) -> None:
    """Cards one by one however long the backlog, for tests that read every card."""
    bot.bot_data.cards.digest_above = 1_000_000
