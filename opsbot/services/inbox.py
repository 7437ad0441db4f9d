"""Audience posts become questions: triage, store once, queue their cards."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.base import utcnow
from opsbot.db.models import Partner, Question, QuestionAudience, XCursor
from opsbot.db.upsert import insert_missing, upsert
from opsbot.services import cohosting, salons
from opsbot.services.posts import XPost


def is_question(post: XPost, museum_id: str) -> bool:
    """Retweets repeat someone else's words, and the museum does not ask itself."""
    return not post.is_retweet and post.author_id != museum_id


def is_replyable(post: XPost, museum_id: str, museum_handle: str) -> bool:
    """X lets an app reply only to authors who mentioned or quoted its account.

    A reply to one of the museum's posts counts as engaging it as well.
    """
    return (
        museum_id in post.mentioned_ids
        or museum_handle.lower() in post.mentioned_handles
        or post.quoted_author_id == museum_id
        or post.in_reply_to_user_id == museum_id
    )


async def store_posts(
    session: AsyncSession,
    posts: Sequence[XPost],
    *,
    source: str,
    museum_id: str,
    museum_handle: str,
) -> list[int]:
    """Store the posts that are questions and new; return the new questions' ids."""
    rows: dict[str, dict[str, object]] = {}
    cohosts: dict[int | None, Partner | None] = {}
    # Oldest first, so cards reach the staff group in the order the audience asked.
    for post in sorted(posts, key=lambda post: int(post.id)):
        if not is_question(post, museum_id) or post.id in rows:
            continue
        salon_id, after_salon = await salons.salon_for_post(session, post.created_at)
        if salon_id not in cohosts:
            cohosts[salon_id] = await cohosting.partner_of_salon(session, salon_id)
        partner = cohosts[salon_id]
        replyable = is_replyable(post, museum_id, museum_handle)
        audience = QuestionAudience.HOST
        if partner is not None:
            account = cohosting.Account(partner.handle, partner.x_user_id)
            if _posted_by(post, account):
                # The partner's own posts (its answers carry the hashtag) are no questions.
                continue
            host_summoned = replyable
            partner_summoned = cohosting.summons(post, account)
            audience = cohosting.audience(host_summoned, partner_summoned)
            replyable = host_summoned or partner_summoned
        rows[post.id] = {
            "x_post_id": post.id,
            "author_id": post.author_id,
            "author_handle": post.author_handle,
            "author_name": post.author_name[:200],
            "author_followers": post.author_followers,
            "text": post.text,
            "posted_at": post.created_at,
            "source": source,
            "replyable": replyable,
            "audience": audience,
            "conversation_id": post.conversation_id,
            "quoted_post_id": post.quoted_post_id,
            "salon_id": salon_id,
            "after_salon": after_salon,
            "received_at": utcnow(),
        }
    return await insert_missing(session, Question, list(rows.values()), key=["x_post_id"])


def _posted_by(post: XPost, account: cohosting.Account) -> bool:
    return post.author_id == account.user_id or post.author_handle.lower() == account.handle


@dataclass(frozen=True)
class Cursor:
    """Where reading a source resumes (see `XCursor`)."""

    since_id: str | None
    read_until: datetime | None


async def get_cursor(session: AsyncSession, source: str) -> Cursor | None:
    """None only before the source's first poll."""
    row = await session.get(XCursor, source, populate_existing=True)
    return None if row is None else Cursor(row.since_id, row.read_until)


async def start_cursor(session: AsyncSession, source: str, read_until: datetime) -> None:
    """The first poll's starting point; a cursor that exists already is left alone."""
    await insert_missing(
        session,
        XCursor,
        [{"source": source, "since_id": None, "read_until": read_until, "updated_at": utcnow()}],
        ["source"],
    )


async def save_cursor(
    session: AsyncSession, source: str, since_id: str | None, read_until: datetime
) -> None:
    """After a complete read: neither the post id nor the moment ever moves backwards."""
    current = await get_cursor(session, source) or Cursor(None, None)
    # Ids are snowflakes: numeric order is time order.
    if since_id is None or (current.since_id and int(current.since_id) >= int(since_id)):
        since_id = current.since_id
    if current.read_until is not None:
        read_until = max(read_until, current.read_until)
    await _set_cursor(session, source, since_id, read_until)


