"""Answers: drafts, the outbox of posts to X, and the rules of who may post what.

Every state change is a conditional UPDATE on the status, so concurrent presses, a second
curator, or a publisher recovering after a crash cannot publish the same answer twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from opsbot.db.base import utcnow
from opsbot.db.models import Answer, AnswerPrompt, AnswerStatus, Question, QuestionStatus
from opsbot.services import questions
from opsbot.services.compose import answer_hashtags, compose, split_thread
from opsbot.services.tweet_length import fits

# Longer than any sensible thread of replies, and short enough for one preview message.
MAX_ANSWER_CHARS = 2000
# How long a publisher may hold an answer before the outbox takes it over.
LEASE = timedelta(minutes=5)


class DraftOutcome(StrEnum):
    CREATED = "created"
    NOT_FOUND = "not_found"
    ANSWERED = "answered"
    HIDDEN = "hidden"
    TAKEN_BY_OTHER = "taken_by_other"
    EMPTY = "empty"
    TEXT_TOO_LONG = "text_too_long"


@dataclass(frozen=True)
class DraftResult:
    outcome: DraftOutcome
    answer: Answer | None = None
    question: Question | None = None
    holder_id: int | None = None


class ClaimOutcome(StrEnum):
    CLAIMED = "claimed"
    ALREADY_POSTING = "already_posting"
    ALREADY_POSTED = "already_posted"
    CANCELLED = "cancelled"
    NOT_FOUND = "not_found"
    QUESTION_ANSWERED = "question_answered"
    QUESTION_HIDDEN = "question_hidden"
    OTHER_ANSWER = "other_answer"
    NOT_REPLYABLE = "not_replyable"
    TOO_LONG = "too_long"


async def remember_prompt(
    session: AsyncSession, chat_id: int, message_id: int, question_id: int, curator_id: int
) -> None:
    session.add(
        AnswerPrompt(
            chat_id=chat_id, message_id=message_id, question_id=question_id, curator_id=curator_id
        )
    )


async def prompts_maybe_lost(
    session: AsyncSession, *, now: datetime, window: timedelta
) -> list[AnswerPrompt]:
    """Recent prompts that no draft followed, for questions still waiting for an answer.

    A curator's reply that reached Telegram just before the bot stopped may never have been
    seen by the bot; these are the prompts whose curators may have written one.
    """
    drafted = (
        select(Answer.id)
        .where(
            Answer.question_id == AnswerPrompt.question_id,
            Answer.curator_id == AnswerPrompt.curator_id,
            Answer.created_at >= AnswerPrompt.created_at,
        )
        .exists()
    )
    result = await session.scalars(
        select(AnswerPrompt)
        .join(Question, Question.id == AnswerPrompt.question_id)
        .where(
            AnswerPrompt.created_at > now - window,
            AnswerPrompt.asked_again_at.is_(None),
            Question.status.in_([QuestionStatus.OPEN, QuestionStatus.TAKEN]),
            ~drafted,
        )
        .order_by(AnswerPrompt.created_at)
    )
    return list(result)


async def mark_asked_again(session: AsyncSession, prompt: AnswerPrompt, now: datetime) -> bool:
    """Claim the prompt for one "send it again" message; False if another process did."""
    result = await session.execute(
        update(AnswerPrompt)
        .where(
            AnswerPrompt.chat_id == prompt.chat_id,
            AnswerPrompt.message_id == prompt.message_id,
            AnswerPrompt.asked_again_at.is_(None),
        )
        .values(asked_again_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def question_for_reply(
    session: AsyncSession, chat_id: int, reply_to_message_id: int
) -> int | None:
    """The question a staff message answers: by the bot's prompt, or by the card itself."""
    prompt = await session.get(AnswerPrompt, (chat_id, reply_to_message_id))
    if prompt is not None:
        return prompt.question_id
    return await session.scalar(
        select(Question.id).where(
            Question.card_chat_id == chat_id, Question.card_message_id == reply_to_message_id
        )
    )


