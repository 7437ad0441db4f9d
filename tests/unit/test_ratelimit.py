"""The limiter's pause after a 429 holds even while other requests finish (PTB issue 5338)."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter

from opsbot.telegram.ratelimit import BACKGROUND, Pace, PacedRateLimiter

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
