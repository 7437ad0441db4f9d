"""Presence on the card ("✍️ Vera пишет ответ") and takes that lapse during a live salon."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from opsbot.clock import ManualClock
from opsbot.db.models import AuditEntry, Question, QuestionStatus
from opsbot.emulators.sandbox import CURATOR_EN, CURATOR_RU, Sandbox
from opsbot.services import presence
from opsbot.telegram.context import OpsbotApplication
from tests.integration.helpers import (
    bot_messages,
    buttons,
    message_by_id,
    press_and_wait,
    settled,
    wait_for_cards,
    write_answer,
)
from tests.integration.test_nudges import start_salon
from tests.integration.test_private_answers import private_view, starts_the_bot

EDITS = frozenset({"editMessageText", "editMessageReplyMarkup"})
MINUTE = 60.0


def card_edits(sandbox: Sandbox, card: dict[str, Any]) -> int:
    return sum(
        1
        for r in sandbox.telegram.requests
        if r.endpoint in EDITS
        and str(r.params.get("message_id")) == str(card["message_id"])
        and r.status < 400
    )


def card_text(sandbox: Sandbox, card: dict[str, Any]) -> str:
    return str(message_by_id(sandbox, card["message_id"])["text"])


async def question_row(bot: OpsbotApplication) -> Question:
    async with bot.bot_data.sessionmaker.begin() as session:
        found = await session.scalar(select(Question).execution_options(populate_existing=True))
    assert found is not None
    return found


async def vera_drafts(
    sandbox: Sandbox, bot: OpsbotApplication
) -> tuple[dict[str, Any], int, dict[str, Any]]:
    """A question's card at rest, then Vera's draft: the card, its edits before the draft,
    and the preview."""
    sandbox.x.visitor_posts("ivan", "@museum Когда основан музей? #museumsalon")
    [card] = await wait_for_cards(sandbox, 1)
    await settled(bot)
    before = card_edits(sandbox, card)
    preview = await write_answer(sandbox, CURATOR_RU.user_id, card, "В 1872 году.")
    return card, before, preview


async def test_presence_is_shown_while_writing_and_cleared_with_one_edit_each(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    vera = CURATOR_RU.user_id
    card, before, preview = await vera_drafts(sandbox, bot)
    await sandbox.telegram.wait_for(lambda: "✍️ Vera пишет ответ" in card_text(sandbox, card))
    assert card_edits(sandbox, card) == before + 1
    await press_and_wait(sandbox, vera, preview, "Отмена")
    await sandbox.telegram.wait_for(lambda: "Взял(а) Vera" in card_text(sandbox, card))
    assert "пишет" not in card_text(sandbox, card)
    await settled(bot)
    assert card_edits(sandbox, card) == before + 2
    assert (await question_row(bot)).writing_by is None


async def test_posting_ends_presence_in_the_edit_that_shows_the_answer(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    vera = CURATOR_RU.user_id
    card, before, preview = await vera_drafts(sandbox, bot)
    await sandbox.telegram.wait_for(lambda: "пишет ответ" in card_text(sandbox, card))
    await press_and_wait(sandbox, vera, preview, "Опубликовать")
    await sandbox.telegram.wait_for(lambda: "Ответил(а) Vera" in card_text(sandbox, card))
    await settled(bot)
    assert "пишет" not in card_text(sandbox, card)
    assert card_edits(sandbox, card) == before + 2


async def test_an_idle_take_is_warned_in_private_then_returns_to_the_queue(
    sandbox: Sandbox, bot: OpsbotApplication, clock: ManualClock
) -> None:
    boris = CURATOR_EN.user_id
    await starts_the_bot(sandbox, boris)
    await start_salon(sandbox, "/start_salon Вечер 2h")
    sandbox.x.visitor_posts("ivan", "@museum Вопрос? #museumsalon")
    [card] = await wait_for_cards(sandbox, 1)
    await press_and_wait(sandbox, boris, card, "Взять")
    await sandbox.telegram.wait_for(lambda: "Взял(а) Boris" in card_text(sandbox, card))
    taken_at = (await question_row(bot)).taken_at
    assert taken_at is not None
    limit = timedelta(minutes=bot.bot_data.settings.take_minutes)
    warning_due = taken_at + limit - presence.WARNING_LEAD
    # The test clock runs on with real time while the bot works: half a minute early stays
    # early however slow the machine is.
    clock.set(warning_due - timedelta(seconds=30))
    await settled(bot)
    assert not any("goes back to the queue" in m["text"] for m in private_view(sandbox, boris))
    clock.set(warning_due)

    def warning() -> dict[str, Any] | None:
        return next(
            (m for m in private_view(sandbox, boris) if "goes back to the queue" in m["text"]),
            None,
        )

    warned = await sandbox.telegram.wait_for(warning)
    assert "@ivan" in warned["text"] and "in 2 minutes" in warned["text"]
    assert "Keep it" in buttons(warned)
    # Warned first: the card is still Boris's.
    assert "Взял(а) Boris" in card_text(sandbox, card)
    assert (await question_row(bot)).status == QuestionStatus.TAKEN
    clock.advance(presence.WARNING_LEAD.total_seconds())
    await sandbox.telegram.wait_for(
        lambda: "Взять" in buttons(message_by_id(sandbox, card["message_id"]))
    )
    assert "Boris" not in card_text(sandbox, card)
    question = await question_row(bot)
    assert question.status == QuestionStatus.OPEN and question.taken_by is None
    async with bot.bot_data.sessionmaker.begin() as session:
        lapsed = await session.scalar(select(AuditEntry).where(AuditEntry.action == "take_lapsed"))
    assert lapsed is not None and lapsed.actor_id == boris
    # The warning's button, pressed too late, says why.
    query = sandbox.telegram.user_presses(
        boris, boris, warned["message_id"], buttons(warned)["Keep it"]
    )
    await sandbox.telegram.wait_for(lambda: query in sandbox.telegram.callback_answers)
    assert "not taken by you" in sandbox.telegram.callback_answers[query]["text"]


async def test_keep_it_in_the_group_restarts_the_time(
    sandbox: Sandbox, bot: OpsbotApplication, clock: ManualClock
) -> None:
    """Vera never started the bot: she is warned in the group, mentioned; Keep it is hers."""
    vera = CURATOR_RU.user_id
    await start_salon(sandbox, "/start_salon Вечер 2h")
    sandbox.x.visitor_posts("ivan", "@museum Вопрос? #museumsalon")
    [card] = await wait_for_cards(sandbox, 1)
    await press_and_wait(sandbox, vera, card, "Взять")
    limit = bot.bot_data.settings.take_minutes * MINUTE
    lead = presence.WARNING_LEAD.total_seconds()
    clock.advance(limit - lead)

    def warning() -> dict[str, Any] | None:
        return next((m for m in bot_messages(sandbox) if "вернётся в очередь" in m["text"]), None)

    warned = await sandbox.telegram.wait_for(warning)
    assert f"tg://user?id={vera}" in str(warned.get("html"))
    # Someone else's Keep it is refused.
    refused = await press_and_wait(sandbox, CURATOR_EN.user_id, warned, "Оставить за мной")
    assert "not taken by you" in refused
    kept = await press_and_wait(sandbox, vera, warned, "Оставить за мной")
    assert "ещё на 10 мин." in kept
    clock.advance(lead + 1)
    await settled(bot)
    assert (await question_row(bot)).status == QuestionStatus.TAKEN
    assert "Взял(а) Vera" in card_text(sandbox, card)


async def test_a_take_with_a_draft_open_does_not_lapse(
    sandbox: Sandbox, bot: OpsbotApplication, clock: ManualClock
) -> None:
    vera = CURATOR_RU.user_id
    await start_salon(sandbox, "/start_salon Вечер 2h")
    sandbox.x.visitor_posts("ivan", "@museum Вопрос? #museumsalon")
    [card] = await wait_for_cards(sandbox, 1)
    await press_and_wait(sandbox, vera, card, "Взять")
    await write_answer(sandbox, vera, card, "Пишу ответ")
    clock.advance(3 * bot.bot_data.settings.take_minutes * MINUTE)
    await settled(bot)
    question = await question_row(bot)
    assert question.status == QuestionStatus.TAKEN and question.writing_by == vera
    assert not any("вернётся в очередь" in m["text"] for m in bot_messages(sandbox))
