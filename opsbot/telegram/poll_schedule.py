"""When the bot next reads X: one chain of reads, each scheduling the next at X's pace.

A salon that starts must not wait out the idle interval (minutes) for its first questions, so
`soon()` brings the next read forward. There is only ever one read running or scheduled: a
read asked for while one is in progress runs right after it instead of beside it. Reads keep
a fixed cadence: the next one is due `delay` seconds after the previous one began, so a slow
answer from X does not stretch the interval. A stop waits for the read in progress, so nothing
reads X after its client is closed. The cadence is kept on the bot's clock: when
the clock is moved (tests), the read waiting for it is brought forward to its new moment.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from telegram.ext import JobQueue

from opsbot.clock import Clock, SystemClock

JOB_NAME = "x-poll"
STOP_GRACE_SECONDS = 10.0


class PollSchedule:
    def __init__(
        self,
        jobs: JobQueue[Any],
        read: Callable[[Any], Awaitable[float]],
        clock: Clock | None = None,
    ) -> None:
        """`read` reads X once and returns the seconds until the next read."""
        self._jobs = jobs
        self._read = read
        self._clock = clock or SystemClock()
        self._running = False
        self._again = False
        # Reads begun so far: lets a caller tell that the next one has run.
        self.reads = 0
        # The wait the last read asked for (the interval or a back-off), before its own time
        # is taken off: the pace as the bot chose it, without the machine's delays.
        self.last_wait: float | None = None
        # When the scheduled read is due, on the clock's monotonic time.
        self._due: float | None = None
        # Only the latest scheduled read runs: one already handed to the job queue when it was
        # brought forward finds a newer one scheduled and does nothing.
        self._scheduled = 0
        self._stopped = False
        self._idle = asyncio.Event()
        self._idle.set()
        self._clock.watch(self._clock_moved)

    def start(self) -> None:
        self._schedule(0.0)

    def soon(self) -> None:
        """Read X now, or right after the read in progress."""
        if self._running:
            self._again = True
            return
        self._schedule(0.0)

    def due_in(self) -> float | None:
        """Seconds on the clock until the next read; None while one is in progress."""
        if self._running or self._due is None:
            return None
        return max(0.0, self._due - self._clock.monotonic())

    async def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """No more reads; the one in progress, if any, finishes first."""
        self._stopped = True
        self._due = None
        for job in self._jobs.get_jobs_by_name(JOB_NAME):
            job.schedule_removal()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), grace)

    def _schedule(self, delay: float) -> None:
        for job in self._jobs.get_jobs_by_name(JOB_NAME):
            job.schedule_removal()
        if self._stopped:
            return
        self._due = self._clock.monotonic() + delay
        self._scheduled += 1
        self._jobs.run_once(self._run, when=delay, name=JOB_NAME, data=self._scheduled)

    def _clock_moved(self) -> None:
        if self._running or self._due is None or not self._jobs.scheduler.running:
            return
        self._schedule(max(0.0, self._due - self._clock.monotonic()))

    async def _run(self, context: Any) -> None:
        if self._stopped or self._running or context.job.data != self._scheduled:
            return
        self._running = True
        self._idle.clear()
        self.reads += 1
        self._due = None
        began = self._clock.monotonic()
        delay = 0.0
        try:
            delay = await self._read(context)
            self.last_wait = delay
        finally:
            self._running = False
            self._idle.set()
            due = max(0.0, delay - (self._clock.monotonic() - began))
            self._schedule(0.0 if self._again else due)
            self._again = False
