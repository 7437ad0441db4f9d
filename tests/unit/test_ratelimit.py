"""The limiter's pause after a 429 holds even while other requests finish (PTB issue 5338)."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import pytest
from telegram.error import RetryAfter

from opsbot.telegram.ratelimit import BACKGROUND, BotStopping, Pace, PacedRateLimiter

GROUP = {"chat_id": -100123}


class FakeTelegram:
    """Answers the first call with a 1 s flood wait; records when each call started."""

    def __init__(self) -> None:
        self.starts: list[float] = []
        self.limited_at: float | None = None

    async def call(self, delay: float) -> dict[str, Any]:
        now = time.monotonic()
        self.starts.append(now)
        if self.limited_at is None:
            self.limited_at = now
            raise RetryAfter(timedelta(seconds=1))
        await asyncio.sleep(delay)
        return {"ok": True}


async def _burst(limiter: Any, fake: FakeTelegram) -> None:
    async def request(delay: float) -> None:
        await limiter.process_request(fake.call, (delay,), {}, "sendMessage", GROUP, None)

    first = asyncio.create_task(request(0))
    await asyncio.sleep(0.01)
    # In-flight requests finishing during the pause: the trigger of the upstream bug.
    await asyncio.gather(first, *(request(0.05 * n) for n in range(1, 6)))


async def test_no_request_starts_inside_retry_after() -> None:
    fake = FakeTelegram()
    await _burst(PacedRateLimiter(group_rate=100, group_period=1, global_rate=100), fake)
    assert fake.limited_at is not None
    inside = [t for t in fake.starts[1:] if t < fake.limited_at + 1.0]
    assert inside == []
    assert len(fake.starts) == 7


async def test_group_window_paces_sends() -> None:
    limiter = PacedRateLimiter(group_rate=3, group_period=0.5, global_rate=100)
    starts: list[float] = []

    async def call() -> bool:
        starts.append(time.monotonic())
        return True

    await asyncio.gather(
        *(limiter.process_request(call, (), {}, "sendMessage", GROUP, None) for _ in range(9))
    )
    starts.sort()
    assert all(starts[i + 3] - starts[i] >= 0.5 - 0.01 for i in range(len(starts) - 3))


async def test_private_chats_and_reads_skip_the_group_window() -> None:
    limiter = PacedRateLimiter(group_rate=1, group_period=10, global_rate=100)
    calls = 0

    async def call() -> bool:
        nonlocal calls
        calls += 1
        return True

    await limiter.process_request(call, (), {}, "sendMessage", GROUP, None)
    await asyncio.wait_for(
        asyncio.gather(
            limiter.process_request(call, (), {}, "sendMessage", {"chat_id": 42}, None),
            limiter.process_request(call, (), {}, "getChat", GROUP, None),
        ),
        1.0,
    )
    assert calls == 3


async def test_people_go_before_the_card_backlog() -> None:
    """Fifteen queued cards and then one preview: the preview takes the next free slot."""
    limiter = PacedRateLimiter(group_rate=5, group_period=0.5, global_rate=100)
    order: list[str] = []

    async def call(label: str) -> bool:
        order.append(label)
        return True

    async def send(label: str, pace: Pace | None) -> None:
        await limiter.process_request(call, (label,), {}, "sendMessage", GROUP, pace)

    cards = [asyncio.create_task(send(f"card{n}", BACKGROUND)) for n in range(15)]
    await asyncio.sleep(0.01)
    await asyncio.gather(send("preview", None), *cards)
    # The backlog may use 3 of the 5 slots of the first window; the preview takes the 4th.
    assert order.index("preview") == 3
    assert sorted(order) == sorted(["preview", *(f"card{n}" for n in range(15))])


async def test_a_private_chat_gets_about_one_message_a_second() -> None:
    limiter = PacedRateLimiter(global_rate=100, private_rate=1, private_period=0.3)
    starts: dict[int, list[float]] = {42: [], 43: []}

    async def call(chat: int) -> bool:
        starts[chat].append(time.monotonic())
        return True

    await asyncio.gather(
        *(
            limiter.process_request(call, (chat,), {}, "sendMessage", {"chat_id": chat}, None)
            for chat in (42, 43, 42, 43, 42)
        )
    )
    assert all(b - a >= 0.3 - 0.01 for a, b in zip(starts[42], starts[42][1:], strict=False))
    # Each person's chat has its own window: the first messages to both went at once.
    assert abs(starts[42][0] - starts[43][0]) < 0.1


async def test_closing_turns_away_waiting_sends_and_lets_the_one_in_flight_finish() -> None:
    limiter = PacedRateLimiter(group_rate=1, group_period=60, global_rate=100)
    release = asyncio.Event()
    calls: list[str] = []

    async def call(name: str) -> dict[str, Any]:
        calls.append(name)
        if name == "in flight":
            await release.wait()
            return {"ok": True}
        raise RetryAfter(timedelta(seconds=60))

    def send(name: str, chat: dict[str, Any], pace: Pace | None) -> asyncio.Task[Any]:
        return asyncio.create_task(
            limiter.process_request(call, (name,), {}, "sendMessage", chat, pace)
        )

    in_flight = send("in flight", GROUP, None)
    await asyncio.sleep(0.01)
    for_the_window = send("for the window", GROUP, BACKGROUND)
    flooded = send("flooded", {"chat_id": 42}, None)
    after_the_flood = send("after the flood", {"chat_id": 43}, None)
    # Each reaches its wait without blocking on anything else.
    await asyncio.sleep(0.05)
    assert limiter.holding == 3
    started = time.monotonic()
    limiter.close()
    for waiting in (for_the_window, after_the_flood):
        with pytest.raises(BotStopping):
            await waiting
    with pytest.raises(BotStopping):
        await flooded
    assert time.monotonic() - started < 1.0
    assert calls == ["in flight", "flooded"]
    release.set()
    assert await in_flight == {"ok": True}
    with pytest.raises(BotStopping):
        await send("after closing", {"chat_id": 44}, None)
