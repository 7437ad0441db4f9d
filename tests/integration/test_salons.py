"""A salon from start to draw: commitment, entrants, verification, redraw, restarts."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from opsbot import verify
from opsbot.clock import ManualClock
from opsbot.db.base import utcnow
from opsbot.db.models import Draw, Question, Salon
from opsbot.emulators.sandbox import CURATOR_EN, CURATOR_RU, MODERATOR, STAFF_CHAT_ID, Sandbox
from opsbot.runtime import running
from opsbot.services import lottery
from opsbot.settings import Settings
from opsbot.telegram.context import OpsbotApplication
from tests.integration.helpers import (
    bot_messages,
    cards,
    one_card_each,
    settled,
    wait_for_cards,
)


async def said(
    sandbox: Sandbox, text: str, *, after: int = 0, timeout: float = 10.0
) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        return next(
            (m for m in bot_messages(sandbox) if text in m["text"] and m["message_id"] > after),
            None,
        )

    found.__name__ = f"bot_said_{text[:30]!r}"
    return await sandbox.telegram.wait_for(found, timeout)  # type: ignore[no-any-return]


async def salon_timers_done(bot: OpsbotApplication) -> None:
    """No salon warning or end is scheduled any more (a stop waits for those running), and
    what they asked of the outbox and the card queue has gone out."""
    assert bot.job_queue is not None
    jobs = bot.job_queue
    for _attempt in range(400):
        if not jobs.jobs(r"^salon-"):
            await settled(bot)
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"salon timers still scheduled: {[j.name for j in jobs.jobs()]}")


def last_id(sandbox: Sandbox) -> int:
    return max((m["message_id"] for m in sandbox.telegram.chat_view(STAFF_CHAT_ID)), default=0)


async def command(
    sandbox: Sandbox, user_id: int, text: str, expect: str, timeout: float = 10.0
) -> dict[str, Any]:
    before = last_id(sandbox)
    sandbox.telegram.user_sends(STAFF_CHAT_ID, user_id, text)
    return await said(sandbox, expect, after=before, timeout=timeout)


async def count(bot: OpsbotApplication, model: Any) -> int:
    async with bot.bot_data.sessionmaker.begin() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_scripted_salon_draw_is_fair_and_verifiable(
    sandbox: Sandbox, bot: OpsbotApplication, tmp_path: Path
) -> None:
    anna, boris, vera = MODERATOR.user_id, CURATOR_EN.user_id, CURATOR_RU.user_id
    x = sandbox.x
    # Last month's winner, from an earlier salon's draw.
    old_winner = x.add_user("lucky_lastmo")
    async with bot.bot_data.sessionmaker.begin() as session:
        earlier = Salon(
            topic="Earlier",
            status="ended",
            started_at=utcnow() - timedelta(days=10),
            planned_end_at=utcnow() - timedelta(days=10),
            ended_at=utcnow() - timedelta(days=10),
            secret="00" * 32,
            commitment=lottery.commitment(bytes(32)),
        )
        session.add(earlier)
        await session.flush()
        session.add(
            Draw(
                salon_id=earlier.id,
                drawn_at=utcnow() - timedelta(days=10),
                winners_count=1,
                entrant_hash="x",
                entrants=json.dumps([{"id": old_winner["id"], "handle": "lucky_lastmo"}]),
                ranking=json.dumps([old_winner["id"]]),
                winners=json.dumps([old_winner["id"]]),
                next_reserve=1,
            )
        )
    await command(sandbox, boris, "/xhandle @boris_on_x", "Noted: @boris_on_x")
    await command(sandbox, vera, "/xhandle @vera_on_x", "@vera_on_x")
    await command(sandbox, anna, "/exclude @spam_bot", "@spam_bot")

    start = await command(
        sandbox, anna, "/start_salon Новогодние традиции 2h", "Обязательство розыгрыша"
    )
    commitment = start["text"].split(": ")[-1].strip()
    assert len(commitment) == 64

    # The test counts one card per question.
    one_card_each(bot)
    eligible = [f"guest{n:02d}" for n in range(20)]
    others = ["boris_on_x", "vera_on_x", "spam_bot", "lucky_lastmo"]
    posts = 0
    for n, handle in enumerate(eligible + others):
        x.visitor_posts(handle, f"@museum Вопрос {n} #museumsalon")
        posts += 1
    for n, handle in enumerate(eligible[:15]):
        x.visitor_posts(handle, f"Ещё вопрос {n} #музейнаягостиная")
        posts += 1
    x.visitor_posts("museum", "Добро пожаловать! #museumsalon")  # the museum's own post
    assert posts + 1 == 40
    await wait_for_cards(sandbox, 39, timeout=60)
    assert await count(bot, Question) == 39

    summary = await command(sandbox, anna, "/end_salon", "завершена")
    assert "участников: 24" in summary["text"]
    result = await command(sandbox, anna, "/draw 3 Билеты на выставку", "Победители")
    winners = [line[3:] for line in result["text"].splitlines() if line.startswith("• @")]
    assert len(winners) == 3 and set(winners) <= set(eligible)
    assert commitment in result["text"]

    before = last_id(sandbox)
    sandbox.telegram.user_sends(STAFF_CHAT_ID, anna, "/entrants")
    document = await sandbox.telegram.wait_for(
        lambda: next(
            (
                m
                for m in sandbox.telegram.chat_view(STAFF_CHAT_ID)
                if m["message_id"] > before and m.get("document")
            ),
            None,
        )
    )
    export = tmp_path / document["document"]["filename"]
    export.write_bytes(document["document"]["content"])
    data = json.loads(export.read_text())
    assert {e["handle"] for e in data["entrants"]} == set(eligible)
    assert data["commitment"] == commitment
    assert verify.main([str(export), "--winners", "3"]) == 0
    tampered = tmp_path / "tampered.json"
    data["entrants"] = data["entrants"][1:]
    tampered.write_text(json.dumps(data))
    assert verify.main([str(tampered)]) == 1

    first_reserve = {e["id"]: e["handle"] for e in json.loads(export.read_text())["entrants"]}[
        json.loads(export.read_text())["reserve"][0]
    ]
    redrawn = await command(sandbox, anna, f"/redraw @{winners[0]}", "заменяется")
    assert f"@{first_reserve}" in redrawn["text"]


async def test_two_draws_at_once_store_one_result(sandbox: Sandbox, bot: OpsbotApplication) -> None:
    anna = MODERATOR.user_id
    await command(sandbox, anna, "/start_salon Test 1h", "Обязательство")
    for n in range(5):
        sandbox.x.visitor_posts(f"guest{n}", f"@museum Q{n} #museumsalon")
    await wait_for_cards(sandbox, 5)
    await command(sandbox, anna, "/end_salon", "завершена")
    before = last_id(sandbox)
    sandbox.telegram.user_sends(STAFF_CHAT_ID, anna, "/draw 2")
    sandbox.telegram.user_sends(STAFF_CHAT_ID, anna, "/draw 2")

    def two_results() -> list[dict[str, Any]] | None:
        found = [m for m in bot_messages(sandbox) if m["message_id"] > before and "🎟" in m["text"]]
        return found if len(found) == 2 else None

    first, second = await sandbox.telegram.wait_for(two_results)
    assert first["text"] == second["text"]
    assert await count(bot, Draw) == 1


REFUSALS = {
    "ru": [
        (CURATOR_RU.user_id, "/start_salon Тема", "Это могут делать только модераторы."),
        (MODERATOR.user_id, "/start_salon Тема 1h", "Обязательство розыгрыша"),
        (MODERATOR.user_id, "/start_salon Другая тема", "уже идёт"),
        (MODERATOR.user_id, '/start_salon "Тема" abc', "«abc» — не длительность"),
        (MODERATOR.user_id, "/start_salon Тема 9h", "не больше 4 часов"),
    ],
    "en": [
        (CURATOR_EN.user_id, "/start_salon Topic", "Only moderators can do this."),
        (MODERATOR.user_id, "/start_salon Topic 1h", "Lottery commitment"),
        (MODERATOR.user_id, "/start_salon Another topic", "is already live"),
        (MODERATOR.user_id, '/start_salon "Topic" abc', "“abc” is not a duration"),
        (MODERATOR.user_id, "/start_salon Topic 9h", "at most 4 hours"),
    ],
}


@pytest.mark.parametrize("language", ["ru", "en"])
async def test_start_salon_refusals(
    sandbox: Sandbox, bot: OpsbotApplication, language: str
) -> None:
    await command(sandbox, MODERATOR.user_id, f"/language {language}", "")
    if language == "en":
        # The group speaks Russian; the moderator's own answers and the start card follow them.
        await said(sandbox, "English")
    for user_id, text, expected in REFUSALS[language]:
        if "commitment" in expected.lower() or "Обязательство" in expected:
            expected = "Обязательство розыгрыша"  # the start card is in the group's language
        await command(sandbox, user_id, text, expected)
    async with bot.bot_data.sessionmaker.begin() as session:
        assert int(await session.scalar(select(func.count()).select_from(Salon)) or 0) == 1


@pytest.fixture
def forum() -> bool:
    return True


async def test_restart_mid_salon_resumes_topic_and_timers_once(
    sandbox: Sandbox, settings: Settings, clock: ManualClock
) -> None:
    anna = MODERATOR.user_id
    async with running(settings, poll_timeout=1, clock=clock):
        await command(sandbox, anna, "/start_salon Вечер 1h", "Обязательство")
    # While the bot is down, its salon is nearly over: 5 minutes left, the warning due already.
    async with running(settings, poll_timeout=1, clock=clock) as bot:
        async with bot.bot_data.sessionmaker.begin() as session:
            await session.execute(
                update(Salon).values(planned_end_at=clock.now() + timedelta(minutes=5))
            )
            salon = await session.scalar(select(Salon))
        assert salon is not None and salon.thread_id is not None
    async with running(settings, poll_timeout=1, clock=clock) as bot:
        assert bot.bot_data.live_salon_id == salon.id
        sandbox.x.visitor_posts("ivan", "@museum В какой зал идти? #museumsalon")
        [card] = await wait_for_cards(sandbox, 1)
        assert card["message_thread_id"] == salon.thread_id
        assert "Гостиная #" in card["text"]
        await said(sandbox, "закончится через 10 минут")
        # The end keeps to the bot's clock: five minutes on it, not on the wall.
        assert bot.bot_data.live_salon_id == salon.id
        clock.advance(timedelta(minutes=5).total_seconds())
        await said(sandbox, "завершена", timeout=15)
        await salon_timers_done(bot)
    async with running(settings, poll_timeout=1, clock=clock) as bot:
        # An ended salon arms nothing at start; anything armed would run before the stop.
        await salon_timers_done(bot)
    warnings = [m for m in bot_messages(sandbox) if "закончится через 10 минут" in m["text"]]
    endings = [m for m in bot_messages(sandbox) if "завершена" in m["text"]]
    assert len(warnings) == 1 and len(endings) == 1
    assert all(m["message_thread_id"] == salon.thread_id for m in warnings + endings)
    assert cards(sandbox)
