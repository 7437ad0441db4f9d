"""Only the staff group is served; every press is checked; each person has their language."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from opsbot.db.models import AuditEntry
from opsbot.emulators.sandbox import (
    CURATOR_EN,
    CURATOR_RU,
    MODERATOR,
    OUTSIDER,
    STAFF_CHAT_ID,
    Sandbox,
)
from opsbot.telegram.context import OpsbotApplication
from tests.integration.helpers import buttons, cards, wait_for_cards


async def audit_rows(bot: OpsbotApplication) -> list[AuditEntry]:
    async with bot.bot_data.sessionmaker.begin() as session:
        return list(await session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


async def test_bot_leaves_any_other_group(sandbox: Sandbox, bot: OpsbotApplication) -> None:
    other = -1009999
    sandbox.telegram.add_group(other, "Someone else's chat")
    sandbox.telegram.add_member(other, OUTSIDER.user_id, "creator")
    sandbox.telegram.add_bot_to_group(other, OUTSIDER.user_id, status="member")
    await sandbox.telegram.wait_for(lambda: other in sandbox.telegram.left_chats)
    rows = await audit_rows(bot)
    assert any(r.action == "leave_chat" and str(other) in r.detail for r in rows)
    assert STAFF_CHAT_ID not in sandbox.telegram.left_chats


async def test_commands_registered_in_both_languages(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    def registered() -> bool:
        languages = {language for _scope, language in sandbox.telegram.commands}
        return {"ru", "en"} <= languages

    await sandbox.telegram.wait_for(registered)
    by_language = {language: cmds for (_scope, language), cmds in sandbox.telegram.commands.items()}
    assert by_language["ru"] != by_language["en"]
    assert {c["command"] for c in by_language["ru"]} == {c["command"] for c in by_language["en"]}


async def test_take_release_and_takeover(sandbox: Sandbox, bot: OpsbotApplication) -> None:
    sandbox.x.visitor_posts("ivan", "@museum Who built it? #museumsalon")
    [card] = await wait_for_cards(sandbox, 1)
    take = buttons(card)["Взять"]
    boris, vera, anna = CURATOR_EN.user_id, CURATOR_RU.user_id, MODERATOR.user_id
    q1 = sandbox.telegram.user_presses(STAFF_CHAT_ID, boris, card["message_id"], take)

    def taken_by_boris() -> bool:
        return "Boris" in cards(sandbox)[0]["text"]

    await sandbox.telegram.wait_for(taken_by_boris)
    assert sandbox.telegram.callback_answers[q1]["text"] == "The question is yours."
    # Vera presses the stale Take: she is told who has it, in Russian.
    q2 = sandbox.telegram.user_presses(STAFF_CHAT_ID, vera, card["message_id"], take, forge=True)
    await sandbox.telegram.wait_for(lambda: q2 in sandbox.telegram.callback_answers)
    assert "Boris" in sandbox.telegram.callback_answers[q2]["text"]
    assert sandbox.telegram.callback_answers[q2]["show_alert"]
    # The moderator may take it over.
    q3 = sandbox.telegram.user_presses(STAFF_CHAT_ID, anna, card["message_id"], take, forge=True)
    await sandbox.telegram.wait_for(lambda: "Anna" in cards(sandbox)[0]["text"])
    assert q3 in sandbox.telegram.callback_answers
    rows = await audit_rows(bot)
    assert [r.outcome for r in rows if r.action == "take"] == ["ok", "refused", "ok"]


async def test_refusals_are_polite_and_audited(sandbox: Sandbox, bot: OpsbotApplication) -> None:
    sandbox.x.visitor_posts("ivan", "@museum Hi #museumsalon")
    [card] = await wait_for_cards(sandbox, 1)
    hide = buttons(card)["Скрыть"]
    telegram = sandbox.telegram
    forged = telegram.user_presses(
        STAFF_CHAT_ID, CURATOR_EN.user_id, card["message_id"], "v1:tk:999999", forge=True
    )
    garbage = telegram.user_presses(
        STAFF_CHAT_ID, CURATOR_EN.user_id, card["message_id"], "'; DROP TABLE", forge=True
    )
    outsider = telegram.user_presses(
        STAFF_CHAT_ID, OUTSIDER.user_id, card["message_id"], hide, forge=True
    )
    await telegram.wait_for(lambda: {forged, garbage, outsider} <= set(telegram.callback_answers))
    assert telegram.callback_answers[forged]["text"] == "This question is no longer in the queue."
    assert telegram.callback_answers[garbage]["text"] == "This button is not valid any more."
    assert (
        telegram.callback_answers[outsider]["text"]
        == "Только участники рабочей группы могут это делать."
    )
    rows = await audit_rows(bot)
    refused = [r for r in rows if r.outcome == "refused"]
    assert len(refused) == 3
    assert "Скрыть" in buttons(cards(sandbox)[0])


async def test_language_per_person(sandbox: Sandbox, bot: OpsbotApplication) -> None:
    telegram = sandbox.telegram
    telegram.user_sends(STAFF_CHAT_ID, MODERATOR.user_id, "/language en")
    await telegram.wait_for(
        lambda: any("English" in m["text"] for m in telegram.chat_view(STAFF_CHAT_ID))
    )
    telegram.user_sends(STAFF_CHAT_ID, CURATOR_EN.user_id, "/language xx")
    await telegram.wait_for(
        lambda: any("Usage: /language" in m["text"] for m in telegram.chat_view(STAFF_CHAT_ID))
    )
    telegram.user_sends(STAFF_CHAT_ID, CURATOR_RU.user_id, "/help")
    await telegram.wait_for(
        lambda: any("Я приношу" in m["text"] for m in telegram.chat_view(STAFF_CHAT_ID))
    )
    await asyncio.sleep(0)


async def test_press_before_the_card_is_recorded_still_shows_on_the_card(
    sandbox: Sandbox, bot: OpsbotApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opsbot.services import inbox

    record_card = inbox.record_card

    async def slow_record(*args: Any, **kwargs: Any) -> bool:
        # Widen the moment between "Telegram shows the card" and "the bot knows where it is".
        await asyncio.sleep(1.5)
        return await record_card(*args, **kwargs)

    monkeypatch.setattr(inbox, "record_card", slow_record)
    sandbox.x.visitor_posts("ivan", "@museum Quick! #museumsalon")
    [card] = await wait_for_cards(sandbox, 1)
    query = sandbox.telegram.user_presses(
        STAFF_CHAT_ID, CURATOR_EN.user_id, card["message_id"], buttons(card)["Взять"]
    )
    await sandbox.telegram.wait_for(lambda: query in sandbox.telegram.callback_answers)
    await sandbox.telegram.wait_for(lambda: "Boris" in cards(sandbox)[0]["text"])
