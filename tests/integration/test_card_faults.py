"""Nothing lost, nothing twice, nobody stuck: the card queue when Telegram misbehaves.

A card whose answer was lost shows once; a bot removed from the staff group stops knocking,
tells the moderators privately once and resumes when it is back; a salon topic that is closed
or deleted sends its cards to the General chat and the moderators hear of it once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from sqlalchemy import func, select, update

from opsbot.clock import ManualClock
from opsbot.db.models import Question, Salon
from opsbot.emulators.base import Fault
from opsbot.emulators.sandbox import CURATOR_EN, MODERATOR, STAFF_CHAT_ID, Sandbox
from opsbot.runtime import running
from opsbot.settings import Settings
from opsbot.telegram.card_queue import FAILURE_PAUSE_SECONDS
from opsbot.telegram.context import OpsbotApplication
from tests.integration.helpers import (
    bot_messages,
    buttons,
    cards,
    next_read,
    read_cards,
    settled,
    wait_for_cards,
)


async def recorded_cards(bot: OpsbotApplication, count: int) -> dict[str, int]:
    """Wait until `count` questions have a recorded card; question text -> card message id."""
    for _attempt in range(400):
        async with bot.bot_data.sessionmaker.begin() as session:
            rows = (
                await session.execute(
                    select(Question.text, Question.card_message_id).where(
                        Question.card_message_id.is_not(None)
                    )
                )
            ).all()
        if len(rows) >= count:
            return {text: int(message_id) for text, message_id in rows}
        await asyncio.sleep(0.1)
    raise AssertionError(f"{count} cards were never recorded")


async def questions_stored(bot: OpsbotApplication, count: int) -> None:
    for _attempt in range(200):
        async with bot.bot_data.sessionmaker.begin() as session:
            stored = int(await session.scalar(select(func.count()).select_from(Question)) or 0)
        if stored >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{count} questions were never stored")


@pytest.mark.parametrize(
    "fault",
    [
        # Telegram posts the card, then its front end answers 502.
        Fault(endpoint="sendMessage", status=502, accept=True),
        # Telegram posts the card after the client (5 s read timeout) has given up waiting.
        Fault(endpoint="sendMessage", status=0, delay=6.5),
    ],
    ids=["502-after-accepting", "slower-than-the-timeout"],
)
async def test_card_whose_answer_was_lost_shows_once(
    sandbox: Sandbox, bot: OpsbotApplication, clock: ManualClock, fault: Fault
) -> None:
    sandbox.x.visitor_posts("ivan", "@museum First question #museumsalon")
    await read_cards(bot, clock, sandbox, 1)
    await recorded_cards(bot, 1)
    sandbox.telegram.inject_fault(fault)
    sandbox.x.visitor_posts("olga", "@museum Second question #museumsalon")
    await next_read(bot, clock)
    # The card is in the group, its answer lost; past the queue's pause after the failure.
    await wait_for_cards(sandbox, 2)
    await sandbox.telegram.wait_for(lambda: bot.bot_data.cards.resting)
    clock.advance(FAILURE_PAUSE_SECONDS)
    recorded = await recorded_cards(bot, 2)
    second = [c for c in cards(sandbox) if "Second question" in c["text"]]
    assert len(second) == 1
    [card] = second
    assert recorded["@museum Second question #museumsalon"] == card["message_id"]
    # The bot knows where the card is: a press on it shows on it.
    query = sandbox.telegram.user_presses(
        STAFF_CHAT_ID, CURATOR_EN.user_id, card["message_id"], buttons(card)["Взять"]
    )
    await sandbox.telegram.wait_for(lambda: query in sandbox.telegram.callback_answers)
    await sandbox.telegram.wait_for(
        lambda: "Boris" in next(c["text"] for c in cards(sandbox) if "Second" in c["text"])
    )
    assert len(cards(sandbox)) == 2


def private_from_bot(sandbox: Sandbox, user_id: int) -> list[dict[str, Any]]:
    return [m for m in sandbox.telegram.chat_view(user_id) if m["from"]["is_bot"]]


async def test_bot_removed_from_the_group_waits_tells_moderators_once_and_resumes(
    sandbox: Sandbox, bot: OpsbotApplication, caplog: pytest.LogCaptureFixture
) -> None:
    telegram = sandbox.telegram
    anna = MODERATOR.user_id
    boris = CURATOR_EN.user_id
    # The moderator and a curator have started the bot in private: it may write to them there.
    for person in (anna, boris):
        telegram.user_sends(person, person, "/start")
    await telegram.wait_for(
        lambda: len(private_from_bot(sandbox, anna)) == len(private_from_bot(sandbox, boris)) == 1
    )
    caplog.set_level(logging.INFO, logger="opsbot")

    telegram.remove_bot_from_group(STAFF_CHAT_ID, anna)
    sandbox.x.visitor_posts("ivan", "@museum Is anybody there? #museumsalon")
    await telegram.wait_for(lambda: len(private_from_bot(sandbox, anna)) == 2, timeout=20)
    [_hello, notice] = private_from_bot(sandbox, anna)
    assert "удалили из рабочей группы" in notice["text"]
    assert len(private_from_bot(sandbox, boris)) == 1  # curators are not told

    # Another question while the bot is out: it waits in the database too.
    sandbox.x.visitor_posts("olga", "@museum And me? #museumsalon")
    await questions_stored(bot, 2)
    telegram.add_bot_to_group(STAFF_CHAT_ID, anna, status="administrator")
    found = await wait_for_cards(sandbox, 2, timeout=20)
    assert {"Is anybody there?" in c["text"] for c in found} == {True, False}

    refused = [
        r
        for r in telegram.requests
        if r.endpoint == "sendMessage"
        and r.status == 403
        and str(r.params.get("chat_id")) == str(STAFF_CHAT_ID)
    ]
    assert len(refused) <= 1
    await telegram.wait_for(lambda: len(private_from_bot(sandbox, anna)) == 3)
    texts = [m["text"] for m in private_from_bot(sandbox, anna)]
    assert sum("удалили из рабочей группы" in t for t in texts) == 1
    assert "снова в рабочей группе" in texts[-1]
    assert len(private_from_bot(sandbox, boris)) == 1
    warnings = [
        r for r in caplog.records if r.levelno == logging.WARNING and "refuses" in r.getMessage()
    ]
    assert len(warnings) == 1


async def test_bot_back_without_an_update_is_found_by_the_periodic_check(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    telegram = sandbox.telegram
    bot.bot_data.cards.check_seconds = 0.5
    telegram.remove_bot_from_group(STAFF_CHAT_ID, MODERATOR.user_id)
    sandbox.x.visitor_posts("ivan", "@museum Still there? #museumsalon")
    await questions_stored(bot, 1)
    await telegram.wait_for(lambda: bot.bot_data.cards.lost)
    # Put back quietly: no my_chat_member update reaches the bot.
    telegram.add_member(STAFF_CHAT_ID, telegram.bot_id, "administrator")
    [card] = await wait_for_cards(sandbox, 1, timeout=20)
    assert "Still there?" in card["text"]


async def salon_with_topic(bot: OpsbotApplication) -> Salon:
    for _attempt in range(200):
        async with bot.bot_data.sessionmaker.begin() as session:
            salon = await session.scalar(select(Salon).where(Salon.thread_id.is_not(None)))
        if salon is not None and bot.bot_data.live_salon_id == salon.id:
            return salon
        await asyncio.sleep(0.05)
    raise AssertionError("the salon never got its topic")


@pytest.mark.parametrize("forum", [True])
@pytest.mark.parametrize("change", ["close", "delete"])
async def test_salon_topic_closed_or_deleted_sends_cards_to_general_and_says_so_once(
    sandbox: Sandbox, bot: OpsbotApplication, clock: ManualClock, change: str
) -> None:
    telegram = sandbox.telegram
    anna = MODERATOR.user_id
    telegram.user_sends(STAFF_CHAT_ID, anna, "/start_salon Вечер 1h")
    salon = await salon_with_topic(bot)
    assert salon.thread_id is not None
    sandbox.x.visitor_posts("ivan", "@museum In the topic? #museumsalon")
    [first] = await read_cards(bot, clock, sandbox, 1)
    assert first["message_thread_id"] == salon.thread_id
    if change == "close":
        # Administrators who manage topics may still write there; the bot has lost that right.
        telegram.add_member(
            STAFF_CHAT_ID, telegram.bot_id, "administrator", rights={"can_manage_topics": False}
        )
        telegram.close_topic(STAFF_CHAT_ID, salon.thread_id, by_user_id=anna)
    else:
        telegram.delete_topic(STAFF_CHAT_ID, salon.thread_id, by_user_id=anna)

    sandbox.x.visitor_posts("olga", "@museum Where am I now? #museumsalon")
    sandbox.x.visitor_posts("petr", "@museum And me? #museumsalon")
    expected = 3 if change == "close" else 2
    found = await read_cards(bot, clock, sandbox, expected)
    moved = [c for c in found if "In the topic?" not in c["text"]]
    assert len(moved) == 2
    assert all(c["message_thread_id"] is None for c in moved)
    notices = [m for m in bot_messages(sandbox) if "теперь приходят сюда" in m["text"]]
    assert len(notices) == 1
    assert notices[0]["message_thread_id"] is None
    assert f"#{salon.id}" in notices[0]["text"]


async def test_card_sent_but_not_recorded_before_a_crash_is_adopted_not_sent_again(
    sandbox: Sandbox, settings: Settings, clock: ManualClock
) -> None:
    """Telegram answered the card's send and the journal kept it, then the bot died before the
    question recorded its card: the restarted bot adopts that message instead of a second card."""
    sandbox.x.visitor_posts("ivan", "@museum First question #museumsalon")
    sandbox.x.visitor_posts("olga", "@museum Second question #museumsalon")
    async with running(settings, poll_timeout=1, clock=clock) as bot:
        await wait_for_cards(sandbox, 2)
        recorded = await recorded_cards(bot, 2)
        await settled(bot)
    first = recorded["@museum First question #museumsalon"]
    second = recorded["@museum Second question #museumsalon"]
    async with bot.bot_data.sessionmaker.begin() as session:
        # What the kill leaves: the attempt marked with the floor it was made above, no card.
        await session.execute(
            update(Question)
            .where(Question.card_message_id == second)
            .values(card_message_id=None, card_attempt_at=clock.now(), card_after_message_id=first)
        )
    async with running(settings, poll_timeout=1, clock=clock) as bot:
        assert await recorded_cards(bot, 2) == recorded
        await settled(bot)
    assert len(cards(sandbox)) == 2


async def listed_in_digests(bot: OpsbotApplication) -> dict[str, int]:
    """Question text -> the digest message that lists it, as recorded on the questions."""
    async with bot.bot_data.sessionmaker.begin() as session:
        rows = await session.execute(
            select(Question.text, Question.digest_message_id).where(
                Question.digest_message_id.is_not(None)
            )
        )
        return {text: int(message_id) for text, message_id in rows}


async def test_a_digest_sent_but_not_recorded_before_a_crash_is_adopted_not_sent_again(
    sandbox: Sandbox, settings: Settings, clock: ManualClock
) -> None:
    """A backlog goes out in digests; Telegram answered the last one's send and the journal
    kept it, then the bot died before its questions recorded it: the restarted bot lists them
    where they are instead of in a second digest."""
    for n in range(30):
        sandbox.x.visitor_posts(f"v{n}", f"@museum Question {n} #museumsalon")
    async with running(settings, poll_timeout=1, clock=clock) as bot:
        await sandbox.telegram.wait_for(
            lambda: sum(m["text"].count("Question ") for m in digests(sandbox)) >= 30, timeout=60
        )
        await settled(bot)
        listed = await listed_in_digests(bot)
    shown = digests(sandbox)
    assert len(listed) == 30 and len(shown) == 3 and not cards(sandbox)
    last = shown[-1]["message_id"]
    async with bot.bot_data.sessionmaker.begin() as session:
        # What the kill leaves: the send journalled, the digest not recorded on its questions.
        await session.execute(
            update(Question)
            .where(Question.digest_message_id == last)
            .values(digest_message_id=None)
        )
    async with running(settings, poll_timeout=1, clock=clock) as bot:
        await settled(bot)
        assert await listed_in_digests(bot) == listed
    assert digests(sandbox) == shown and not cards(sandbox)


def digests(sandbox: Sandbox) -> list[dict[str, Any]]:
    return sorted(
        (m for m in bot_messages(sandbox) if m["text"].startswith("📥")),
        key=lambda m: m["message_id"],
    )