async def create_draft(
    session: AsyncSession,
    question_id: int,
    curator_id: int,
    text: str,
    *,
    hashtags: Sequence[str],
    signature: str | None,
    moderator: bool,
) -> DraftResult:
    if not text.strip():
        return DraftResult(DraftOutcome.EMPTY)
    if len(text) > MAX_ANSWER_CHARS:
        return DraftResult(DraftOutcome.TEXT_TOO_LONG)
    question = await questions.load(session, question_id)
    if question is None:
        return DraftResult(DraftOutcome.NOT_FOUND)
    if question.status == QuestionStatus.ANSWERED:
        return DraftResult(DraftOutcome.ANSWERED, question=question)
    if question.status == QuestionStatus.HIDDEN:
        return DraftResult(DraftOutcome.HIDDEN, question=question)
    if question.status == QuestionStatus.OPEN or question.taken_by != curator_id:
        taken = await questions.take(session, question_id, curator_id, moderator=moderator)
        if taken.outcome == questions.Outcome.TAKEN_BY_OTHER:
            return DraftResult(
                DraftOutcome.TAKEN_BY_OTHER, question=question, holder_id=taken.holder_id
            )
        question = taken.question or question
    # A new draft replaces the curator's earlier ones for this question.
    await session.execute(
        update(Answer)
        .where(
            Answer.question_id == question_id,
            Answer.curator_id == curator_id,
            Answer.status == AnswerStatus.DRAFT,
        )
        .values(status=AnswerStatus.CANCELLED)
    )
    answer = Answer(
        question_id=question_id,
        curator_id=curator_id,
        source_text=text.strip(),
        text=compose(text, hashtags=answer_hashtags(question.text, hashtags), signature=signature),
        status=AnswerStatus.DRAFT,
    )
    session.add(answer)
    await session.flush()
    return DraftResult(DraftOutcome.CREATED, answer=answer, question=question)


async def thread_of(session: AsyncSession, root_id: int) -> list[Answer]:
    """The answer and, if it was split, all its parts in order."""
    result = await session.scalars(
        select(Answer)
        .where(or_(Answer.id == root_id, Answer.thread_root_id == root_id))
        .order_by(Answer.part)
        .execution_options(populate_existing=True)
    )
    return list(result)