async def restart_cursor(session: AsyncSession, source: str, read_until: datetime) -> None:
    """Read the source from `read_until` on: X no longer accepts its post id."""
    await _set_cursor(session, source, None, read_until)


async def _set_cursor(
    session: AsyncSession, source: str, since_id: str | None, read_until: datetime
) -> None:
    await upsert(
        session,
        XCursor,
        {"source": source, "since_id": since_id, "read_until": read_until, "updated_at": utcnow()},
        key=["source"],
        update=["since_id", "read_until", "updated_at"],
    )


async def queued_cards(
    session: AsyncSession, limit: int, *, stored_up_to: int | None = None
) -> list[Question]:
    """Questions whose card has not reached the staff group yet, in the order they were
    posted on X, whichever page or source brought them (ids are snowflakes: by time).

    `stored_up_to` leaves out questions stored after it (a higher id): those of a poll still
    reading, whose later pages may hold older posts.
    """
    query = select(Question).where(_waiting_for_card())
    if stored_up_to is not None:
        query = query.where(Question.id <= stored_up_to)
    result = await session.scalars(
        query.order_by(
            Question.posted_at, func.length(Question.x_post_id), Question.x_post_id
        ).limit(limit)
    )
    return list(result)


async def newest_question_id(session: AsyncSession) -> int:
    """The id of the last question stored (ids only grow), 0 before the first."""
    return int(await session.scalar(select(func.max(Question.id))) or 0)


async def count_queued_cards(session: AsyncSession) -> int:
    return int(
        await session.scalar(select(func.count()).select_from(Question).where(_waiting_for_card()))
        or 0
    )


def _waiting_for_card() -> ColumnElement[bool]:
    """Neither a card nor a line in a digest has shown the question yet."""
    return and_(Question.card_message_id.is_(None), Question.digest_message_id.is_(None))


async def record_digest(session: AsyncSession, question_ids: list[int], message_id: int) -> None:
    """The questions are listed in that digest message (their full cards may follow)."""
    await session.execute(
        update(Question)
        .where(Question.id.in_(question_ids), _waiting_for_card())
        .values(digest_message_id=message_id)
    )


async def card_attempt(
    session: AsyncSession, question_id: int, after_message_id: int | None
) -> None:
    """A send of the card begins; until it is recorded, its outcome counts as unknown.

    `after_message_id` is the last id Telegram gave back for one of the bot's own messages in
    the group: a copy of the card that arrived although its answer was lost has a larger one.
    """
    await session.execute(
        update(Question)
        .where(Question.id == question_id, Question.card_message_id.is_(None))
        .values(card_attempt_at=utcnow(), card_after_message_id=after_message_id)
    )


async def card_attempt_over(session: AsyncSession, question_id: int) -> None:
    """Telegram answered the send without posting the card: nothing to look for next time."""
    await session.execute(
        update(Question)
        .where(Question.id == question_id)
        .values(card_attempt_at=None, card_after_message_id=None)
    )


async def record_card(
    session: AsyncSession,
    question_id: int,
    chat_id: int,
    thread_id: int | None,
    message_id: int,
    digest: str,
) -> bool:
    """Remember where the card is and what it shows; False if another sender recorded one first."""
    result = await session.execute(
        update(Question)
        .where(Question.id == question_id, Question.card_message_id.is_(None))
        .values(
            card_chat_id=chat_id,
            card_thread_id=thread_id,
            card_message_id=message_id,
            card_digest=digest,
            card_attempt_at=None,
            card_after_message_id=None,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def record_card_shown(
    session: AsyncSession,
    question_id: int,
    digest: str,
    *,
    chat_id: int | None = None,
    thread_id: int | None = None,
    message_id: int | None = None,
) -> None:
    """The card now shows `digest` (in a new message, when the old one was deleted)."""
    values: dict[str, object] = {"card_digest": digest}
    if message_id is not None:
        values.update(card_chat_id=chat_id, card_thread_id=thread_id, card_message_id=message_id)
    await session.execute(update(Question).where(Question.id == question_id).values(**values))
