"""Taking an answer back: Delete on X, through the outbox, and the question back in the queue.

Who may: a moderator any time; a curator their own answer within `CURATOR_WINDOW` of its
posting. Every part of the answer (a thread's too) is one outbox delivery (`deletion:<part>`),
so it is asked of X once per press however often it is pressed, and again after a crash until
X answers. When the last part is gone the answer is marked deleted and the question opened,
in the transaction that records it; the audit keeps the text that was on X.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.models import (
    Answer,
    AnswerStatus,
    Delivery,
    DeliveryKind,
    Question,
    QuestionStatus,
)
from opsbot.services import answers, audit, outbox

CURATOR_WINDOW = timedelta(minutes=10)


class Refusal(StrEnum):
    NOT_ON_X = "not_on_x"
    NOT_YOURS = "not_yours"
    TOO_LATE = "too_late"
    UNDER_WAY = "under_way"


def key(answer_id: int) -> str:
    return f"deletion:{answer_id}"


async def _under_way(session: AsyncSession, part_ids: list[int]) -> bool:
    found = await session.scalar(
        select(Delivery.id)
        .where(
            Delivery.kind == DeliveryKind.DELETION,
            Delivery.answer_id.in_(part_ids),
            Delivery.state.in_(outbox.UNSENT),
        )
        .limit(1)
    )
    return found is not None


async def _on_x(session: AsyncSession, question_id: int) -> list[Answer]:
    """The parts of the question's answer, while any of them is still on X."""
    part = await session.scalar(
        select(Answer)
        .where(Answer.question_id == question_id, Answer.status == AnswerStatus.POSTED)
        .order_by(Answer.id)
        .limit(1)
    )
    if part is None:
        return []
    return await answers.thread_of(session, part.thread_root_id or part.id)


async def refusal(
    session: AsyncSession, question_id: int, actor_id: int, *, moderator: bool, now: datetime
) -> Refusal | None:
    """Why this person may not delete the question's answer now; None if they may."""
    question = await session.get(Question, question_id)
    parts = await _on_x(session, question_id)
    if question is None or question.status != QuestionStatus.ANSWERED or not parts:
        return Refusal.NOT_ON_X
    answer = parts[0]
    if await _under_way(session, [part.id for part in parts]):
        return Refusal.UNDER_WAY
    if moderator:
        return None
    if answer.curator_id != actor_id:
        return Refusal.NOT_YOURS
    posted_at = answer.posted_at or answer.created_at
    if now - posted_at > CURATOR_WINDOW:
        return Refusal.TOO_LATE
    return None


async def request(
    session: AsyncSession,
    question_id: int,
    actor_id: int,
    *,
    moderator: bool,
    now: datetime,
    origin: outbox.Origin,
) -> Refusal | None:
    """Queue the deletion of every part on X, once; the refusal if it may not be."""
    await session.execute(select(Question.id).where(Question.id == question_id).with_for_update())
    refused = await refusal(session, question_id, actor_id, moderator=moderator, now=now)
    if refused is not None:
        return refused
    for part in await _on_x(session, question_id):
        if part.status != AnswerStatus.POSTED or part.x_post_id is None:
            continue
        # A partner's answer is taken back from the partner's account, which posted it.
        posted = await outbox.by_key(session, answers.key(part.id))
        await outbox.enqueue(
            session,
            key=key(part.id),
            kind=DeliveryKind.DELETION,
            payload=part.text,
            now=now,
            origin=origin,
            target=part.x_post_id,
            answer_id=part.id,
            partner_id=posted.partner_id if posted is not None else None,
        )
    return None


async def part_deleted(session: AsyncSession, row: Delivery, now: datetime) -> None:
    """X no longer has this part; with the last one, the question is open again."""
    part = await session.get(Answer, row.answer_id) if row.answer_id is not None else None
    if part is None:
        return
    await session.execute(
        update(Answer)
        .where(Answer.id == part.id, Answer.status == AnswerStatus.POSTED)
        .values(status=AnswerStatus.DELETED)
    )
    await audit.record(
        session,
        actor_id=row.requested_by,
        action="deleted_on_x",
        question_id=part.question_id,
        detail=f"x post {row.target}: {part.text}",
    )
    root_id = part.thread_root_id or part.id
    parts = await answers.thread_of(session, root_id)
    if any(p.status == AnswerStatus.POSTED for p in parts):
        return
    await session.execute(
        update(Question)
        .where(Question.id == part.question_id, Question.status == QuestionStatus.ANSWERED)
        .values(
            status=QuestionStatus.OPEN,
            taken_by=None,
            writing_by=None,
            taken_at=None,
            take_warned_at=None,
        )
    )


async def question_of(session: AsyncSession, row: Delivery) -> int | None:
    part = await session.get(Answer, row.answer_id) if row.answer_id is not None else None
    return part.question_id if part else None
