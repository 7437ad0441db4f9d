"""Writes the group sends the rate limiter saw to the database, and reads them back on start.

Writing happens beside the send, not inside it, so a slow database never delays a message; a
send made in the instant before a crash may go unrecorded, which costs at most one slot.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opsbot.services import send_journal
from opsbot.telegram.background import STOP_GRACE_SECONDS, BackgroundLoop
from opsbot.telegram.ratelimit import PacedRateLimiter

log = logging.getLogger(__name__)

IDLE_SECONDS = 60.0


class SendJournal(BackgroundLoop):
    name = "send-journal"

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        limiter: PacedRateLimiter,
        *,
        window: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        super().__init__()
        self._sessionmaker = sessionmaker
        self._limiter = limiter
        self._window = window
        self._clock = clock
        self._pending: list[tuple[int, datetime]] = []

    def note(self, chat_id: int) -> None:
        self._pending.append((chat_id, self._clock()))
        self.wake()

    async def load(self) -> None:
        """Tell the limiter what the previous run sent inside the window still open."""
        now = self._clock()
        async with self._sessionmaker.begin() as session:
            sends = await send_journal.recent(session, now=now, window=self._window)
        ages: dict[int, list[float]] = defaultdict(list)
        for chat_id, at in sends:
            ages[chat_id].append(max(0.0, (now - at).total_seconds()))
        for chat_id, chat_ages in ages.items():
            self._limiter.seed(chat_id, chat_ages)
        self._limiter.on_group_send = self.note

    async def _run_once(self) -> None:
        await self.pause(IDLE_SECONDS)
        await self.flush()

    async def flush(self) -> None:
        sends, self._pending = self._pending, []
        try:
            async with self._sessionmaker.begin() as session:
                await send_journal.record(session, sends, window=self._window)
        except Exception:
            log.warning("could not record %d group sends", len(sends), exc_info=True)

    async def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        await super().stop(grace)
        self._limiter.on_group_send = None
        await self.flush()
