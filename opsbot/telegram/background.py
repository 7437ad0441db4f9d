"""A long-running task owned by the bot: started in post_init, stopped in post_shutdown.

Stopping is polite first: the loop finishes the unit of work in hand (a card sent and
recorded, an answer posted and recorded) and exits; only a loop that overstays the grace
period is cancelled. Cancelling between "Telegram has the card" and "the database knows it"
would make the next start send the card again.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod

from opsbot.clock import Clock, SystemClock

STOP_GRACE_SECONDS = 10.0


class BackgroundLoop(ABC):
    name = "background"

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._resting = False

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def wake(self) -> None:
        self._wake.set()

    @property
    def resting(self) -> bool:
        """Between rounds with nothing asked of it: no unit of work in hand, none woken for."""
        return self._task is not None and self._resting and not self._wake.is_set()

    async def pause(self, seconds: float) -> None:
        """Sleep until woken, stopped, or `seconds` pass on the clock."""
        self._resting = True
        try:
            await self._clock.wait(self._wake, seconds)
        finally:
            self._resting = False
        self._wake.clear()

    def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def _loop(self) -> None:
        while not self.stopping:
            await self._run_once()

    async def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        if self._task is None:
            return
        self._stop.set()
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    @abstractmethod
    async def _run_once(self) -> None:
        """One round of work, then a pause; the loop repeats it until stopped."""
