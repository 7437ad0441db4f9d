"""Which reminders to send now, and what they say.

A reminder is sent once: its row moves pending -> sent by a conditional UPDATE. Reminders whose
time passed while the bot was down are not all replayed: only the latest one of a salon that is
still ahead is sent, marked late; the older ones would only repeat it. Once a salon's start has
passed (or it was started or cancelled), its missed reminders are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.models import (
    Partner,
    Question,
    QuestionStatus,
    Reminder,
    ReminderStatus,
    Salon,
    SalonStatus,
)

# A reminder sent within this of its time is on time; later, it says so.
ON_TIME = timedelta(minutes=2)
OLDEST_SHOWN = 5


@dataclass(frozen=True)
class Due:
    reminder: Reminder
    salon: Salon
    late: bool
    # The co-host whose group this reminder is for; None for the host museum's.
    partner: Partner | None = None


async def _drop(session: AsyncSession, reminder_ids: list[int]) -> None:
    if reminder_ids:
        await session.execute(
            update(Reminder)
            .where(Reminder.id.in_(reminder_ids), Reminder.status == ReminderStatus.PENDING)
            .values(status=ReminderStatus.DROPPED)
        )


async def take_due(session: AsyncSession, now: datetime) -> list[Due]:
    """Claim the reminders to send now; drop the ones that no longer make sense."""
    rows = list(
        await session.execute(
            select(Reminder, Salon, Partner)
            .join(Salon, Salon.id == Reminder.salon_id)
            .outerjoin(Partner, Partner.id == Reminder.partner_id)
            .where(Reminder.status == ReminderStatus.PENDING, Reminder.due_at <= now)
            .order_by(Reminder.salon_id, Reminder.partner_id, Reminder.due_at)
        )
    )
    by_group: dict[tuple[int, int | None], list[tuple[Reminder, Salon]]] = {}
    partners: dict[int, Partner] = {}
    for reminder, salon, co_host in rows:
        by_group.setdefault((salon.id, reminder.partner_id), []).append((reminder, salon))
        if co_host is not None:
            partners[co_host.id] = co_host
    taken: list[Due] = []
    for (_salon_id, partner_id), pairs in by_group.items():
        salon = pairs[0][1]
        latest, _ = pairs[-1]
        is_start = latest.offset_minutes == 0
        still_ahead = (
            salon.status == SalonStatus.PLANNED
            and salon.planned_start_at is not None
            and (salon.planned_start_at > now or (is_start and now - latest.due_at <= ON_TIME))
        )
        if not still_ahead:
            await _drop(session, [r.id for r, _ in pairs])
            continue
        await _drop(session, [r.id for r, _ in pairs[:-1]])
        late = now - latest.due_at > ON_TIME
        claimed = await session.execute(
            update(Reminder)
            .where(Reminder.id == latest.id, Reminder.status == ReminderStatus.PENDING)
            .values(status=ReminderStatus.SENT, sent_at=now, late=late)
        )
        if claimed.rowcount:  # type: ignore[attr-defined]
            partner = partners.get(partner_id) if partner_id is not None else None
            taken.append(Due(latest, salon, late, partner))
    return taken


async def unanswered(session: AsyncSession, before: datetime) -> tuple[int, list[Question]]:
    """Questions from earlier sessions still waiting for an answer: how many, and the oldest."""
    waiting = select(Question).where(
        Question.status.in_([QuestionStatus.OPEN, QuestionStatus.TAKEN]),
        Question.posted_at < before,
    )
    found = list(await session.scalars(waiting.order_by(Question.posted_at)))
    return len(found), found[:OLDEST_SHOWN]
