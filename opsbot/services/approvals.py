"""Approval: a curator who needs it sends the answer to the moderators, who approve it (into
the outbox, through `answers.claim`), return it with a comment, or edit its text.

Who needs approval: nobody (`off`), every curator (`curators`), or the curators switched on
with /approval (`listed`); moderators never. Each step is a conditional UPDATE on the answer's
status, so two moderators pressing at once, or a curator withdrawing the answer meanwhile,
leave one outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.models import (
    Answer,
    AnswerStatus,
    ReviewPrompt,
    ReviewPromptKind,
    StaffMember,
)
from opsbot.services import answers, outbox, questions
from opsbot.services.answers import Claim, ClaimOutcome
from opsbot.services.compose import answer_hashtags, compose


class Mode(StrEnum):
    OFF = "off"
    CURATORS = "curators"
    LISTED = "listed"


def required(mode: Mode, *, moderator: bool, listed: bool) -> bool:
    """Does this person's answer need a moderator's approval?"""
    if moderator or mode == Mode.OFF:
        return False
    return mode == Mode.CURATORS or listed


async def is_listed(session: AsyncSession, telegram_id: int) -> bool:
    return bool(
        await session.scalar(
            select(StaffMember.needs_approval).where(StaffMember.telegram_id == telegram_id)
        )
    )


async def set_listed(session: AsyncSession, telegram_id: int, on: bool) -> None:
    await session.execute(
        update(StaffMember).where(StaffMember.telegram_id == telegram_id).values(needs_approval=on)
    )


async def listed(session: AsyncSession) -> list[StaffMember]:
    return list(
        await session.scalars(
            select(StaffMember)
            .where(StaffMember.needs_approval.is_(True))
            .order_by(StaffMember.first_name)
        )
    )


async def submit(session: AsyncSession, root_id: int) -> ClaimOutcome | None:
    """Draft -> awaiting approval, once; None when done, else why not (as `answers.claim`)."""
    parts = await answers.thread_of(session, root_id)
    if not parts or parts[0].thread_root_id is not None:
        return ClaimOutcome.NOT_FOUND
    question = await questions.load(session, parts[0].question_id)
    assert question is not None
    if parts[0].status == AnswerStatus.DRAFT:
        refusal = await answers.why_not_postable(session, parts, question)
        if refusal is not None:
            return refusal
    result = await session.execute(
        update(Answer)
        .where(
            or_(Answer.id == root_id, Answer.thread_root_id == root_id),
            Answer.status == AnswerStatus.DRAFT,
        )
        .values(status=AnswerStatus.AWAITING)
    )
    if result.rowcount:  # type: ignore[attr-defined]
        return None
    return {
        AnswerStatus.AWAITING: ClaimOutcome.AWAITING,
        AnswerStatus.RETURNED: ClaimOutcome.RETURNED,
        AnswerStatus.POSTING: ClaimOutcome.ALREADY_POSTING,
        AnswerStatus.POSTED: ClaimOutcome.ALREADY_POSTED,
    }.get(parts[0].status, ClaimOutcome.CANCELLED)


async def approve(
    session: AsyncSession, root_id: int, moderator_id: int, *, now: datetime, origin: outbox.Origin
) -> Claim:
    """Awaiting -> posting through the one path every answer takes to X."""
    return await answers.claim(session, root_id, now=now, origin=origin, approved_by=moderator_id)


async def give_back(session: AsyncSession, root_id: int, moderator_id: int, comment: str) -> bool:
    """Awaiting -> returned with the moderator's comment; False if it no longer awaits."""
    result = await session.execute(
        update(Answer)
        .where(
            or_(Answer.id == root_id, Answer.thread_root_id == root_id),
            Answer.status == AnswerStatus.AWAITING,
        )
        .values(status=AnswerStatus.RETURNED, reviewed_by=moderator_id, review_comment=comment)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


class AmendOutcome(StrEnum):
    DONE = "done"
    EMPTY = "empty"
    TEXT_TOO_LONG = "text_too_long"
    NOT_AWAITING = "not_awaiting"


@dataclass(frozen=True)
class Amended:
    outcome: AmendOutcome
    question_id: int | None = None


async def amend(
    session: AsyncSession,
    root_id: int,
    text: str,
    moderator_id: int,
    *,
    hashtags: Sequence[str],
    signature: str | None,
) -> Amended:
    """A moderator's new text for an answer awaiting approval, composed as the curator's own
    (their signature, the hashtag); a thread becomes one post again, to be split if needed."""
    if not text.strip():
        return Amended(AmendOutcome.EMPTY)
    if len(text) > answers.MAX_ANSWER_CHARS:
        return Amended(AmendOutcome.TEXT_TOO_LONG)
    root = await answers.load(session, root_id)
    if root is None or root.status != AnswerStatus.AWAITING or root.thread_root_id is not None:
        return Amended(AmendOutcome.NOT_AWAITING)
    question = await questions.load(session, root.question_id)
    assert question is not None
    result = await session.execute(
        update(Answer)
        .where(Answer.id == root_id, Answer.status == AnswerStatus.AWAITING)
        .values(
            source_text=text.strip(),
            text=compose(
                text, hashtags=answer_hashtags(question.text, hashtags), signature=signature
            ),
            part=1,
            parts=1,
            reviewed_by=moderator_id,
        )
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return Amended(AmendOutcome.NOT_AWAITING)
    # The other parts were never handed over: nothing outside this table refers to them.
    await session.execute(delete(Answer).where(Answer.thread_root_id == root_id))
    return Amended(AmendOutcome.DONE, root.question_id)


async def set_request(session: AsyncSession, root_id: int, chat_id: int, message_id: int) -> None:
    """Where the request to the moderators is, so each later step edits that one message."""
    await session.execute(
        update(Answer)
        .where(or_(Answer.id == root_id, Answer.thread_root_id == root_id))
        .values(review_chat_id=chat_id, review_message_id=message_id)
    )


async def remember_prompt(
    session: AsyncSession,
    chat_id: int,
    message_id: int,
    answer_id: int,
    moderator_id: int,
    kind: ReviewPromptKind,
) -> None:
    session.add(
        ReviewPrompt(
            chat_id=chat_id,
            message_id=message_id,
            answer_id=answer_id,
            moderator_id=moderator_id,
            kind=kind,
        )
    )


async def prompt_at(session: AsyncSession, chat_id: int, message_id: int) -> ReviewPrompt | None:
    return await session.get(ReviewPrompt, (chat_id, message_id))


async def in_review(session: AsyncSession, question_id: int) -> Answer | None:
    """The question's answer that awaits approval or was returned, for its card."""
    return await session.scalar(
        select(Answer)
        .where(
            Answer.question_id == question_id,
            Answer.thread_root_id.is_(None),
            Answer.status.in_([AnswerStatus.AWAITING, AnswerStatus.RETURNED]),
        )
        .order_by(Answer.id.desc())
        .limit(1)
    )
