"""Answers: drafts, handing them to the outbox, and the rules of who may post what.

Every state change is a conditional UPDATE on the status, so concurrent presses or a second
curator cannot hand the same answer over twice; once handed over, each part is a delivery of
the outbox (`services.outbox`), which writes its outcome back here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from opsbot.db.models import (
    Answer,
    AnswerPrompt,
    AnswerStatus,
    DeliveryKind,
    Question,
    QuestionStatus,
)
from opsbot.services import outbox, partner_cards, partners, questions
from opsbot.services.compose import answer_hashtags, compose, split_thread
from opsbot.services.tweet_length import fits

# Longer than any sensible thread of replies, and short enough for one preview message.
MAX_ANSWER_CHARS = 2000
# Not yet handed to the outbox: a new draft, or the end of the question, cancels these.
UNSENT = (AnswerStatus.DRAFT, AnswerStatus.AWAITING, AnswerStatus.RETURNED)


class DraftOutcome(StrEnum):
    CREATED = "created"
    NOT_FOUND = "not_found"
    ANSWERED = "answered"
    HIDDEN = "hidden"
    TAKEN_BY_OTHER = "taken_by_other"
    # A co-hosted salon's question the curator's museum cannot reply to on X.
    NOT_YOURS = "not_yours"
    EMPTY = "empty"
    TEXT_TOO_LONG = "text_too_long"


@dataclass(frozen=True)
class DraftResult:
    outcome: DraftOutcome
    answer: Answer | None = None
    question: Question | None = None
    holder_id: int | None = None
    # Answers that were awaiting approval and this draft replaced.
    withdrawn: tuple[int, ...] = ()


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
    AWAITING = "awaiting"
    RETURNED = "returned"


async def remember_prompt(
    session: AsyncSession, chat_id: int, message_id: int, question_id: int, curator_id: int
) -> None:
    session.add(
        AnswerPrompt(
            chat_id=chat_id, message_id=message_id, question_id=question_id, curator_id=curator_id
        )
    )


def _drafted_since_prompt() -> ColumnElement[bool]:
    return (
        select(Answer.id)
        .where(
            Answer.question_id == AnswerPrompt.question_id,
            Answer.curator_id == AnswerPrompt.curator_id,
            Answer.created_at >= AnswerPrompt.created_at,
        )
        .exists()
    )


async def asked_in(session: AsyncSession, chat_id: int, question_id: int, curator_id: int) -> bool:
    """The curator has been asked in this chat for this question (answered or not)."""
    found = await session.scalar(
        select(AnswerPrompt.message_id)
        .where(
            AnswerPrompt.chat_id == chat_id,
            AnswerPrompt.question_id == question_id,
            AnswerPrompt.curator_id == curator_id,
        )
        .limit(1)
    )
    return found is not None


async def last_prompt_in(session: AsyncSession, chat_id: int) -> int | None:
    """The question of the latest prompt in a private chat, for text sent without a reply."""
    return await session.scalar(
        select(AnswerPrompt.question_id)
        .where(AnswerPrompt.chat_id == chat_id)
        .order_by(AnswerPrompt.created_at.desc(), AnswerPrompt.message_id.desc())
        .limit(1)
    )


async def prompts_maybe_lost(
    session: AsyncSession, *, now: datetime, window: timedelta
) -> list[AnswerPrompt]:
    """Recent prompts that no draft followed, for questions still waiting for an answer.

    A curator's reply that reached Telegram just before the bot stopped may never have been
    seen by the bot; these are the prompts whose curators may have written one.
    """
    drafted = _drafted_since_prompt()
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
    found = await session.scalar(
        select(Question.id).where(
            Question.card_chat_id == chat_id, Question.card_message_id == reply_to_message_id
        )
    )
    if found is not None:
        return int(found)
    return await partner_cards.question_of_card(session, chat_id, reply_to_message_id)


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
        if taken.outcome == questions.Outcome.NOT_YOURS:
            return DraftResult(DraftOutcome.NOT_YOURS, question=question)
        question = taken.question or question
    # A new draft replaces the curator's earlier ones for this question, also one sent for
    # approval: its request in the staff group must then say so.
    replaced = await session.scalars(
        select(Answer.id).where(
            Answer.question_id == question_id,
            Answer.curator_id == curator_id,
            Answer.status == AnswerStatus.AWAITING,
            Answer.thread_root_id.is_(None),
        )
    )
    withdrawn = tuple(replaced)
    await session.execute(
        update(Answer)
        .where(
            Answer.question_id == question_id,
            Answer.curator_id == curator_id,
            Answer.status.in_(UNSENT),
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
    return DraftResult(DraftOutcome.CREATED, answer=answer, question=question, withdrawn=withdrawn)


async def load(session: AsyncSession, answer_id: int) -> Answer | None:
    return await session.scalar(
        select(Answer).where(Answer.id == answer_id).execution_options(populate_existing=True)
    )


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


def key(answer_id: int) -> str:
    return f"answer:{answer_id}"


async def _other_answer_in_flight(session: AsyncSession, question_id: int, root_id: int) -> bool:
    """Another answer to the same question is with the outbox or already out."""
    found = await session.scalar(
        select(Answer.id)
        .where(
            Answer.question_id == question_id,
            Answer.id != root_id,
            or_(Answer.thread_root_id.is_(None), Answer.thread_root_id != root_id),
            Answer.status.in_([AnswerStatus.POSTING, AnswerStatus.POSTED]),
        )
        .limit(1)
    )
    return found is not None


async def why_not_postable(
    session: AsyncSession, parts: Sequence[Answer], question: Question
) -> ClaimOutcome | None:
    """Why this answer cannot go to X now, or None: Post, Send for approval and Approve ask."""
    if question.status == QuestionStatus.ANSWERED:
        return ClaimOutcome.QUESTION_ANSWERED
    if question.status == QuestionStatus.HIDDEN:
        return ClaimOutcome.QUESTION_HIDDEN
    if not question.replyable:
        return ClaimOutcome.NOT_REPLYABLE
    if not all(fits(part.text) for part in parts):
        return ClaimOutcome.TOO_LONG
    if await _other_answer_in_flight(session, question.id, parts[0].id):
        return ClaimOutcome.OTHER_ANSWER
    return None


async def claim(
    session: AsyncSession,
    root_id: int,
    *,
    now: datetime,
    origin: outbox.Origin,
    approved_by: int | None = None,
) -> Claim:
    """Draft -> posting, once, and every part into the outbox; everyone else learns why not.

    With `approved_by` (a moderator's Approve) the answer must be awaiting approval instead of
    a draft: the same conditional UPDATE, so two moderators approving at once post it once.

    The question's row is locked first (FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE
    already serialises writers), so two drafts of one question cannot both be claimed. Part k
    of a thread follows part k-1: it goes out as a reply to it, once that one is on X.
    """
    parts = await thread_of(session, root_id)
    if not parts or parts[0].thread_root_id is not None:
        return Claim(ClaimOutcome.NOT_FOUND)
    question_id = parts[0].question_id
    start = AnswerStatus.DRAFT if approved_by is None else AnswerStatus.AWAITING
    await session.execute(select(Question.id).where(Question.id == question_id).with_for_update())
    question = await questions.load(session, question_id)
    assert question is not None
    if parts[0].status == start:
        refusal = await why_not_postable(session, parts, question)
        if refusal is not None:
            return Claim(refusal)
    result = await session.execute(
        update(Answer)
        .where(
            or_(Answer.id == root_id, Answer.thread_root_id == root_id),
            Answer.status == start,
        )
        .values(
            status=AnswerStatus.POSTING,
            **({} if approved_by is None else {"reviewed_by": approved_by}),
        )
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        status = parts[0].status
        if status == AnswerStatus.POSTING:
            return Claim(ClaimOutcome.ALREADY_POSTING)
        if status == AnswerStatus.POSTED:
            return Claim(ClaimOutcome.ALREADY_POSTED)
        if status == AnswerStatus.AWAITING:
            return Claim(ClaimOutcome.AWAITING)
        if status == AnswerStatus.RETURNED:
            return Claim(ClaimOutcome.RETURNED)
        return Claim(ClaimOutcome.CANCELLED)
    follows: int | None = None
    # A partner's curator answers from the partner's account: X lets only the account the
    # author engaged reply, and the audience sees which museum answered.
    partner = await partners.partner_of_staff(session, parts[0].curator_id)
    for part in parts:
        queued = await outbox.enqueue(
            session,
            key=key(part.id),
            kind=DeliveryKind.ANSWER,
            payload=part.text,
            now=now,
            origin=origin,
            target=question.x_post_id if follows is None else None,
            follows_id=follows,
            answer_id=part.id,
            retry_failed=False,
            partner_id=partner.id if partner is not None else None,
        )
        follows = queued.delivery.id
    return Claim(ClaimOutcome.CLAIMED)


async def part_posted(
    session: AsyncSession,
    answer_id: int,
    x_post_id: str,
    now: datetime,
    *,
    x_created_at: datetime | None = None,
) -> None:
    """The outbox has this part on X (made at `x_created_at` by X's clock, when known); the
    last part answers the question, in the same transaction, so a stop in between cannot
    leave it answered on X but "taken" here."""
    part = await session.get(Answer, answer_id)
    if part is None:
        return
    await session.execute(
        update(Answer)
        .where(Answer.id == answer_id, Answer.status == AnswerStatus.POSTING)
        .values(
            status=AnswerStatus.POSTED,
            x_post_id=x_post_id,
            posted_at=now,
            x_created_at=x_created_at,
        )
    )
    if part.part == part.parts:
        await mark_answered(session, part.question_id, part.curator_id)


async def parts_failed(session: AsyncSession, answer_ids: Sequence[int]) -> None:
    """The outbox gave these parts up: the answer goes back to its curator."""
    await session.execute(
        update(Answer)
        .where(Answer.id.in_(list(answer_ids)), Answer.status == AnswerStatus.POSTING)
        .values(status=AnswerStatus.FAILED)
    )


async def mark_answered(session: AsyncSession, question_id: int, curator_id: int) -> None:
    await session.execute(
        update(Question)
        .where(Question.id == question_id, Question.status != QuestionStatus.ANSWERED)
        .values(status=QuestionStatus.ANSWERED, taken_by=curator_id, writing_by=None)
    )
    # Other curators' drafts for this question can no longer be posted.
    await session.execute(
        update(Answer)
        .where(Answer.question_id == question_id, Answer.status.in_(UNSENT))
        .values(status=AnswerStatus.CANCELLED)
    )


async def cancel(session: AsyncSession, root_id: int) -> bool:
    result = await session.execute(
        update(Answer)
        .where(
            or_(Answer.id == root_id, Answer.thread_root_id == root_id),
            Answer.status.in_([*UNSENT, AnswerStatus.FAILED]),
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


async def answered_by_hand(
    session: AsyncSession, root_id: int, x_post_id: str, now: datetime
) -> bool:
    """The curator posted the draft on X themselves (a partner the bot cannot post as) and
    its reply was checked there: the draft is posted, the question answered, once."""
    parts = await thread_of(session, root_id)
    if not parts:
        return False
    result = await session.execute(
        update(Answer)
        .where(Answer.id == root_id, Answer.status == AnswerStatus.DRAFT)
        .values(status=AnswerStatus.POSTED, x_post_id=x_post_id, posted_at=now)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    # The later parts of a thread were posted by hand too, after the first.
    await session.execute(
        update(Answer)
        .where(Answer.thread_root_id == root_id, Answer.status == AnswerStatus.DRAFT)
        .values(status=AnswerStatus.POSTED, posted_at=now)
    )
    await mark_answered(session, parts[0].question_id, parts[0].curator_id)
    return True
