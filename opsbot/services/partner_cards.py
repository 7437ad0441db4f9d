"""Question cards in a co-host's own staff group: which are due, and where each one is.

A co-hosted salon's questions for the partner (those that tag only it) and for both museums
(those that tag both, or carry only the hashtag) get a card in the partner's group besides the
one in the host's. The queue is the database: a question without a sent card there is waiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.models import Partner, PartnerCard, Question, QuestionAudience, Salon
from opsbot.db.upsert import insert_missing

FOR_PARTNER = (QuestionAudience.PARTNER, QuestionAudience.BOTH)


@dataclass(frozen=True)
class Due:
    question: Question
    partner: Partner
    chat_id: int
    thread_id: int | None


def _due_query() -> Select[Question, Partner, int | None]:
    return (
        select(Question, Partner, Salon.partner_thread_id)
        .join(Salon, Salon.id == Question.salon_id)
        .join(Partner, Partner.id == Salon.partner_id)
        .outerjoin(
            PartnerCard,
            and_(PartnerCard.question_id == Question.id, PartnerCard.chat_id == Partner.chat_id),
        )
        .where(
            Partner.chat_id.is_not(None),
            Question.audience.in_(FOR_PARTNER),
            PartnerCard.message_id.is_(None),
        )
    )


async def due(session: AsyncSession, limit: int, *, stored_up_to: int | None = None) -> list[Due]:
    """The cards still to send, oldest question first (as the host's card queue goes)."""
    query = _due_query()
    if stored_up_to is not None:
        query = query.where(Question.id <= stored_up_to)
    rows = await session.execute(
        query.order_by(
            Question.posted_at, func.length(Question.x_post_id), Question.x_post_id
        ).limit(limit)
    )
    return [
        Due(question, partner, partner.chat_id, thread_id)
        for question, partner, thread_id in rows
        if partner.chat_id is not None
    ]


async def begin(
    session: AsyncSession, question_id: int, chat_id: int, thread_id: int | None, now: datetime
) -> bool:
    """A send begins; True when an earlier one's answer was lost (the card may be there)."""
    created = await insert_missing(
        session,
        PartnerCard,
        [
            {
                "question_id": question_id,
                "chat_id": chat_id,
                "thread_id": thread_id,
                "attempt_at": now,
            }
        ],
        key=["question_id", "chat_id"],
    )
    if created:
        return False
    this_card = and_(PartnerCard.question_id == question_id, PartnerCard.chat_id == chat_id)
    # After `attempt_over` Telegram has said the card is not there: only an attempt still
    # standing means an earlier send may have posted it.
    lost = await session.execute(
        update(PartnerCard)
        .where(this_card, PartnerCard.attempt_at.is_not(None))
        .values(attempt_at=now)
    )
    if lost.rowcount:  # type: ignore[attr-defined]
        return True
    await session.execute(update(PartnerCard).where(this_card).values(attempt_at=now))
    return False


async def attempt_over(session: AsyncSession, question_id: int, chat_id: int) -> None:
    """Telegram answered without posting the card: nothing to fear from the next send."""
    await session.execute(
        update(PartnerCard)
        .where(PartnerCard.question_id == question_id, PartnerCard.chat_id == chat_id)
        .values(attempt_at=None)
    )


async def record(
    session: AsyncSession,
    question_id: int,
    chat_id: int,
    *,
    thread_id: int | None,
    message_id: int,
    digest: str,
) -> None:
    await session.execute(
        update(PartnerCard)
        .where(PartnerCard.question_id == question_id, PartnerCard.chat_id == chat_id)
        .values(thread_id=thread_id, message_id=message_id, digest=digest, attempt_at=None)
    )


@dataclass(frozen=True)
class Shown:
    card: PartnerCard
    partner: Partner


async def shown(session: AsyncSession, question_id: int) -> list[Shown]:
    """The question's cards in partner groups that are there, with whose group each is."""
    rows = await session.execute(
        select(PartnerCard, Partner)
        .join(Partner, Partner.chat_id == PartnerCard.chat_id)
        .where(PartnerCard.question_id == question_id, PartnerCard.message_id.is_not(None))
        .execution_options(populate_existing=True)
    )
    return [Shown(card, partner) for card, partner in rows]


async def now_shows(
    session: AsyncSession,
    card_id: int,
    digest: str,
    *,
    thread_id: int | None = None,
    message_id: int | None = None,
) -> None:
    """The card shows `digest` now (in a new message, when the old one was deleted)."""
    values: dict[str, object] = {"digest": digest}
    if message_id is not None:
        values.update(thread_id=thread_id, message_id=message_id)
    await session.execute(update(PartnerCard).where(PartnerCard.id == card_id).values(**values))


async def question_of_card(session: AsyncSession, chat_id: int, message_id: int) -> int | None:
    """The question whose card a staff member replied to in a partner's group."""
    return await session.scalar(
        select(PartnerCard.question_id).where(
            PartnerCard.chat_id == chat_id, PartnerCard.message_id == message_id
        )
    )