async def split_into_thread(
    session: AsyncSession,
    answer_id: int,
    *,
    hashtags: Sequence[str],
    signature: str | None,
) -> list[Answer] | None:
    """Turn a too-long draft into a thread of numbered drafts; None if it is no longer a draft."""
    draft = await session.get(Answer, answer_id)
    if draft is None or draft.status != AnswerStatus.DRAFT or draft.parts > 1:
        return None
    question = await questions.load(session, draft.question_id)
    assert question is not None
    texts = split_thread(
        draft.source_text,
        hashtags=answer_hashtags(question.text, hashtags),
        signature=signature,
    )
    result = await session.execute(
        update(Answer)
        .where(Answer.id == answer_id, Answer.status == AnswerStatus.DRAFT)
        .values(text=texts[0], part=1, parts=len(texts), thread_root_id=None)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    root = await session.get(Answer, answer_id)
    assert root is not None
    for number, text in enumerate(texts[1:], start=2):
        session.add(
            Answer(
                question_id=root.question_id,
                curator_id=root.curator_id,
                source_text=root.source_text,
                text=text,
                status=AnswerStatus.DRAFT,
                thread_root_id=answer_id,
                part=number,
                parts=len(texts),
            )
        )
    await session.flush()
    return await thread_of(session, answer_id)


async def set_preview(session: AsyncSession, root_id: int, chat_id: int, message_id: int) -> None:
    await session.execute(
        update(Answer)
        .where(or_(Answer.id == root_id, Answer.thread_root_id == root_id))
        .values(preview_chat_id=chat_id, preview_message_id=message_id)
    )


async def adopt_preview(session: AsyncSession, root_id: int, chat_id: int, message_id: int) -> None:
    """A button was pressed on a preview the bot had not yet recorded: that message is it."""
    await session.execute(
        update(Answer)
        .where(
            or_(Answer.id == root_id, Answer.thread_root_id == root_id),
            Answer.preview_message_id.is_(None),
        )
        .values(preview_chat_id=chat_id, preview_message_id=message_id)
    )


@dataclass(frozen=True)
class Claim:
    outcome: ClaimOutcome
    # The answer's attempt number when claimed: a publisher may post only while it still
    # holds it (a takeover by the outbox increments it).
    token: int = 0


def _due(now: datetime, *, force: bool) -> ColumnElement[bool]:
    lease_over = true() if force else or_(Answer.lease_until.is_(None), Answer.lease_until <= now)
    return or_(
        and_(Answer.status == AnswerStatus.QUEUED, Answer.next_attempt_at <= now),
        and_(Answer.status == AnswerStatus.POSTING, lease_over),
    )


async def _token(session: AsyncSession, root_id: int) -> int:
    return int(await session.scalar(select(Answer.attempts).where(Answer.id == root_id)) or 0)


async def _other_answer_in_flight(session: AsyncSession, question_id: int, root_id: int) -> bool:
    """Another answer to the same question is posting, waiting for X, or already out."""
    found = await session.scalar(
        select(Answer.id)
        .where(
            Answer.question_id == question_id,
            Answer.id != root_id,
            or_(Answer.thread_root_id.is_(None), Answer.thread_root_id != root_id),
            Answer.status.in_([AnswerStatus.POSTING, AnswerStatus.QUEUED, AnswerStatus.POSTED]),
        )
        .limit(1)
    )
    return found is not None


async def claim(session: AsyncSession, root_id: int, now: datetime | None = None) -> Claim:
    """Draft -> posting for one publisher; everyone else learns why not.

    The question's row is locked first (FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE
    already serialises writers), so two drafts of one question cannot both be claimed.
    """
    now = now or utcnow()
    parts = await thread_of(session, root_id)
    if not parts or parts[0].thread_root_id is not None:
        return Claim(ClaimOutcome.NOT_FOUND)
    question_id = parts[0].question_id
    await session.execute(select(Question.id).where(Question.id == question_id).with_for_update())
    question = await questions.load(session, question_id)
    assert question is not None
    if parts[0].status == AnswerStatus.DRAFT:
        if question.status == QuestionStatus.ANSWERED:
            return Claim(ClaimOutcome.QUESTION_ANSWERED)
        if question.status == QuestionStatus.HIDDEN:
            return Claim(ClaimOutcome.QUESTION_HIDDEN)
        if not question.replyable:
            return Claim(ClaimOutcome.NOT_REPLYABLE)
        if not all(fits(part.text) for part in parts):
            return Claim(ClaimOutcome.TOO_LONG)
        if await _other_answer_in_flight(session, question_id, root_id):
            return Claim(ClaimOutcome.OTHER_ANSWER)
    result = await session.execute(
        update(Answer)
        .where(
            or_(Answer.id == root_id, Answer.thread_root_id == root_id),
            Answer.status == AnswerStatus.DRAFT,
        )
        .values(status=AnswerStatus.POSTING, attempts=Answer.attempts + 1, lease_until=now + LEASE)
    )
    if result.rowcount:  # type: ignore[attr-defined]
        return Claim(ClaimOutcome.CLAIMED, await _token(session, root_id))
    status = parts[0].status
    if status in (AnswerStatus.POSTING, AnswerStatus.QUEUED):
        return Claim(ClaimOutcome.ALREADY_POSTING)
    if status == AnswerStatus.POSTED:
        return Claim(ClaimOutcome.ALREADY_POSTED)
    return Claim(ClaimOutcome.CANCELLED)


async def reclaim(
    session: AsyncSession, root_id: int, now: datetime, *, force: bool = False
) -> int | None:
    """Take over an answer (or its unfinished thread) whose publisher is gone or that waited
    for X; the new token, or None when it is not due any more."""
    result = await session.execute(
        update(Answer)
        .where(or_(Answer.id == root_id, Answer.thread_root_id == root_id), _due(now, force=force))
        .values(status=AnswerStatus.POSTING, lease_until=now + LEASE)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    await session.execute(
        update(Answer).where(Answer.id == root_id).values(attempts=Answer.attempts + 1)
    )
    return await _token(session, root_id)


async def still_holds(session: AsyncSession, root_id: int, token: int, now: datetime) -> bool:
    """Renew the lease if this publisher still owns the answer; False if it was taken over."""
    result = await session.execute(
        update(Answer)
        .where(Answer.id == root_id, Answer.attempts == token)
        .values(lease_until=now + LEASE)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def due_roots(session: AsyncSession, now: datetime, *, force: bool = False) -> list[int]:
    """Answers the outbox should (re)try now: any part queued and due, or a stale posting."""
    root = func.coalesce(Answer.thread_root_id, Answer.id)
    result = await session.scalars(
        select(root).where(_due(now, force=force)).group_by(root).order_by(root)
    )
    return list(result)


async def mark_posted(session: AsyncSession, answer_id: int, x_post_id: str) -> bool:
    result = await session.execute(
        update(Answer)
        .where(Answer.id == answer_id, Answer.status == AnswerStatus.POSTING)
        .values(status=AnswerStatus.POSTED, x_post_id=x_post_id, posted_at=utcnow(), last_error="")
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def mark_answered(session: AsyncSession, question_id: int, curator_id: int) -> None:
    await session.execute(
        update(Question)
        .where(Question.id == question_id, Question.status != QuestionStatus.ANSWERED)
        .values(status=QuestionStatus.ANSWERED, taken_by=curator_id)
    )
    # Other curators' drafts for this question can no longer be posted.
    await session.execute(
        update(Answer)
        .where(Answer.question_id == question_id, Answer.status == AnswerStatus.DRAFT)
        .values(status=AnswerStatus.CANCELLED)
    )


async def _set_unposted(session: AsyncSession, root_id: int, **values: object) -> None:
    await session.execute(
        update(Answer)
        .where(
            or_(Answer.id == root_id, Answer.thread_root_id == root_id),
            Answer.status.in_([AnswerStatus.POSTING, AnswerStatus.QUEUED]),
        )
        .values(**values)
    )


async def mark_queued(
    session: AsyncSession,
    root_id: int,
    until: datetime,
    error: str,
    waiting_for: str | None = None,
) -> None:
    """Wait for X until `until`: its rate limit, or (`waiting_for`) what the staff must fix."""
    await _set_unposted(
        session,
        root_id,
        status=AnswerStatus.QUEUED,
        next_attempt_at=until,
        last_error=error,
        waiting_for=waiting_for,
        lease_until=None,
    )


async def mark_retry(session: AsyncSession, root_id: int, until: datetime, error: str) -> None:
    """Outcome unknown (timeout, 5xx): stay `posting`, so the retry first looks for the post."""
    await _set_unposted(session, root_id, lease_until=until, last_error=error)


async def mark_failed(session: AsyncSession, root_id: int, error: str) -> None:
    await _set_unposted(
        session, root_id, status=AnswerStatus.FAILED, last_error=error, lease_until=None
    )


async def cancel(session: AsyncSession, root_id: int) -> bool:
    result = await session.execute(
        update(Answer)
        .where(
            or_(Answer.id == root_id, Answer.thread_root_id == root_id),
            Answer.status.in_([AnswerStatus.DRAFT, AnswerStatus.FAILED]),
        )
        .values(status=AnswerStatus.CANCELLED)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


Root = aliased(Answer)


async def answered_on_x_but_open(session: AsyncSession) -> list[tuple[int, int]]:
    """(question, curator) of every question whose whole answer is on X but that is not marked
    answered: a stop between the two records leaves it so, and nothing else would mend it."""
    unposted_part = (
        select(Answer.id)
        .where(
            func.coalesce(Answer.thread_root_id, Answer.id) == Root.id,
            Answer.status != AnswerStatus.POSTED,
        )
        .exists()
    )
    rows = await session.execute(
        select(Question.id, Root.curator_id)
        .join(Root, Root.question_id == Question.id)
        .where(
            Question.status.in_([QuestionStatus.OPEN, QuestionStatus.TAKEN]),
            Root.thread_root_id.is_(None),
            Root.status == AnswerStatus.POSTED,
            ~unposted_part,
        )
    )
    return [(question_id, curator_id) for question_id, curator_id in rows]


async def answered_since(session: AsyncSession, since: datetime) -> list[int]:
    """Questions answered on X since `since`, oldest first."""
    result = await session.scalars(
        select(Answer.question_id)
        .where(Answer.status == AnswerStatus.POSTED, Answer.posted_at >= since)
        .group_by(Answer.question_id)
        .order_by(Answer.question_id)
    )
    return list(result)


async def posted_answer(session: AsyncSession, question_id: int) -> Answer | None:
    """The first post of the question's published answer."""
    return await session.scalar(
        select(Answer)
        .where(
            Answer.question_id == question_id,
            Answer.status == AnswerStatus.POSTED,
            Answer.part == 1,
        )
        .order_by(Answer.id)
        .limit(1)
    )
