"""Writes what X billed into the usage ledger, as the gateway sees X answer.

One short transaction per answer that returned something: the count is in the database
before the caller goes on, so a restart loses none of the month's usage; a read is counted
for its salon in the same transaction, so the salon's count never runs ahead of the month's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opsbot.db.models import UsageKind
from opsbot.services import usage


class UsageLedger:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock

    async def __call__(self, kind: UsageKind, count: int) -> None:
        moment = datetime.fromtimestamp(self._clock(), UTC)
        async with self._sessionmaker.begin() as session:
            await usage.add(session, usage.month_of(moment), kind, count)
            await usage.add_for_salon(session, moment, kind, count)
