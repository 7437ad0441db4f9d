"""The manual clock: moved forward only, and a wait on it ends when a move reaches it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from opsbot.clock import ManualClock, SystemClock


async def test_a_move_ends_a_wait_it_reaches_and_not_one_it_does_not() -> None:
    clock = ManualClock()
    event = asyncio.Event()
    far = asyncio.create_task(clock.wait(event, 3600))
    near = asyncio.create_task(clock.sleep(60))
    await asyncio.sleep(0.01)
    clock.advance(30)
    await asyncio.sleep(0.01)
    assert not near.done() and not far.done()
    clock.advance(30)
    await asyncio.wait_for(near, 1)
    assert not far.done()
    event.set()
    assert await asyncio.wait_for(far, 1) is True


async def test_a_wait_still_ends_on_real_time() -> None:
    clock = ManualClock()
    assert await asyncio.wait_for(clock.wait(asyncio.Event(), 0.05), 1) is False


def test_now_monotonic_and_timestamp_move_together() -> None:
    clock = ManualClock()
    before = (clock.now(), clock.monotonic(), clock.timestamp())
    clock.advance(90)
    after = (clock.now(), clock.monotonic(), clock.timestamp())
    assert after[0] - before[0] >= timedelta(seconds=90)
    assert after[1] - before[1] >= 90
    assert after[2] - before[2] >= 90
    assert after[0].tzinfo is not None


def test_set_moves_forward_only() -> None:
    start = datetime(2027, 1, 1, 12, 0, tzinfo=UTC)
    clock = ManualClock(start)
    assert abs(clock.now() - start) < timedelta(seconds=1)
    moved: list[bool] = []
    clock.watch(lambda: moved.append(True))
    clock.set(start + timedelta(days=1))
    assert moved and clock.now() >= start + timedelta(days=1)
    with pytest.raises(ValueError, match="forward"):
        clock.set(start)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)


def test_the_system_clock_is_aware_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)
