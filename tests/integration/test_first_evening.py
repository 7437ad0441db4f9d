"""The first evening at a real museum: questions at once, no burst after a restart, no idle edits,
answers under the visitor's hashtag."""

from __future__ import annotations

import time
from typing import Any

import pytest

from opsbot.clock import ManualClock
from opsbot.emulators.sandbox import CURATOR_EN, MODERATOR, STAFF_CHAT_ID, Sandbox
from opsbot.runtime import running
from opsbot.services.tweet_length import weighted_length
from opsbot.settings import Settings
from opsbot.telegram.context import OpsbotApplication
from opsbot.telegram.poll_schedule import JOB_NAME
from opsbot.telegram.ratelimit import PacedRateLimiter
from tests.integration.helpers import (
    buttons,
    message_by_id,
    press_and_wait,
    settled,
    wait_for_cards,
    write_answer,
)


def seconds_to_next_read(bot: OpsbotApplication) -> float | None:
    assert bot.job_queue is not None
    jobs = [job for job in bot.job_queue.get_jobs_by_name(JOB_NAME) if job.next_t is not None]
    if len(jobs) != 1:
        return None
    next_t = jobs[0].next_t
    assert next_t is not None
    return next_t.timestamp() - time.time()


class TestRealPollIntervals:
    @pytest.fixture
    def bot_overrides(self) -> dict[str, Any]:
        # The real intervals: a salon that starts must not wait out five idle minutes.
        return {"poll_idle_seconds": 300.0, "poll_live_seconds": 3.0}

    async def test_starting_a_salon_reads_x_at_once_and_ending_it_slows_down(
        self, sandbox: Sandbox, bot: OpsbotApplication
    ) -> None:
        await _salon_reads_at_once(sandbox, bot)


async def _salon_reads_at_once(sandbox: Sandbox, bot: OpsbotApplication) -> None:
    telegram = sandbox.telegram
    # The first read at start has happened once the next one waits the idle interval.
    await telegram.wait_for(lambda: (seconds_to_next_read(bot) or 0) > 200)
    sandbox.x.visitor_posts("ivan", "@museum Когда открыли музей? #museumsalon")
    telegram.user_sends(STAFF_CHAT_ID, MODERATOR.user_id, "/start_salon Кремль 60m")
    # Far short of the five idle minutes, with room for a loaded machine.
    [card] = await wait_for_cards(sandbox, 1, timeout=15.0)
    assert "Когда открыли музей?" in card["text"]
    await telegram.wait_for(lambda: 0 < (seconds_to_next_read(bot) or 0) <= 3)

    telegram.user_sends(STAFF_CHAT_ID, MODERATOR.user_id, "/end_salon")
    await telegram.wait_for(lambda: (seconds_to_next_read(bot) or 0) > 200)


class TestLongFloodWindow:
    @pytest.fixture
    def telegram_options(self) -> dict[str, Any]:
        # A window long enough that a restart happens inside it.
        return {"group_limit": (20, 20.0), "global_limit": (30, 1.0)}

    async def test_a_restart_mid_salon_keeps_to_the_group_limit(
        self, sandbox: Sandbox, settings: Settings, clock: ManualClock
    ) -> None:
        await _restart_keeps_to_the_limit(sandbox, settings, clock)


async def _restart_keeps_to_the_limit(
    sandbox: Sandbox, settings: Settings, clock: ManualClock
) -> None:
    limited = settings.model_copy(
        update={"telegram_group_rate": 20, "telegram_group_period": 20.0, "poll_live_seconds": 0.3}
    )
    for n in range(15):
        sandbox.x.visitor_posts(f"early{n}", f"@museum Вопрос {n} #museumsalon")
    async with running(limited, poll_timeout=1, clock=clock):
        await wait_for_cards(sandbox, 15)
    for n in range(15):
        sandbox.x.visitor_posts(f"late{n}", f"@museum Ещё вопрос {n} #museumsalon")
    async with running(limited, poll_timeout=1, clock=clock) as bot:
        # Telegram's window still holds the first fifteen: the late cards wait for it to pass.
        limiter = bot.bot.rate_limiter
        assert isinstance(limiter, PacedRateLimiter)
        await sandbox.telegram.wait_for(lambda: limiter.holding > 0)
        clock.advance(limited.telegram_group_period)
        await wait_for_cards(sandbox, 30)
    assert [r for r in sandbox.telegram.requests if r.status == 429] == []


