"""How long the bot was down, and how many questions arrived on X meanwhile.

The gap runs from the previous run's newest heartbeat to this run's start; shorter gaps than
DOWNTIME_NOTICE are an ordinary restart and not worth a word.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.models import Question

DOWNTIME_NOTICE = timedelta(minutes=10)


@dataclass(frozen=True)
class Gap:
    start: datetime
    end: datetime

    @property
    def length(self) -> timedelta:
        return self.end - self.start


def find_gap(
    beats: Mapping[str, datetime], now: datetime, threshold: timedelta = DOWNTIME_NOTICE
) -> Gap | None:
    """The time nobody was minding the bot, if long enough to tell; None on a first start."""
    if not beats:
        return None
    last = max(beats.values())
    return Gap(last, now) if now - last > threshold else None


async def questions_in(session: AsyncSession, gap: Gap) -> int:
    """Questions posted on X within the gap (by X's time, not when the bot read them)."""
    count = await session.scalar(
        select(func.count())
        .select_from(Question)
        .where(Question.posted_at >= gap.start, Question.posted_at < gap.end)
    )
    return int(count or 0)
