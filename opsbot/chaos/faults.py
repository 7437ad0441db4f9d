"""X failing now and then: about one call in ten answers with a fault instead of the real thing.

The injector watches the X emulator's request log and, for each call the bot made, decides
with the run's seeded generator whether the next call to that endpoint fails, and how:

- a 5xx at once (X is down for a moment);
- a timeout: the answer is held back past the bot's `OPSBOT_X_TIMEOUT_SECONDS`, after which
  X either carries the call out anyway or fails it;
- accepted, then a 5xx: X did it (the post exists) but the answer was lost.

Posting gets faults twice as often as reading: it has far fewer calls, and each one matters.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from dataclasses import dataclass

from opsbot.chaos.journal import Journal
from opsbot.emulators.base import Fault
from opsbot.emulators.x import XEmulator

TICK = 0.2
WRITES = frozenset({"createPosts", "getUsersPosts"})


@dataclass(frozen=True)
class FaultPlan:
    rate: float
    # The bot's own timeout for X calls; a held-back answer outlasts it.
    x_timeout: float


class XFaults:
    def __init__(self, x: XEmulator, rng: random.Random, plan: FaultPlan, journal: Journal) -> None:
        self._x = x
        self._rng = rng
        self._plan = plan
        self._journal = journal
        self._seen = 0
        self._injected: list[tuple[Fault, str]] = []

    def served(self) -> Counter[str]:
        """Faults that a call actually received, by kind."""
        waiting = {id(fault) for fault in self._x.faults.faults}
        return Counter(kind for fault, kind in self._injected if id(fault) not in waiting)

    def calls(self) -> int:
        return sum(1 for request in self._x.requests if request.endpoint != "unknown")

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            requests = self._x.requests
            for request in requests[self._seen :]:
                if request.endpoint == "unknown":
                    continue
                rate = self._plan.rate * (2.0 if request.endpoint in WRITES else 1.0)
                if self._rng.random() < rate:
                    self._inject(request.endpoint)
            self._seen = len(requests)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), TICK)

    def _inject(self, endpoint: str) -> None:
        held = self._plan.x_timeout + self._rng.uniform(0.5, 1.5)
        kind = self._rng.choices(["5xx", "timeout", "accepted-then-5xx"], weights=[5, 3, 2])[0]
        if kind == "5xx":
            fault = Fault(endpoint=endpoint, status=self._rng.choice([500, 502, 503, 504]))
        elif kind == "timeout":
            # Half of the held-back calls are carried out after all, as X sometimes does.
            status = self._rng.choice([0, 503])
            fault = Fault(endpoint=endpoint, status=status, delay=held)
            kind = "timeout-then-done" if status == 0 else "timeout-then-503"
        else:
            fault = Fault(endpoint=endpoint, status=503, accept=True)
        self._x.inject_fault(fault)
        self._injected.append((fault, kind))
        self._journal(f"X fault armed for the next {endpoint}: {kind}")

    def clear(self) -> None:
        """The end of the run: faults nobody received are withdrawn."""
        self._x.faults.clear()
