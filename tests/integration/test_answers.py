"""Curators answer from the staff group; each answer reaches X exactly once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from opsbot.clock import ManualClock
from opsbot.db.models import Answer, AuditEntry
from opsbot.emulators.base import Fault
from opsbot.emulators.sandbox import (
    CURATOR_EN,
    CURATOR_RU,
    MODERATOR,
    OUTSIDER,
    STAFF_CHAT_ID,
    Sandbox,
)
from opsbot.services.tweet_length import weighted_length
from opsbot.telegram.context import OpsbotApplication
from tests.integration.helpers import (
    buttons,
    message_by_id,
    press_and_wait,
    settled,
    wait_for_cards,
    write_answer,
)


@pytest.fixture
def x_options() -> dict[str, Any]:
    return {"window_seconds": 3.0}


def replies(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [p for p in sandbox.x.museum_posts() if p.get("in_reply_to_tweet_id")]


async def answers_in_db(bot: OpsbotApplication) -> list[Answer]:
    async with bot.bot_data.sessionmaker.begin() as session:
        return list(await session.scalars(select(Answer).order_by(Answer.id)))


@pytest.mark.parametrize(
    ("curator", "post_label", "answered"),
    [(CURATOR_RU, "Опубликовать", "Ответил(а) Vera"), (CURATOR_EN, "Post", "Ответил(а) Boris")],
    ids=["ru", "en"],
)
async def test_take_answer_post_gives_exactly_one_reply(
    sandbox: Sandbox, bot: OpsbotApplication, curator: Any, post_label: str, answered: str
) -> None:
    question = sandbox.x.visitor_posts("ivan", "@museum Когда основан музей? #museumsalon")
    [card] = await wait_for_cards(sandbox, 1)
    await press_and_wait(sandbox, curator.user_id, card, "Взять")
    preview = await write_answer(sandbox, curator.user_id, card, "В 1872 году.")
    assert "В 1872 году. #museumsalon" in preview["text"]
    assert "/280" in preview["text"]
    assert set(buttons(preview)) >= {post_label}
    await press_and_wait(sandbox, curator.user_id, preview, post_label)
    await sandbox.telegram.wait_for(
        lambda: answered in message_by_id(sandbox, card["message_id"])["text"]
    )
    [reply] = replies(sandbox)
    assert reply["in_reply_to_tweet_id"] == question["id"]
    assert reply["text"].count("#museumsalon") == 1
    card_now = message_by_id(sandbox, card["message_id"])
    assert f"museum/status/{reply['id']}" in card_now["html"]
    assert "В 1872 году." in card_now["text"]
    # Taking the answer back is the only thing left to do on the card.
    assert set(buttons(card_now)) == {"Удалить в X"}
    # The card may be brought up to date by a refresh queued earlier (the Take), before the
    # outbox's own edit of the preview: the preview loses its buttons all the same.
    await sandbox.telegram.wait_for(
        lambda: not buttons(message_by_id(sandbox, preview["message_id"]))
    )


async def test_three_taps_and_two_curators_give_one_reply(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    sandbox.x.visitor_posts("ivan", "@museum Что такое гостиная? #museumsalon")
    [card] = await wait_for_cards(sandbox, 1)
    preview = await write_answer(sandbox, CURATOR_EN.user_id, card, "A salon is a talk.")
    post = buttons(preview)["Post"]
    telegram = sandbox.telegram
    # Three taps by the author and one by a moderator, all before the bot reacts.
    taps = [
        telegram.user_presses(STAFF_CHAT_ID, CURATOR_EN.user_id, preview["message_id"], post)
        for _ in range(3)
    ]
    taps.append(
        telegram.user_presses(STAFF_CHAT_ID, MODERATOR.user_id, preview["message_id"], post)
    )
    await telegram.wait_for(lambda: all(t in telegram.callback_answers for t in taps))
    await telegram.wait_for(lambda: len(replies(sandbox)) == 1)
    await settled(bot)
    assert len(replies(sandbox)) == 1
    texts = [telegram.callback_answers[t]["text"] for t in taps]
    assert sum(t in ("Posting…", "Публикую…") for t in texts) == 1
    assert all(
        t
        in (
            "Posting…",
            "Публикую…",
            "This answer is already being posted.",
            "This answer is already on X.",
            "Этот ответ уже публикуется.",
            "Этот ответ уже опубликован в X.",
        )
        for t in texts
    )


async def test_too_long_answer_is_split_into_a_numbered_thread(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    question = sandbox.x.visitor_posts("ivan", "@museum Расскажите историю здания #museumsalon")
    [card] = await wait_for_cards(sandbox, 1)
    text = " ".join(["История"] * 37)  # 37*8 = 296 weighted characters before the hashtag
    assert weighted_length(text) >= 290
    preview = await write_answer(sandbox, CURATOR_EN.user_id, card, text)
    assert "Post" not in buttons(preview)
    assert "Too long" in preview["text"]
    split_label = next(label for label in buttons(preview) if label.startswith("Split into"))
    await press_and_wait(sandbox, CURATOR_EN.user_id, preview, split_label)
    threaded = await sandbox.telegram.wait_for(
        lambda: (m := message_by_id(sandbox, preview["message_id"])) and "Post" in buttons(m) and m
    )
    await press_and_wait(sandbox, CURATOR_EN.user_id, threaded, "Post")
    await sandbox.telegram.wait_for(lambda: len(replies(sandbox)) == 2, timeout=15)
    first, second = replies(sandbox)
    assert first["in_reply_to_tweet_id"] == question["id"]
    assert second["in_reply_to_tweet_id"] == first["id"]
    assert "(1/2)" in first["text"] and "(2/2)" in second["text"]
    assert all(weighted_length(p["text"]) <= 280 for p in (first, second))


async def test_refusals_on_answers(sandbox: Sandbox, bot: OpsbotApplication) -> None:
    sandbox.x.visitor_posts("ivan", "@museum Вопрос #museumsalon")
    [card] = await wait_for_cards(sandbox, 1)
    preview = await write_answer(sandbox, CURATOR_EN.user_id, card, "Answer one.")
    telegram = sandbox.telegram
    post = buttons(preview)["Post"]
    # Another curator may not post someone else's draft; an outsider may not either.
    vera = telegram.user_presses(STAFF_CHAT_ID, CURATOR_RU.user_id, preview["message_id"], post)
    olga = telegram.user_presses(
        STAFF_CHAT_ID, OUTSIDER.user_id, preview["message_id"], post, forge=True
    )
    forged = telegram.user_presses(
        STAFF_CHAT_ID, CURATOR_EN.user_id, preview["message_id"], "v1:po:99999", forge=True
    )
    await telegram.wait_for(lambda: {vera, olga, forged} <= set(telegram.callback_answers))
    assert (
        telegram.callback_answers[vera]["text"]
        == "Это может сделать только автор ответа или модератор."
    )
    assert (
        telegram.callback_answers[olga]["text"]
        == "Только участники рабочей группы могут это делать."
    )
    assert telegram.callback_answers[forged]["text"] == "This button is not valid any more."
    await press_and_wait(sandbox, CURATOR_EN.user_id, preview, "Post")
    await telegram.wait_for(lambda: len(replies(sandbox)) == 1)
    # A stale Answer button on the answered card, and a stale Post.
    stale = telegram.user_presses(
        STAFF_CHAT_ID, CURATOR_RU.user_id, card["message_id"], buttons(card)["Ответить"], forge=True
    )
    again = telegram.user_presses(
        STAFF_CHAT_ID, CURATOR_EN.user_id, preview["message_id"], post, forge=True
    )
    await telegram.wait_for(lambda: {stale, again} <= set(telegram.callback_answers))
    assert telegram.callback_answers[stale]["text"] == "На этот вопрос уже ответили."
    assert telegram.callback_answers[again]["text"] == "This answer is already on X."
    assert len(replies(sandbox)) == 1
    async with bot.bot_data.sessionmaker.begin() as session:
        refused = list(
            await session.scalars(select(AuditEntry).where(AuditEntry.outcome == "refused"))
        )
    assert len(refused) >= 5


async def test_not_replyable_question_offers_copy_instead_of_post(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    sandbox.x.visitor_posts("kate", "Only the hashtag here #museumsalon")
    [card] = await wait_for_cards(sandbox, 1)
    preview = await write_answer(sandbox, CURATOR_EN.user_id, card, "We can only answer by hand.")
    assert "Post" not in buttons(preview)
    assert "answer by hand" in preview["text"]
    assert "x.com/kate/status/" in preview["html"]
    forged = sandbox.telegram.user_presses(
        STAFF_CHAT_ID,
        CURATOR_EN.user_id,
        preview["message_id"],
        buttons(preview)["Edit"].replace("ed", "po"),
        forge=True,
    )
    await sandbox.telegram.wait_for(lambda: forged in sandbox.telegram.callback_answers)
    assert "answer by hand" in sandbox.telegram.callback_answers[forged]["text"]
    assert replies(sandbox) == []


async def _answer_and_post(
    sandbox: Sandbox, text: str = "Our answer."
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    question = sandbox.x.visitor_posts("ivan", "@museum Q? #museumsalon")
    [card] = await wait_for_cards(sandbox, 1)
    preview = await write_answer(sandbox, CURATOR_EN.user_id, card, text)
    await press_and_wait(sandbox, CURATOR_EN.user_id, preview, "Post")
    return question, card, preview


async def test_x_rate_limit_queues_then_posts_once(
    sandbox: Sandbox, bot: OpsbotApplication, clock: ManualClock
) -> None:
    sandbox.x.inject_fault(Fault(endpoint="createPosts", status=429, count=1))
    _question, card, preview = await _answer_and_post(sandbox)
    queued = await sandbox.telegram.wait_for(
        lambda: "Queued" in message_by_id(sandbox, preview["message_id"])["text"]
    )
    assert queued
    await sandbox.x.wait_for(lambda: bot.bot_data.outbox.resting)
    clock.advance(bot.bot_data.outbox.check_seconds)
    await sandbox.telegram.wait_for(lambda: len(replies(sandbox)) == 1, timeout=20)
    await sandbox.telegram.wait_for(
        lambda: "Ответил(а)" in message_by_id(sandbox, card["message_id"])["text"]
    )
    # Once: nothing more goes out once the outbox has nothing left.
    await settled(bot)
    assert len(replies(sandbox)) == 1
    assert sandbox.x.violations == []


@pytest.mark.parametrize("accepted", [False, True], ids=["lost", "accepted-then-503"])
async def test_x_503_retries_and_never_doubles(
    sandbox: Sandbox, bot: OpsbotApplication, accepted: bool
) -> None:
    bot.bot_data.publisher.retry_backoff = (0.5, 0.5)
    bot.bot_data.outbox.check_seconds = 0.3
    sandbox.x.inject_fault(Fault(endpoint="createPosts", status=503, count=1, accept=accepted))
    _question, card, _preview = await _answer_and_post(sandbox)
    await sandbox.telegram.wait_for(
        lambda: "Ответил(а)" in message_by_id(sandbox, card["message_id"])["text"], timeout=20
    )
    # Never doubled: nothing more goes out once the outbox has nothing left.
    await settled(bot)
    assert len(replies(sandbox)) == 1
    [answer] = await answers_in_db(bot)
    assert answer.status == "posted" and answer.x_post_id == replies(sandbox)[0]["id"]
    # Adopted or posted on a retry, the answer keeps the moment X made it, not the bot's.
    [reply] = replies(sandbox)
    made = datetime.fromisoformat(reply["created_at"].replace("Z", "+00:00"))
    assert answer.x_created_at is not None
    assert abs((answer.x_created_at - made).total_seconds()) <= 0.001


async def test_x_403_duplicate_is_reconciled_not_retried(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    # X kept the post but answered "duplicate" (as a retry of a lost answer would get).
    sandbox.x.inject_fault(
        Fault(
            endpoint="createPosts",
            status=403,
            accept=True,
            description="You are not allowed to create a Tweet with duplicate content.",
        )
    )
    _question, card, _preview = await _answer_and_post(sandbox)
    await sandbox.telegram.wait_for(
        lambda: "Ответил(а)" in message_by_id(sandbox, card["message_id"])["text"]
    )
    # Not retried: nothing more goes out once the outbox has nothing left.
    await settled(bot)
    assert len(replies(sandbox)) == 1
    creates = [r for r in sandbox.x.requests if r.endpoint == "createPosts"]
    assert len(creates) == 1


async def test_x_400_goes_back_to_the_curator(sandbox: Sandbox, bot: OpsbotApplication) -> None:
    sandbox.x.inject_fault(
        Fault(endpoint="createPosts", status=400, description="Your Tweet text is too long.")
    )
    _question, _card, preview = await _answer_and_post(sandbox)
    failed = await sandbox.telegram.wait_for(
        lambda: (
            (m := message_by_id(sandbox, preview["message_id"])) and "Not posted" in m["text"] and m
        )
    )
    assert "Edit" in buttons(failed)
    assert "/280)" in failed["text"]
    assert replies(sandbox) == []
    await settled(bot)
    assert replies(sandbox) == []


async def test_reply_to_the_card_itself_makes_a_draft_and_hide_unhide(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    from tests.integration.helpers import card_recorded, preview_for

    sandbox.x.visitor_posts("ivan", "@museum Где гардероб? #museumsalon")
    [card] = await wait_for_cards(sandbox, 1)
    await card_recorded(bot)
    sent = sandbox.telegram.user_sends(
        STAFF_CHAT_ID, CURATOR_RU.user_id, "Внизу, у входа.", reply_to_message_id=card["message_id"]
    )
    preview = await preview_for(sandbox, sent["message_id"])
    assert "Внизу, у входа. #museumsalon" in preview["text"]
    await sandbox.telegram.wait_for(
        lambda: "Vera" in message_by_id(sandbox, card["message_id"])["text"]
    )
    await press_and_wait(
        sandbox, CURATOR_RU.user_id, message_by_id(sandbox, card["message_id"]), "Скрыть"
    )
    hidden = await sandbox.telegram.wait_for(
        lambda: (
            (m := message_by_id(sandbox, card["message_id"])) and "Скрыл(а) Vera" in m["text"] and m
        )
    )
    assert list(buttons(hidden)) == ["Вернуть из скрытых"]
    # A hidden question's draft cannot be posted.
    stale = sandbox.telegram.user_presses(
        STAFF_CHAT_ID, CURATOR_RU.user_id, preview["message_id"], buttons(preview)["Опубликовать"]
    )
    await sandbox.telegram.wait_for(lambda: stale in sandbox.telegram.callback_answers)
    assert sandbox.telegram.callback_answers[stale]["text"] == "Вопрос скрыт; сначала верните его."
    assert replies(sandbox) == []
    await press_and_wait(sandbox, CURATOR_RU.user_id, hidden, "Вернуть из скрытых")
    await sandbox.telegram.wait_for(
        lambda: "Взять" in buttons(message_by_id(sandbox, card["message_id"]))
    )


async def test_a_second_draft_cannot_post_while_the_first_waits_for_x(
    sandbox: Sandbox, bot: OpsbotApplication, clock: ManualClock
) -> None:
    sandbox.x.inject_fault(Fault(endpoint="createPosts", status=429, count=1))
    _question, card, preview = await _answer_and_post(sandbox, "First answer.")
    await sandbox.telegram.wait_for(
        lambda: "Queued" in message_by_id(sandbox, preview["message_id"])["text"]
    )
    second = await write_answer(sandbox, CURATOR_EN.user_id, card, "Second answer.")
    query = sandbox.telegram.user_presses(
        STAFF_CHAT_ID, CURATOR_EN.user_id, second["message_id"], buttons(second)["Post"]
    )
    await sandbox.telegram.wait_for(lambda: query in sandbox.telegram.callback_answers)
    assert sandbox.telegram.callback_answers[query]["text"] in (
        "Another answer to this question is already being posted.",
        "This question has already been answered.",
    )
    # Past X's window and the outbox's next look, without waiting for either: a move made
    # before the outbox rests again would not cut its pause short.
    await sandbox.x.wait_for(lambda: bot.bot_data.outbox.resting)
    clock.advance(bot.bot_data.outbox.check_seconds)
    await sandbox.telegram.wait_for(lambda: len(replies(sandbox)) == 1, timeout=20)
    await settled(bot)
    assert [r["text"] for r in replies(sandbox)] == ["@ivan First answer. #museumsalon"]


async def test_a_thread_interrupted_after_its_first_part_is_finished(
    sandbox: Sandbox, bot: OpsbotApplication, clock: ManualClock
) -> None:
    question = sandbox.x.visitor_posts("ivan", "@museum Расскажите всё #museumsalon")
    [card] = await wait_for_cards(sandbox, 1)
    preview = await write_answer(sandbox, CURATOR_EN.user_id, card, " ".join(["История"] * 37))
    split_label = next(label for label in buttons(preview) if label.startswith("Split into"))
    await press_and_wait(sandbox, CURATOR_EN.user_id, preview, split_label)
    threaded = await sandbox.telegram.wait_for(
        lambda: (m := message_by_id(sandbox, preview["message_id"])) and "Post" in buttons(m) and m
    )
    # The first part goes out; X's window is spent before the second.
    sandbox.x.inject_fault(Fault(endpoint="createPosts", status=0, count=1))
    sandbox.x.inject_fault(Fault(endpoint="createPosts", status=429, count=1))
    await press_and_wait(sandbox, CURATOR_EN.user_id, threaded, "Post")
    outbox = bot.bot_data.outbox
    await sandbox.x.wait_for(lambda: any(r.status == 429 for r in sandbox.x.requests))
    await sandbox.x.wait_for(lambda: outbox.resting)
    clock.advance(outbox.check_seconds)
    await sandbox.telegram.wait_for(lambda: len(replies(sandbox)) == 2, timeout=20)
    first, second = replies(sandbox)
    assert first["in_reply_to_tweet_id"] == question["id"]
    assert second["in_reply_to_tweet_id"] == first["id"]
    statuses = [r.status for r in sandbox.x.requests if r.endpoint == "createPosts"]
    assert statuses == [201, 429, 201]
    await sandbox.telegram.wait_for(
        lambda: "Ответил(а) Boris" in message_by_id(sandbox, card["message_id"])["text"]
    )
