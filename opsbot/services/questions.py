"""What curators do to a question: take it, release it, hide it, bring it back.

Each change is one conditional UPDATE, so two curators pressing at once cannot both win.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.models import Question, QuestionStatus
from opsbot.services import cohosting, priority


class Outcome(StrEnum):
    DONE = "done"
    UNCHANGED = "unchanged"
    NOT_FOUND = "not_found"
    TAKEN_BY_OTHER = "taken_by_other"
    WRONG_STATE = "wrong_state"
    # A co-hosted salon's question that X would not let the curator's museum answer.
    NOT_YOURS = "not_yours"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    question: Question | None = None
    # Whoever holds the question after (or despite) the attempt.
    holder_id: int | None = None
    previous_holder_id: int | None = None


async def _conditional(
    session: AsyncSession, question_id: int, *where: object, **values: object
) -> bool:
    result = await session.execute(
        update(Question).where(Question.id == question_id, *where).values(**values)  # type: ignore[arg-type]
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def load(session: AsyncSession, question_id: int) -> Question | None:
    return await session.scalar(
        select(Question).where(Question.id == question_id).execution_options(populate_existing=True)
    )


async def take(
    session: AsyncSession, question_id: int, curator_id: int, *, moderator: bool
) -> Result:
    """The first curator to take it owns it; in a co-hosted salon only a curator of a museum
    the question summoned may (a moderator too: X would refuse the other account's reply)."""
    found = await load(session, question_id)
    if found is None:
        return Result(Outcome.NOT_FOUND)
    if not await cohosting.allowed(session, found, curator_id):
        return Result(Outcome.NOT_YOURS, found, found.taken_by)
    if await _conditional(
        session,
        question_id,
        Question.status == QuestionStatus.OPEN,
        status=QuestionStatus.TAKEN,
        taken_by=curator_id,
    ):
        return Result(Outcome.DONE, await load(session, question_id), curator_id)
    question = await load(session, question_id)
    if question is None:
        return Result(Outcome.NOT_FOUND)
    if question.status != QuestionStatus.TAKEN:
        return Result(Outcome.WRONG_STATE, question)
    if question.taken_by == curator_id:
        return Result(Outcome.UNCHANGED, question, curator_id)
    holder = question.taken_by
    # A moderator takes over from a curator of their own museum, never from the other one's.
    moderator = moderator and await cohosting.same_museum(session, holder, curator_id)
    if moderator and await _conditional(
        session,
        question_id,
        Question.status == QuestionStatus.TAKEN,
        Question.taken_by == holder,
        taken_by=curator_id,
    ):
        return Result(Outcome.DONE, await load(session, question_id), curator_id, holder)
    return Result(Outcome.TAKEN_BY_OTHER, question, holder)


async def release(
    session: AsyncSession, question_id: int, curator_id: int, *, moderator: bool
) -> Result:
    current = await load(session, question_id)
    if current is not None and current.taken_by is not None:
        moderator = moderator and await cohosting.same_museum(session, current.taken_by, curator_id)
    holder_is_allowed = True if moderator else Question.taken_by == curator_id
    if await _conditional(
        session,
        question_id,
        Question.status == QuestionStatus.TAKEN,
        holder_is_allowed,
        status=QuestionStatus.OPEN,
        taken_by=None,
        writing_by=None,
    ):
        return Result(Outcome.DONE, await load(session, question_id))
    question = await load(session, question_id)
    if question is None:
        return Result(Outcome.NOT_FOUND)
    if question.status == QuestionStatus.TAKEN:
        return Result(Outcome.TAKEN_BY_OTHER, question, question.taken_by)
    return Result(Outcome.WRONG_STATE, question)


async def hide(session: AsyncSession, question_id: int, curator_id: int) -> Result:
    if await _conditional(
        session,
        question_id,
        Question.status.in_([QuestionStatus.OPEN, QuestionStatus.TAKEN]),
        status=QuestionStatus.HIDDEN,
        hidden_by=curator_id,
        taken_by=None,
        writing_by=None,
    ):
        return Result(Outcome.DONE, await load(session, question_id))
    question = await load(session, question_id)
    return Result(Outcome.NOT_FOUND if question is None else Outcome.WRONG_STATE, question)


async def unhide(session: AsyncSession, question_id: int, curator_id: int) -> Result:
    if await _conditional(
        session,
        question_id,
        Question.status == QuestionStatus.HIDDEN,
        status=QuestionStatus.OPEN,
        hidden_by=None,
    ):
        return Result(Outcome.DONE, await load(session, question_id))
    question = await load(session, question_id)
    return Result(Outcome.NOT_FOUND if question is None else Outcome.WRONG_STATE, question)


def _waiting_filter(taken_by: int | None) -> list[ColumnElement[bool]]:
    if taken_by is None:
        return [Question.status.in_([QuestionStatus.OPEN, QuestionStatus.TAKEN])]
    return [Question.status == QuestionStatus.TAKEN, Question.taken_by == taken_by]


async def waiting(
    session: AsyncSession,
    *,
    taken_by: int | None = None,
    limit: int,
    offset: int = 0,
    vip_followers: int | None = None,
) -> list[Question]:
    """Unanswered questions, oldest first; with `taken_by`, only that curator's; with
    `vip_followers`, the priority senders' first."""
    query = select(Question).where(*_waiting_filter(taken_by))
    if vip_followers is not None:
        query = query.order_by(case((priority.is_priority(vip_followers), 0), else_=1))
    query = query.order_by(Question.id).offset(offset).limit(limit)
    return list(await session.scalars(query))


async def count_waiting(session: AsyncSession, *, taken_by: int | None = None) -> int:
    query = select(func.count()).select_from(Question).where(*_waiting_filter(taken_by))
    return int(await session.scalar(query) or 0)
