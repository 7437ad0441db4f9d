"""Delete on X: an answered card takes its answer back, once, through the outbox."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from opsbot.clock import ManualClock
from opsbot.db.models import Answer, AnswerStatus, AuditEntry, Question, QuestionStatus
from opsbot.emulators.base import Fault
from opsbot.emulators.sandbox import CURATOR_EN, CURATOR_RU, MODERATOR, Sandbox
from opsbot.services import deletions
from opsbot.telegram.context import OpsbotApplication
from tests.integration.helpers import (
    buttons,
    message_by_id,
    next_attempt,
    press_and_wait,
    settled,
    wait_for_cards,
    write_answer,
)

DELETE = "Удалить в X"
YES = "Да, удалить в X"
NO = "Нет, оставить"


def replies(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [p for p in sandbox.x.museum_posts() if p.get("in_reply_to_tweet_id")]


def card_now(sandbox: Sandbox, card: dict[str, Any]) -> dict[str, Any]:
    return message_by_id(sandbox, card["message_id"])


async def answered_card(sandbox: Sandbox, text: str = "В 1872 году.") -> dict[str, Any]:
    """Vera answers a question on X; the answered card."""
    sandbox.x.visitor_posts("ivan", "@museum Когда основан музей? #museumsalon")
    [card] = await wait_for_cards(sandbox, 1)
    preview = await write_answer(sandbox, CURATOR_RU.user_id, card, text)
    await press_and_wait(sandbox, CURATOR_RU.user_id, preview, "Опубликовать")
    await sandbox.telegram.wait_for(lambda: DELETE in buttons(card_now(sandbox, card)))
    return card


async def delete(sandbox: Sandbox, user_id: int, card: dict[str, Any]) -> None:
    """Delete on X, then Yes."""
    await press_and_wait(sandbox, user_id, card_now(sandbox, card), DELETE)
    asked = await sandbox.telegram.wait_for(
        lambda: YES in buttons(card_now(sandbox, card)) and card_now(sandbox, card)
    )
    assert NO in buttons(asked)
    await press_and_wait(sandbox, user_id, asked, YES)


async def back_in_the_queue(sandbox: Sandbox, card: dict[str, Any]) -> None:
    await sandbox.telegram.wait_for(lambda: "Взять" in buttons(card_now(sandbox, card)))
    assert "Ответил(а)" not in card_now(sandbox, card)["text"]


async def rows(bot: OpsbotApplication, model: Any) -> list[Any]:
    async with bot.bot_data.sessionmaker.begin() as session:
        return list(
            await session.scalars(
                select(model).order_by(model.id).execution_options(populate_existing=True)
            )
        )


async def test_a_moderator_deletes_an_answer_and_the_card_returns_to_the_queue(
    sandbox: Sandbox, bot: OpsbotApplication, clock: ManualClock
) -> None:
    card = await answered_card(sandbox)
    [reply] = replies(sandbox)
    # Moderators may any time.
    clock.advance(3600)
    await delete(sandbox, MODERATOR.user_id, card)
    await back_in_the_queue(sandbox, card)
    assert replies(sandbox) == []
    deletes = [r for r in sandbox.x.requests if r.endpoint == "deletePosts"]
    assert [(r.params["id"], r.status) for r in deletes] == [(reply["id"], 200)]
    [question] = await rows(bot, Question)
    assert question.status == QuestionStatus.OPEN and question.taken_by is None
    [answer] = await rows(bot, Answer)
    assert answer.status == AnswerStatus.DELETED
    audit = [e for e in await rows(bot, AuditEntry) if e.action == "deleted_on_x"]
    assert len(audit) == 1 and "В 1872 году." in audit[0].detail
    assert audit[0].actor_id == MODERATOR.user_id
    # The question can be answered again.
    preview = await write_answer(sandbox, CURATOR_EN.user_id, card_now(sandbox, card), "1872.")
    await press_and_wait(sandbox, CURATOR_EN.user_id, preview, "Post")
    await sandbox.telegram.wait_for(lambda: "Ответил(а) Boris" in card_now(sandbox, card)["text"])
    assert len(replies(sandbox)) == 1


async def test_no_keeps_the_answer(sandbox: Sandbox, bot: OpsbotApplication) -> None:
    card = await answered_card(sandbox)
    await press_and_wait(sandbox, MODERATOR.user_id, card_now(sandbox, card), DELETE)
    asked = await sandbox.telegram.wait_for(
        lambda: NO in buttons(card_now(sandbox, card)) and card_now(sandbox, card)
    )
    assert "Ответ остаётся" in await press_and_wait(sandbox, MODERATOR.user_id, asked, NO)
    await sandbox.telegram.wait_for(lambda: DELETE in buttons(card_now(sandbox, card)))
    await settled(bot)
    assert len(replies(sandbox)) == 1
    assert not [r for r in sandbox.x.requests if r.endpoint == "deletePosts"]


async def test_a_stranger_and_a_late_curator_are_refused_with_the_reason(
    sandbox: Sandbox, bot: OpsbotApplication, clock: ManualClock
) -> None:
    card = await answered_card(sandbox)
    refused = await press_and_wait(sandbox, CURATOR_EN.user_id, card_now(sandbox, card), DELETE)
    assert refused == "Only a moderator can delete someone else's answer."
    clock.advance(deletions.CURATOR_WINDOW.total_seconds() + 1)
    refused = await press_and_wait(sandbox, CURATOR_RU.user_id, card_now(sandbox, card), DELETE)
    assert "в течение 10 мин." in refused and "модератор" in refused
    await settled(bot)
    assert len(replies(sandbox)) == 1
    assert DELETE in buttons(card_now(sandbox, card))
    refusals = [e for e in await rows(bot, AuditEntry) if e.action == "delete_on_x"]
    assert [(e.actor_id, e.outcome, e.detail) for e in refusals] == [
        (CURATOR_EN.user_id, "refused", "not_yours"),
        (CURATOR_RU.user_id, "refused", "too_late"),
    ]


async def test_the_curator_takes_back_their_own_answer_within_ten_minutes(
    sandbox: Sandbox, bot: OpsbotApplication, clock: ManualClock
) -> None:
    card = await answered_card(sandbox)
    clock.advance(deletions.CURATOR_WINDOW.total_seconds() - 60)
    await delete(sandbox, CURATOR_RU.user_id, card)
    await back_in_the_queue(sandbox, card)
    assert replies(sandbox) == []


async def test_a_deletion_whose_answer_was_lost_is_asked_again_and_counts_as_done(
    sandbox: Sandbox, bot: OpsbotApplication, clock: ManualClock
) -> None:
    card = await answered_card(sandbox)
    # X deletes the post, but its answer never arrives.
    sandbox.x.inject_fault(Fault(endpoint="deletePosts", status=503, accept=True))
    await delete(sandbox, MODERATOR.user_id, card)
    await sandbox.telegram.wait_for(lambda: replies(sandbox) == [])
    await next_attempt(bot, clock)
    await back_in_the_queue(sandbox, card)
    deletes = [r for r in sandbox.x.requests if r.endpoint == "deletePosts"]
    # Asked again; X says it no longer has the post, and that is done.
    assert [r.status for r in deletes] == [503, 200]
    [answer] = await rows(bot, Answer)
    assert answer.status == AnswerStatus.DELETED
    await settled(bot)
    assert len([r for r in sandbox.x.requests if r.endpoint == "deletePosts"]) == 2


async def test_a_thread_is_deleted_part_by_part(sandbox: Sandbox, bot: OpsbotApplication) -> None:
    long_text = " ".join(["Музей основан в 1872 году по указу императора."] * 12)
    sandbox.x.visitor_posts("ivan", "@museum Когда основан музей? #museumsalon")
    [card] = await wait_for_cards(sandbox, 1)
    preview = await write_answer(sandbox, CURATOR_RU.user_id, card, long_text)
    await press_and_wait(sandbox, CURATOR_RU.user_id, preview, split_label(preview))
    posted = await sandbox.telegram.wait_for(
        lambda: (
            "Опубликовать" in buttons(message_by_id(sandbox, preview["message_id"]))
            and message_by_id(sandbox, preview["message_id"])
        )
    )
    await press_and_wait(sandbox, CURATOR_RU.user_id, posted, "Опубликовать")
    await sandbox.telegram.wait_for(lambda: DELETE in buttons(card_now(sandbox, card)))
    assert len(sandbox.x.museum_posts()) >= 2
    await delete(sandbox, MODERATOR.user_id, card)
    await back_in_the_queue(sandbox, card)
    assert sandbox.x.museum_posts() == []
    parts = await rows(bot, Answer)
    assert len(parts) >= 2 and {p.status for p in parts} == {AnswerStatus.DELETED}


def split_label(preview: dict[str, Any]) -> str:
    return next(label for label in buttons(preview) if label.startswith("Разбить"))
