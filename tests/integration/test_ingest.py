"""Audience questions on X reach the staff group as cards: once, escaped, at Telegram's pace."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from opsbot.clock import ManualClock
from opsbot.db.models import Question, XCursor
from opsbot.emulators.base import Fault
from opsbot.emulators.sandbox import Sandbox
from opsbot.runtime import running
from opsbot.settings import Settings
from opsbot.telegram.context import OpsbotApplication
from tests.integration.helpers import (
    bot_messages,
    buttons,
    cards,
    next_read,
    past_flood_waits,
    read_cards,
    settled,
    wait_for_cards,
)


async def count_questions(bot: OpsbotApplication) -> int:
    async with bot.bot_data.sessionmaker.begin() as session:
        return int(await session.scalar(select(func.count()).select_from(Question)) or 0)


async def test_mention_gives_one_card_and_hashtag_only_is_marked(
    sandbox: Sandbox, bot: OpsbotApplication, clock: ManualClock
) -> None:
    sandbox.x.visitor_posts("ivan", "@museum Когда открыли музей? #museumsalon")
    sandbox.x.visitor_posts("kate", "What is the oldest item? #museumsalon")
    found = await wait_for_cards(sandbox, 2)
    # Later reads see both posts again, from both sources: still one card each.
    await next_read(bot, clock)
    await next_read(bot, clock)
    await settled(bot)
    assert len(cards(sandbox)) == 2
    by_author = {("ivan" if "@ivan" in m["text"] else "kate"): m for m in found}
    # The group's language is OPSBOT_DEFAULT_LANGUAGE (ru): Russian buttons and marks.
    assert set(buttons(by_author["ivan"])) == {"Взять", "Ответить", "Скрыть"}
    assert "Когда открыли музей?" in by_author["ivan"]["text"]
    assert "не даст музею ответить" not in by_author["ivan"]["text"]
    assert "не даст музею ответить" in by_author["kate"]["text"]
    assert "x.com/kate/status/" in by_author["kate"]["html"]


async def test_same_post_from_both_sources_overlapping_polls_and_restart_gives_one_card(
    sandbox: Sandbox, settings: Settings, clock: ManualClock
) -> None:
    # Mentions the museum and carries the hashtag: both sources return it.
    sandbox.x.visitor_posts("ivan", "@museum Вопрос про Кремль #museumsalon")
    async with running(settings, poll_timeout=1) as first:
        await wait_for_cards(sandbox, 1)
        # Overlapping polls: run two by hand at once besides the scheduled ones.
        await asyncio.gather(first.bot_data.poller.poll(), first.bot_data.poller.poll())
        async with first.bot_data.sessionmaker.begin() as session:
            cursors = {c.source: c.since_id for c in await session.scalars(select(XCursor))}
        assert set(cursors) == {"mentions", "search"}
        # Forget the cursors, as if a crash had struck before they were saved.
        async with first.bot_data.sessionmaker.begin() as session:
            for cursor in await session.scalars(select(XCursor)):
                await session.delete(cursor)
    async with running(settings, poll_timeout=1, clock=clock) as second:
        await second.bot_data.poller.poll()
        await next_read(second, clock)
        await settled(second)
        assert await count_questions(second) == 1
    assert len(cards(sandbox)) == 1


async def test_retweets_and_the_museums_own_posts_are_not_questions(
    sandbox: Sandbox, bot: OpsbotApplication, clock: ManualClock
) -> None:
    original = sandbox.x.visitor_posts("ivan", "@museum first #museumsalon")
    sandbox.x.visitor_posts(
        "olga", "RT @ivan: @museum first #museumsalon", retweet_of=original["id"]
    )
    await wait_for_cards(sandbox, 1)
    await bot.bot_data.poller.poll()
    await next_read(bot, clock)
    await settled(bot)
    assert await count_questions(bot) == 1


@pytest.mark.parametrize(
    "text",
    [
        "<b>bold?</b> #museumsalon",
        "AT&amp;T &amp; co #museumsalon",
        "<script>alert(1)</script> #museumsalon",
        "a < b and c > d #museumsalon",
        "שלום, מה שלומך? مرحبا #museumsalon",
        "🏛️👩‍🎨🇷🇺 emoji #museumsalon",
        "x" * 5000 + " #museumsalon",
    ],
    ids=["b-tag", "amp", "script", "lone-lt", "rtl", "emoji", "5000-chars"],
)
async def test_hostile_texts_give_valid_cards(
    sandbox: Sandbox, bot: OpsbotApplication, text: str
) -> None:
    sandbox.x.visitor_posts("mallory", text)
    [card] = await wait_for_cards(sandbox, 1)
    visible = card["text"]
    assert len(visible) <= 4096
    if len(text) < 1000:
        assert text.replace(" #museumsalon", "") in visible
    else:
        assert "…" in visible
    assert buttons(card)


async def test_sixty_questions_in_one_poll_all_arrive_within_the_flood_limit(
    sandbox: Sandbox, bot: OpsbotApplication, clock: ManualClock
) -> None:
    for n in range(60):
        sandbox.x.visitor_posts(f"visitor{n}", f"Question number {n} #museumsalon")

    def shown() -> list[int] | None:
        # In digests of ten while the backlog lasts, then one card each.
        numbers = [
            int(n)
            for m in bot_messages(sandbox)
            for n in re.findall(r"Question number (\d+)", m["text"])
        ]
        return numbers if len(numbers) >= 60 else None

    numbers = await past_flood_waits(bot, clock, shown, timeout=60)
    assert sorted(numbers) == list(range(60))
    assert sandbox.telegram.violations == []
    sends = [
        r for r in sandbox.telegram.requests if r.endpoint == "sendMessage" and r.status == 200
    ]
    times = sorted(r.at for r in sends)
    # No more than 20 in any 2-second window (the scaled-down group limit).
    assert all(times[i + 20] - times[i] >= 2.0 - 0.05 for i in range(len(times) - 20))


@pytest.fixture
def x_options() -> dict[str, Any]:
    # A 3-second rate window, so "wait for the reset" fits in a test.
    return {"window_seconds": 3.0}


async def test_telegram_429_pauses_everything_and_nothing_is_lost(
    sandbox: Sandbox, bot: OpsbotApplication, clock: ManualClock
) -> None:
    sandbox.telegram.inject_fault(Fault(endpoint="sendMessage", status=429, retry_after=2, count=1))
    for n in range(5):
        sandbox.x.visitor_posts(f"v{n}", f"Q{n} #museumsalon")

    def five() -> list[dict[str, Any]] | None:
        found = cards(sandbox)
        return found if len(found) >= 5 else None

    await past_flood_waits(bot, clock, five)
    assert sandbox.telegram.violations == []
    limited = [r for r in sandbox.telegram.requests if r.status == 429]
    assert limited
    after = [
        r for r in sandbox.telegram.requests if r.at > limited[0].at and r.endpoint != "getUpdates"
    ]
    assert after and min(r.at for r in after) >= limited[0].at + 2.0


@pytest.mark.parametrize(
    "fault",
    [
        Fault(endpoint="searchPostsRecent", status=429, count=1),
        Fault(endpoint="searchPostsRecent", status=503, count=2),
        Fault(endpoint="searchPostsRecent", status=0, delay=3.0, count=1),
    ],
    ids=["429", "503", "timeout"],
)
async def test_x_failures_resume_and_lose_nothing(
    sandbox: Sandbox, settings: Settings, clock: ManualClock, fault: Fault
) -> None:
    sandbox.x.inject_fault(fault)
    sandbox.x.visitor_posts("kate", "Hashtag only question #museumsalon")
    impatient = settings.model_copy(update={"x_timeout_seconds": 1.0})
    async with running(impatient, poll_timeout=1, clock=clock) as bot:
        [card] = await read_cards(bot, clock, sandbox, 1, reads=20)
    assert "Hashtag only question" in card["text"]
    assert sandbox.x.violations == []


async def test_cards_waiting_at_shutdown_are_sent_after_restart(
    sandbox: Sandbox, settings: Settings
) -> None:
    sandbox.telegram.inject_fault(Fault(endpoint="sendMessage", status=502, count=1000))
    sandbox.x.visitor_posts("ivan", "@museum Будет ли карточка? #museumsalon")
    async with running(settings, poll_timeout=1) as first:

        async def stored() -> bool:
            return await count_questions(first) == 1

        for _attempt in range(100):
            if await stored():
                break
            await asyncio.sleep(0.1)
        assert await stored()
    assert cards(sandbox) == []
    sandbox.telegram.faults.clear()
    async with running(settings, poll_timeout=1):
        [card] = await wait_for_cards(sandbox, 1)
    assert "Будет ли карточка?" in card["text"]
