"""Nudges while a salon is live: questions the museum may answer on X that nobody has taken for
a while, and, ten minutes before the end, every question still open.

At most one nudge a period per salon: sending one claims the salon's `nudged_at` with a
conditional UPDATE, so two checks at once, or a check just after a restart, send it once.
A question's wait counts from when it was posted on X.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.models import Question, QuestionStatus, Salon, SalonStatus
from opsbot.services import priority

# A check never comes back sooner than this, whatever the clock did.
MIN_RECHECK = timedelta(seconds=5)


def _untaken(salon_id: int) -> list[ColumnElement[bool]]:
    return [
        Question.salon_id == salon_id,
        Question.after_salon.is_(False),
        Question.status == QuestionStatus.OPEN,
        Question.replyable.is_(True),
    ]


async def overdue(session: AsyncSession, salon_id: int, posted_before: datetime) -> list[Question]:
    """The salon's replyable questions nobody has taken, posted before the moment, oldest
    first."""
    query = (
        select(Question)
        .where(*_untaken(salon_id), Question.posted_at <= posted_before)
        .order_by(Question.posted_at, Question.id)
    )
    return list(await session.scalars(query))


async def claim(session: AsyncSession, salon_id: int, now: datetime, period: timedelta) -> bool:
    """True for the one caller that may nudge now: the salon is live and the last nudge is at
    least a period old."""
    result = await session.execute(
        update(Salon)
        .where(
            Salon.id == salon_id,
            Salon.status == SalonStatus.LIVE,
            or_(Salon.nudged_at.is_(None), Salon.nudged_at <= now - period),
        )
        .values(nudged_at=now)
    )
    return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]


async def next_check(
    session: AsyncSession, salon_id: int, now: datetime, period: timedelta
) -> datetime:
    """When a nudge may be due next: the oldest untaken question's period is up, and so is the
    last nudge's. Without such a question, a period from now: a question asked later comes due
    no sooner."""
    oldest = await session.scalar(select(func.min(Question.posted_at)).where(*_untaken(salon_id)))
    if oldest is None:
        return now + period
    due = oldest + period
    nudged_at = await session.scalar(select(Salon.nudged_at).where(Salon.id == salon_id))
    if nudged_at is not None:
        due = max(due, nudged_at + period)
    return max(due, now + MIN_RECHECK)


async def still_open(session: AsyncSession, salon_id: int, vip_followers: int) -> list[Question]:
    """The salon's unanswered questions, taken or not: the priority senders' first, then the
    oldest."""
    query = (
        select(Question)
        .where(
            Question.salon_id == salon_id,
            Question.status.in_([QuestionStatus.OPEN, QuestionStatus.TAKEN]),
        )
        .order_by(
            case((priority.is_priority(vip_followers), 0), else_=1),
            Question.posted_at,
            Question.id,
        )
    )
    return list(await session.scalars(query))
