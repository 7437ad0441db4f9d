"""Signatures, saved replies, the queue, and Telegram's own quirks around cards."""

from __future__ import annotations

from typing import Any

from opsbot.clock import ManualClock
from opsbot.emulators.base import Fault
from opsbot.emulators.sandbox import CURATOR_EN, CURATOR_RU, STAFF_CHAT_ID, Sandbox
from opsbot.telegram.context import OpsbotApplication
from tests.integration.helpers import (
    bot_messages,
    buttons,
    card_recorded,
    cards,
    message_by_id,
    next_attempt,
    press_and_wait,
    wait_for_cards,
    write_answer,
)


async def said(sandbox: Sandbox, text: str) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        return next((m for m in bot_messages(sandbox) if text in m["text"]), None)

    found.__name__ = f"bot_said_{text[:20]!r}"
    return await sandbox.telegram.wait_for(found)  # type: ignore[no-any-return]


async def test_signature_and_saved_reply(sandbox: Sandbox, bot: OpsbotApplication) -> None:
    telegram = sandbox.telegram
    boris = CURATOR_EN.user_id
    telegram.user_sends(STAFF_CHAT_ID, boris, "/signature Boris, curator")
    await said(sandbox, "Your answers will be signed: Boris, curator")
    telegram.user_sends(
        STAFF_CHAT_ID, boris, "/template add Thank you, {handle}! We will answer after the salon."
    )
    await said(sandbox, "Saved reply 1 added.")
    telegram.user_sends(STAFF_CHAT_ID, boris, "/template add")
    await said(sandbox, "Usage: /template add TEXT or /template remove NUMBER")
    telegram.user_sends(STAFF_CHAT_ID, boris, "/templates")
    await said(sandbox, "1. Thank you, {handle}!")

    sandbox.x.visitor_posts("ivan", "@museum Long question #museumsalon")
    [card] = await wait_for_cards(sandbox, 1)
    await press_and_wait(sandbox, boris, card, "Ответить")
    offer = await said(sandbox, "Or use a saved reply:")
    [label] = buttons(offer)
    await press_and_wait(sandbox, boris, offer, label)
    preview = await said(sandbox, "Answer to @ivan")
    assert (
        "Thank you, @ivan! We will answer after the salon.\n— Boris, curator #museumsalon"
        in preview["text"]
    )
    await press_and_wait(sandbox, boris, preview, "Post")
    await sandbox.x.wait_for(lambda: len(sandbox.x.museum_posts()) == 1)
    assert "— Boris, curator #museumsalon" in sandbox.x.museum_posts()[0]["text"]


async def test_queue_and_mine(sandbox: Sandbox, bot: OpsbotApplication) -> None:
    for n in range(3):
        sandbox.x.visitor_posts(f"v{n}", f"@museum question {n} <tag> #museumsalon")
    found = await wait_for_cards(sandbox, 3)
    await press_and_wait(sandbox, CURATOR_RU.user_id, found[1], "Взять")
    sandbox.telegram.user_sends(STAFF_CHAT_ID, CURATOR_RU.user_id, "/queue")
    queue = await said(sandbox, "неотвеченных вопроса")
    assert "question 1 <tag> #museumsalon — Vera" in queue["text"]
    sandbox.telegram.user_sends(STAFF_CHAT_ID, CURATOR_RU.user_id, "/mine")
    mine = await said(sandbox, "Вы взяли 1 вопрос:")
    assert "question 1" in mine["text"] and "question 0" not in mine["text"]


async def test_deleted_card_gets_a_new_message(sandbox: Sandbox, bot: OpsbotApplication) -> None:
    sandbox.x.visitor_posts("ivan", "@museum Q #museumsalon")
    [card] = await wait_for_cards(sandbox, 1)
    await card_recorded(bot)
    await bot.bot.delete_message(STAFF_CHAT_ID, card["message_id"])
    query = sandbox.telegram.user_presses(
        STAFF_CHAT_ID, CURATOR_EN.user_id, card["message_id"], buttons(card)["Взять"], forge=True
    )
    await sandbox.telegram.wait_for(lambda: query in sandbox.telegram.callback_answers)
    [new_card] = await sandbox.telegram.wait_for(lambda: cards(sandbox) or None)
    assert new_card["message_id"] != card["message_id"]
    assert "Boris" in new_card["text"]


async def test_x_refusing_keys_on_post_tells_the_group_once(
    sandbox: Sandbox, bot: OpsbotApplication, clock: ManualClock
) -> None:
    sandbox.x.inject_fault(Fault(endpoint="createPosts", status=401, count=3))
    sandbox.x.visitor_posts("ivan", "@museum Q #museumsalon")
    [card] = await wait_for_cards(sandbox, 1)
    preview = await write_answer(sandbox, CURATOR_EN.user_id, card, "An answer.")
    await press_and_wait(sandbox, CURATOR_EN.user_id, preview, "Post")
    # Three refusals, each retried when the bot's wait for the keys is over.
    for refused in (1, 2, 3):
        await sandbox.x.wait_for(
            lambda n=refused: sum(r.status == 401 for r in sandbox.x.requests) >= n
        )
        await next_attempt(bot, clock)
    await sandbox.x.wait_for(lambda: len(sandbox.x.museum_posts()) == 1, timeout=20)
    told = [m for m in bot_messages(sandbox) if "X не дал опубликовать" in m["text"]]
    assert len(told) == 1
    await sandbox.telegram.wait_for(
        lambda: "Ответил(а) Boris" in message_by_id(sandbox, card["message_id"])["text"]
    )