def card_edits(sandbox: Sandbox, card: dict[str, Any]) -> int:
    return sum(
        1
        for r in sandbox.telegram.requests
        if r.endpoint.startswith("editMessage")
        and int(r.params.get("message_id", 0)) == card["message_id"]
    )


async def test_drafts_do_not_edit_an_unchanged_card(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    sandbox.x.visitor_posts("ivan", "@museum Что такое гостиная? #museumsalon")
    [card] = await wait_for_cards(sandbox, 1)
    await press_and_wait(sandbox, CURATOR_EN.user_id, card, "Взять")
    await sandbox.telegram.wait_for(lambda: card_edits(sandbox, card) == 1)
    first = await write_answer(sandbox, CURATOR_EN.user_id, card, "A salon is a talk.")
    # The first draft shows who is writing: one edit.
    await sandbox.telegram.wait_for(lambda: card_edits(sandbox, card) == 2)
    second = await write_answer(sandbox, CURATOR_EN.user_id, card, "A salon is a conversation.")
    assert first["message_id"] != second["message_id"]
    await settled(bot)
    # A second draft by the same curator changes nothing on the card.
    assert card_edits(sandbox, card) == 2
    await press_and_wait(sandbox, CURATOR_EN.user_id, second, "Post")
    await sandbox.telegram.wait_for(
        lambda: "Ответил(а) Boris" in message_by_id(sandbox, card["message_id"])["text"]
    )
    await settled(bot)
    assert card_edits(sandbox, card) == 3


async def test_answers_carry_the_hashtag_the_visitor_used(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    sandbox.x.visitor_posts("ivan", "@museum Расскажите историю здания #музейнаягостиная")
    [card] = await wait_for_cards(sandbox, 1)
    short = await write_answer(sandbox, CURATOR_EN.user_id, card, "Короткий ответ.")
    assert "Короткий ответ. #музейнаягостиная" in short["text"]
    assert "#museumsalon" not in short["text"]

    long_text = " ".join(["История"] * 37)
    preview = await write_answer(sandbox, CURATOR_EN.user_id, card, long_text)
    split_label = next(label for label in buttons(preview) if label.startswith("Split into"))
    await press_and_wait(sandbox, CURATOR_EN.user_id, preview, split_label)
    threaded = await sandbox.telegram.wait_for(
        lambda: (m := message_by_id(sandbox, preview["message_id"])) and "Post" in buttons(m) and m
    )
    await press_and_wait(sandbox, CURATOR_EN.user_id, threaded, "Post")
    await sandbox.telegram.wait_for(
        lambda: len([p for p in sandbox.x.museum_posts() if p.get("in_reply_to_tweet_id")]) == 2,
        timeout=15,
    )
    parts = [p for p in sandbox.x.museum_posts() if p.get("in_reply_to_tweet_id")]
    assert all("#музейнаягостиная" in p["text"] for p in parts), parts
    assert not any("#museumsalon" in p["text"] for p in parts), parts
    # X puts the visitor's handle before a reply's text and does not count it.
    assert all(weighted_length(p["text"].removeprefix("@ivan ")) <= 280 for p in parts)


async def test_a_mention_without_hashtag_is_answered_under_the_first_one(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    sandbox.x.visitor_posts("ivan", "@museum Когда основан музей?")
    [card] = await wait_for_cards(sandbox, 1)
    preview = await write_answer(sandbox, CURATOR_EN.user_id, card, "В 1872 году.")
    assert "В 1872 году. #museumsalon" in preview["text"]
