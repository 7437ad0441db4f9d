"""What the integration tests share: reading the staff chat the way a person does."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import func, select

from opsbot.clock import ManualClock
from opsbot.db.models import Delivery, DeliveryState, Question
from opsbot.emulators.sandbox import STAFF_CHAT_ID, Sandbox
from opsbot.telegram.context import OpsbotApplication
from opsbot.telegram.ratelimit import PacedRateLimiter

T = TypeVar("T")


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


async def settled(bot: OpsbotApplication, timeout: float = 20.0) -> None:
    """Wait until the outbox and the card queue have nothing in hand and nothing left to send
    (a retry due later still counts as left): from then on nothing more happens unless the
    test does something or moves the clock."""
    runtime = bot.bot_data
    deadline = asyncio.get_running_loop().time() + timeout
    while not (await runtime.outbox.settled() and await runtime.cards.settled()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the outbox or the card queue never settled")
        await asyncio.sleep(0.02)


async def read_cards(
    bot: OpsbotApplication, clock: ManualClock, sandbox: Sandbox, count: int, reads: int = 5
) -> list[dict[str, Any]]:
    """`count` cards in the staff chat, bringing on each of the bot's next reads of X by
    moving the clock to it (at X's pace, without waiting for it) until they are there."""
    for _read in range(reads):
        if len(found := cards(sandbox)) >= count:
            return found
        await next_read(bot, clock)
        # What the read brought has gone out, or waits for Telegram (the queue rests either way).
        deadline = asyncio.get_running_loop().time() + 20.0
        while not bot.bot_data.cards.resting:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("the card queue never came to rest")
            await asyncio.sleep(0.02)
    return await wait_for_cards(sandbox, count)


async def next_read(bot: OpsbotApplication, clock: ManualClock, timeout: float = 20.0) -> float:
    """Move the clock to the bot's next read of X and wait until that read is over; returns
    how far the clock moved (the wait the bot chose)."""
    polls = bot.bot_data.polls
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout

    async def read_over() -> float:
        while (due := polls.due_in()) is None:
            if loop.time() > deadline:
                raise AssertionError("the bot never finished reading X")
            await asyncio.sleep(0.02)
        return due

    due = await read_over()
    reads = polls.reads
    clock.advance(due)
    while polls.reads == reads:
        if loop.time() > deadline:
            raise AssertionError("the bot did not read X when its moment came")
        await asyncio.sleep(0.02)
    await read_over()
    return due


async def next_attempt(bot: OpsbotApplication, clock: ManualClock, timeout: float = 20.0) -> None:
    """Once the outbox rests with a post waiting for a later attempt (X's window, a back-off,
    refused keys), move the clock to that attempt and past the outbox's next look."""
    runtime = bot.bot_data
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if runtime.outbox.resting:
            async with runtime.sessionmaker.begin() as session:
                due = await session.scalar(
                    # Tried and waiting: a later part of a thread waits for its first, not
                    # for a moment.
                    select(func.min(Delivery.next_attempt_at)).where(
                        Delivery.state == DeliveryState.PENDING,
                        Delivery.waiting_for.is_not(None),
                    )
                )
            if due is not None and runtime.outbox.resting:
                break
        if loop.time() > deadline:
            raise AssertionError("no post waits in the outbox")
        await asyncio.sleep(0.02)
    gap = (due - clock.now()).total_seconds()
    clock.advance(max(gap, runtime.outbox.check_seconds, 0.0))


async def past_flood_waits(
    bot: OpsbotApplication,
    clock: ManualClock,
    done: Callable[[], T | None],
    *,
    step: float = 0.25,
    timeout: float = 30.0,
) -> T:
    """Wait for `done()`; whenever the bot holds a send back for Telegram's flood windows,
    move the clock on by `step` instead of waiting. Telegram's emulator keeps its windows on
    the same clock, so a send that breaks them is still refused. For one sender at a time
    (the card queue): a send in flight while the clock moves would count in a later window."""
    limiter = bot.bot.rate_limiter
    assert isinstance(limiter, PacedRateLimiter)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (found := done()) is None:
        if loop.time() > deadline:
            raise AssertionError(f"{getattr(done, '__name__', 'the condition')} never held")
        if limiter.holding:
            clock.advance(step)
        await asyncio.sleep(0.005)
    return found


def one_card_each(bot: OpsbotApplication) -> None:
    """Cards one by one however long the backlog, for tests that read every card."""
    bot.bot_data.cards.digest_above = 1_000_000
