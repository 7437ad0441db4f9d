"""Who is writing an answer, and takes that lapse when nobody is.

A curator's answer dialogue is open from the prompt until the answer is posted or cancelled
(`writing_by`); the card shows it. A question taken with no dialogue open is idle from
`taken_at`: during a live salon it is handed back to the queue after the configured minutes,
its holder warned once before (`take_warned_at`). Every step is a conditional UPDATE that
matches only the holder's take, still idle, so a press racing the clock wins or loses whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.models import Question, QuestionStatus

# How long before the lapse its holder is warned.
WARNING_LEAD = timedelta(minutes=2)


@dataclass(frozen=True)
class IdleTake:
    question_id: int
    holder_id: int
    taken_at: datetime
    warned: bool


def _idle(question_id: int, holder_id: int) -> ColumnElement[bool]:
    return and_(
        Question.id == question_id,
        Question.status == QuestionStatus.TAKEN,
        Question.taken_by == holder_id,
        Question.writing_by.is_(None),
    )


async def _changed(session: AsyncSession, where: ColumnElement[bool], **values: object) -> bool:
    result = await session.execute(update(Question).where(where).values(**values))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def start_writing(session: AsyncSession, question_id: int, curator_id: int) -> None:
    await _changed(
        session,
        and_(
            Question.id == question_id,
            Question.status.in_([QuestionStatus.OPEN, QuestionStatus.TAKEN]),
        ),
        writing_by=curator_id,
    )


async def stop_writing(
    session: AsyncSession, question_id: int, curator_id: int, now: datetime
) -> bool:
    """The curator's dialogue closed without an answer on X: a take they still hold is idle
    from now on."""
    return await _changed(
        session,
        and_(Question.id == question_id, Question.writing_by == curator_id),
        writing_by=None,
        taken_at=now,
        take_warned_at=None,
    )


async def start_take_clock(
    session: AsyncSession, question_id: int, holder_id: int, now: datetime
) -> bool:
    """The holder took the question, or kept it: the idle time counts from now."""
    return await _changed(
        session,
        and_(
            Question.id == question_id,
            Question.status == QuestionStatus.TAKEN,
            Question.taken_by == holder_id,
        ),
        taken_at=now,
        take_warned_at=None,
    )


def _idle_now() -> ColumnElement[bool]:
    return and_(
        Question.status == QuestionStatus.TAKEN,
        Question.writing_by.is_(None),
        Question.taken_by.is_not(None),
        Question.taken_at.is_not(None),
    )


def _as_take(question: Question) -> IdleTake:
    assert question.taken_by is not None and question.taken_at is not None
    return IdleTake(
        question.id, question.taken_by, question.taken_at, question.take_warned_at is not None
    )


async def idle_take(session: AsyncSession, question_id: int) -> IdleTake | None:
    question = await session.scalar(
        select(Question)
        .where(Question.id == question_id, _idle_now())
        .execution_options(populate_existing=True)
    )
    return None if question is None else _as_take(question)


async def idle_takes(session: AsyncSession) -> list[IdleTake]:
    """Every take that is idle now, for arming their clocks after a restart."""
    return [
        _as_take(question)
        for question in await session.scalars(select(Question).where(_idle_now()))
    ]


async def claim_warning(
    session: AsyncSession, take: IdleTake, now: datetime, limit: timedelta
) -> bool:
    """The holder is to be warned, once per idle stretch."""
    return await _changed(
        session,
        and_(
            _idle(take.question_id, take.holder_id),
            Question.taken_at <= now - (limit - WARNING_LEAD),
            Question.take_warned_at.is_(None),
        ),
        take_warned_at=now,
    )


async def lapse(session: AsyncSession, take: IdleTake, now: datetime, limit: timedelta) -> bool:
    """Back to the queue, if the take is still the holder's, idle, warned and over its time."""
    return await _changed(
        session,
        and_(
            _idle(take.question_id, take.holder_id),
            Question.taken_at <= now - limit,
            Question.take_warned_at.is_not(None),
        ),
        status=QuestionStatus.OPEN,
        taken_by=None,
        taken_at=None,
        take_warned_at=None,
    )
