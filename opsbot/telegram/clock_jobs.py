"""One-shot jobs due at a moment on the bot's clock, not after a delay on the system's.

PTB's job queue counts delays on the system's time, so a job armed for 19:50 would not fire
when the clock is moved there (tests). Each job here remembers its moment; when the clock is
moved, every job still waiting is armed again for what is left of its wait. A job fires at
most once per arming: one that was armed again or cancelled finds itself replaced and does
nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telegram.ext import Job, JobQueue

from opsbot.clock import Clock

Callback = Callable[[Any], Awaitable[None]]


@dataclass
class _Due:
    moment: datetime
    callback: Callback
    data: object
    job: Job[Any] | None = None


class ClockJobs:
    def __init__(self, jobs: JobQueue[Any], clock: Clock) -> None:
        self._jobs = jobs
        self._clock = clock
        self._due: dict[str, _Due] = {}
        clock.watch(self._clock_moved)

    def run_at(self, callback: Callback, moment: datetime, *, name: str, data: object) -> None:
        """Run `callback` at `moment` on the clock (at once if it is past); `data` is the
        job's data, as with `JobQueue.run_once`. Replaces a job of the same name."""
        self.cancel(name)
        self._due[name] = _Due(moment, callback, data)
        self._arm(name)

    def cancel(self, name: str) -> None:
        due = self._due.pop(name, None)
        if due is not None and due.job is not None:
            due.job.schedule_removal()

    def pending(self, name: str) -> bool:
        return name in self._due

    def due(self, name: str) -> datetime | None:
        """The moment the job of that name is due, None when none waits (or it is running)."""
        waiting = self._due.get(name)
        return waiting.moment if waiting is not None else None

    def _arm(self, name: str) -> None:
        due = self._due[name]
        if due.job is not None:
            due.job.schedule_removal()
        delay = max(0.0, (due.moment - self._clock.now()).total_seconds())
        due.job = self._jobs.run_once(self._fire, when=delay, name=name, data=due.data)

    def _clock_moved(self) -> None:
        if not self._jobs.scheduler.running:
            return
        for name in list(self._due):
            self._arm(name)

    async def _fire(self, context: Any) -> None:
        job: Job[Any] = context.job
        name = job.name or ""
        due = self._due.get(name)
        if due is None or due.job is not job:
            return  # armed again or cancelled after this one was handed to the queue
        del self._due[name]
        await due.callback(context)
