"""The bot's one clock: every part that reads the time or waits for a moment asks it.

Built once with the application and handed down (handlers through `Runtime.clock`, the
outbox and card loops, the X poller, publisher and gateway, the send journal, the poll
schedule). `SystemClock` is the real one. `ManualClock` runs with real time from wherever it
was set and can be moved forward, so a test steps past a retry or a reminder instead of
waiting for it; a wait on it ends as soon as a move reaches its deadline.

Invariants: `now()` is aware UTC; `monotonic()` never goes back; a clock is only moved forward.
Not on this clock: the heartbeats, which `opsbot health` reads from another process on the
system's clock; and network timeouts, which are the HTTP clients' own. The Telegram rate
limiter keeps its windows on this clock too, as Telegram's emulator does in the tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class Clock:
    """The system's time; subclasses may move it."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def timestamp(self) -> float:
        """Seconds since the epoch: how X states its rate-limit resets."""
        return self.now().timestamp()

    def watch(self, moved: Callable[[], None]) -> None:
        """Call `moved` after every move of the clock; the system's never moves."""

    async def sleep(self, seconds: float) -> None:
        await self.wait(asyncio.Event(), seconds)

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        """Wait until `event` is set or `seconds` have passed; True if it was set."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), max(0.0, seconds))
        return event.is_set()


SystemClock = Clock


# How far behind the clock `ManualClock.set` may be asked to go, and stay put instead.
SET_SLACK = 5.0


class ManualClock(Clock):
    """Real time shifted by however far it was moved."""

    def __init__(self, start: datetime | None = None) -> None:
        self._offset = 0.0
        self._moved = asyncio.Event()
        self._watchers: list[Callable[[], None]] = []
        if start is not None:
            self.set(start)

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self._offset)

    def monotonic(self) -> float:
        return time.monotonic() + self._offset

    def timestamp(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock is only moved forward")
        self._offset += seconds
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()
        for watcher in list(self._watchers):
            watcher()

    def set(self, moment: datetime) -> None:
        """Move to `moment` (aware); a moment a little behind (real time ran on since it was
        computed) leaves the clock where it is."""
        seconds = (moment - self.now()).total_seconds()
        if seconds < -SET_SLACK:
            raise ValueError("a clock is only moved forward")
        self.advance(max(0.0, seconds))

    def watch(self, moved: Callable[[], None]) -> None:
        self._watchers.append(moved)

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        deadline = self.monotonic() + seconds
        while not event.is_set():
            left = deadline - self.monotonic()
            if left <= 0:
                break
            moved = self._moved
            waiters = {
                asyncio.ensure_future(event.wait()),
                asyncio.ensure_future(moved.wait()),
            }
            try:
                await asyncio.wait(waiters, timeout=left, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
        return event.is_set()
