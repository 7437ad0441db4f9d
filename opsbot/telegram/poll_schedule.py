"""When the bot next reads X: one chain of reads, each scheduling the next at X's pace.

A salon that starts must not wait out the idle interval (minutes) for its first questions, so
`soon()` brings the next read forward. There is only ever one read running or scheduled: a
read asked for while one is in progress runs right after it instead of beside it. Reads keep
a fixed cadence: the next one is due `delay` seconds after the previous one began, so a slow
answer from X does not stretch the interval.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from telegram.ext import JobQueue

JOB_NAME = "x-poll"


class PollSchedule:
    def __init__(
        self,
        jobs: JobQueue[Any],
        read: Callable[[Any], Awaitable[float]],
    ) -> None:
        """`read` reads X once and returns the seconds until the next read."""
        self._jobs = jobs
        self._read = read
        self._running = False
        self._again = False

    def start(self) -> None:
        self._schedule(0.0)

    def soon(self) -> None:
        """Read X now, or right after the read in progress."""
        if self._running:
            self._again = True
            return
        self._schedule(0.0)

    def _schedule(self, delay: float) -> None:
        for job in self._jobs.get_jobs_by_name(JOB_NAME):
            job.schedule_removal()
        self._jobs.run_once(self._run, when=delay, name=JOB_NAME)

    async def _run(self, context: Any) -> None:
        self._running = True
        began = time.monotonic()
        delay = 0.0
        try:
            delay = await self._read(context)
        finally:
            self._running = False
            due = max(0.0, delay - (time.monotonic() - began))
            self._schedule(0.0 if self._again else due)
            self._again = False
