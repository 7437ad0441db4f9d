"""When the bot dies: half of the kills within a second after a Post press, the rest at random
moments of the evening (a quarter of those whether or not the bot has finished starting).

After a Post press the bot claims the answer, tells the curator "Posting…", posts to X and
records it: a kill in that second lands anywhere in between. Kill times and choices come from
the run's seeded generator, so a run with the same seed makes the same decisions (the
interleaving with the bot's own timing still varies a little from run to run).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time

from opsbot.chaos.bot import BotProcess
from opsbot.chaos.journal import Journal

READY_TIMEOUT = 60.0
AFTER_POST = "within a second after a Post press"
AT_RANDOM = "at a random moment"


class Killer:
    def __init__(
        self,
        bot: BotProcess,
        rng: random.Random,
        journal: Journal,
        *,
        random_kills: int,
        post_kills: int,
        span: float,
    ) -> None:
        self._bot = bot
        self._rng = rng
        self._journal = journal
        # Seconds after the start of play, spread over the audience's time.
        self._times = sorted(rng.uniform(0.08, 0.92) * span for _ in range(random_kills))
        self.post_kills_left = post_kills
        # Set while no kill is under way: one kill at a time, each of a running bot.
        self._idle = asyncio.Event()
        self._idle.set()
        self._hurried = asyncio.Event()
        self._pending: set[asyncio.Task[None]] = set()

    def after_post_press(self, answers_left: int) -> None:
        """A curator pressed Post: maybe kill the bot within the next second."""
        if self.post_kills_left <= 0 or not self._idle.is_set() or not self._bot.is_ready():
            return
        # Spread over the answers still to come, so the budget is spent by the last one.
        if self._rng.random() >= self.post_kills_left / max(1, answers_left):
            return
        self.post_kills_left -= 1
        self._idle.clear()
        task = asyncio.create_task(self._kill_soon(self._rng.uniform(0.0, 1.0)))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _kill_soon(self, delay: float) -> None:
        try:
            await asyncio.sleep(delay)
            await self._bot.kill(f"{AFTER_POST}, {delay:.2f}s after it")
        finally:
            self._idle.set()

    async def at_random(self, started: float) -> None:
        """The random kills, each at its planned time (or as soon after as the bot allows)."""
        while self._times:
            wait = started + self._times[0] - time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._hurried.wait(), max(0.0, wait))
            self._times.pop(0)
            await self._random_kill()

    def hurry(self) -> None:
        """The play is over: the random kills not made yet are made now, one after another."""
        self._hurried.set()

    async def _random_kill(self) -> None:
        await self._idle.wait()
        self._idle.clear()
        try:
            if self._rng.random() >= 0.25:
                # Most kills hit a bot at work; a quarter hit it wherever it is, even starting.
                await self._bot.wait_ready(READY_TIMEOUT)
                await asyncio.sleep(self._rng.uniform(0.0, 1.5))
            await self._bot.kill(AT_RANDOM)
        finally:
            self._idle.set()

    async def finish(self) -> None:
        """Wait for a kill that a Post press has just set off."""
        if self._pending:
            await asyncio.gather(*self._pending)

    def post_kills_pending(self) -> bool:
        return self.post_kills_left > 0 or bool(self._pending)
