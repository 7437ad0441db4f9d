"""Writes each group send the rate limiter saw to the database, and reads them back on start.

The write is awaited before the sender hears Telegram's answer, so a kill right after a send
cannot leave a message of the bot's own unrecorded; only a send whose answer never came is
unknown, and that is what the card queue looks for.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opsbot.services import send_journal
from opsbot.telegram.ratelimit import Pace, PacedRateLimiter

log = logging.getLogger(__name__)

# Long enough to know the previous run's messages after a restart, short enough to stay small.
KEEP = timedelta(hours=1)


class SendJournal:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        limiter: PacedRateLimiter,
        *,
        window: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessionmaker = sessionmaker
        self._limiter = limiter
        self._window = window
        self._clock = clock

    async def note(self, chat_id: int, message_id: int | None, pace: Pace | None) -> None:
        try:
            async with self._sessionmaker.begin() as session:
                await send_journal.record(
                    session,
                    chat_id,
                    message_id,
                    self._clock(),
                    keep=max(KEEP, self._window),
                    card_of=pace.card_of if pace is not None else None,
                    listed=pace.listed if pace is not None else (),
                )
        except Exception:
            log.warning("could not record a send to chat %s", chat_id, exc_info=True)

    async def load(self) -> list[tuple[int, int]]:
        """Tell the limiter what the previous run sent inside the window still open; return
        (chat id, message id) of the bot's own recent messages."""
        now = self._clock()
        async with self._sessionmaker.begin() as session:
            sends = await send_journal.recent(session, now=now, window=max(KEEP, self._window))
        ages: dict[int, list[float]] = defaultdict(list)
        for chat_id, at, _message_id in sends:
            age = (now - at).total_seconds()
            if age < self._window.total_seconds():
                ages[chat_id].append(max(0.0, age))
        for chat_id, chat_ages in ages.items():
            self._limiter.seed(chat_id, chat_ages)
        self._limiter.on_group_send = self.note
        return [(chat_id, message_id) for chat_id, _at, message_id in sends if message_id]

    async def digests(self, chat_id: int) -> list[tuple[int, list[int]]]:
        """The recent digests in the chat: (message id, the questions each listed)."""
        async with self._sessionmaker.begin() as session:
            return await send_journal.digests_sent(
                session, chat_id, now=self._clock(), window=max(KEEP, self._window)
            )

    def stop(self) -> None:
        self._limiter.on_group_send = None
