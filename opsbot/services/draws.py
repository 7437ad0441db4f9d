"""The salon's lottery in the database: who may enter, the one stored result, redraws.

Fairness comes from `lottery` (commit at start, reveal at the draw); here is who counts.
Entrants are the distinct X accounts that posted with the hashtag or mentioned the museum
during the salon, less the museum, the staff's own accounts, the exclusion list, posts hidden
as spam, and recent winners.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.models import (
    DeliveryKind,
    Draw,
    Exclusion,
    Question,
    QuestionStatus,
    Salon,
    SalonStatus,
    StaffMember,
)
from opsbot.services import lottery, outbox

MAX_WINNERS = 100


class DrawRefusal(StrEnum):
    NO_SALON = "no_salon"
    NOT_STARTED = "not_started"
    STILL_LIVE = "still_live"
    NO_ENTRANTS = "no_entrants"
    FEWER_ENTRANTS = "fewer_entrants"


@dataclass(frozen=True)
class Entrant:
    id: str
    handle: str


@dataclass(frozen=True)
class DrawOutcome:
    draw: Draw | None
    created: bool = False
    refusal: DrawRefusal | None = None
    entrants: int = 0


async def excluded_handles(session: AsyncSession) -> set[str]:
    staff = await session.scalars(
        select(StaffMember.x_handle).where(StaffMember.x_handle.is_not(None))
    )
    listed = await session.scalars(select(Exclusion.handle))
    return {h.lower() for h in staff if h} | {h.lower() for h in listed}


async def recent_winners(
    session: AsyncSession, salon_id: int, now: datetime, cooldown: timedelta
) -> set[str]:
    draws = await session.scalars(
        select(Draw).where(Draw.salon_id != salon_id, Draw.drawn_at >= now - cooldown)
    )
    return {winner for draw in draws for winner in json.loads(draw.winners)}


async def entrants(
    session: AsyncSession, salon: Salon, *, now: datetime, cooldown: timedelta
) -> list[Entrant]:
    """The salon's eligible accounts, in the lottery's canonical order."""
    posts = await session.execute(
        select(Question.author_id, Question.author_handle).where(
            Question.salon_id == salon.id,
            Question.after_salon.is_(False),
            Question.status != QuestionStatus.HIDDEN,
        )
    )
    handles: dict[str, str] = {}
    for author_id, handle in posts:
        handles.setdefault(author_id, handle)
    excluded = await excluded_handles(session)
    winners = await recent_winners(session, salon.id, now, cooldown)
    eligible = {
        author_id: handle
        for author_id, handle in handles.items()
        if handle.lower() not in excluded and author_id not in winners
    }
    return [Entrant(i, eligible[i]) for i in lottery.canonical_entrants(eligible)]


async def get(session: AsyncSession, draw_id: int) -> Draw | None:
    return await session.get(Draw, draw_id)


async def stored(session: AsyncSession, salon_id: int) -> Draw | None:
    return await session.scalar(
        select(Draw).where(Draw.salon_id == salon_id).execution_options(populate_existing=True)
    )


async def draw(
    session: AsyncSession,
    salon: Salon | None,
    *,
    winners: int,
    prize: str,
    by: int | None,
    now: datetime,
    cooldown: timedelta,
) -> DrawOutcome:
    """Draw once per salon; a second /draw gets the stored result, never a new one."""
    if salon is None:
        return DrawOutcome(None, refusal=DrawRefusal.NO_SALON)
    existing = await stored(session, salon.id)
    if existing is not None:
        return DrawOutcome(existing)
    if salon.status in (SalonStatus.PLANNED, SalonStatus.CANCELLED) or salon.started_at is None:
        return DrawOutcome(None, refusal=DrawRefusal.NOT_STARTED)
    if salon.status == SalonStatus.LIVE:
        return DrawOutcome(None, refusal=DrawRefusal.STILL_LIVE)
    people = await entrants(session, salon, now=now, cooldown=cooldown)
    if not people:
        return DrawOutcome(None, refusal=DrawRefusal.NO_ENTRANTS)
    if len(people) < winners:
        return DrawOutcome(None, refusal=DrawRefusal.FEWER_ENTRANTS, entrants=len(people))
    result = lottery.draw(bytes.fromhex(salon.secret), [p.id for p in people], winners)
    row = Draw(
        salon_id=salon.id,
        drawn_at=now,
        drawn_by=by,
        winners_count=winners,
        prize=prize,
        entrant_hash=result.entrant_hash,
        entrants=json.dumps([{"id": p.id, "handle": p.handle} for p in people]),
        ranking=json.dumps(result.winners + result.reserve),
        winners=json.dumps(result.winners),
        next_reserve=len(result.winners),
    )
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        # Another /draw for this salon committed first: its result is the result.
        existing = await stored(session, salon.id)
        return DrawOutcome(existing, entrants=len(people))
    return DrawOutcome(row, created=True, entrants=len(people))


class RedrawRefusal(StrEnum):
    NO_DRAW = "no_draw"
    NOT_A_WINNER = "not_a_winner"
    NO_RESERVE = "no_reserve"


@dataclass(frozen=True)
class Redrawn:
    draw: Draw | None
    replaced: str | None = None
    promoted: str | None = None
    refusal: RedrawRefusal | None = None


def handles_of(row: Draw) -> dict[str, str]:
    return {e["id"]: e["handle"] for e in json.loads(row.entrants)}


async def redraw(session: AsyncSession, salon_id: int, handle: str) -> Redrawn:
    """Replace a winner who did not answer by the next account in the ranking.

    No new randomness: the ranking was fixed by the revealed secret.
    """
    row = await stored(session, salon_id)
    if row is None:
        return Redrawn(None, refusal=RedrawRefusal.NO_DRAW)
    names = handles_of(row)
    current = json.loads(row.winners)
    target = next((w for w in current if names.get(w, "").lower() == handle.lower()), None)
    if target is None:
        return Redrawn(row, refusal=RedrawRefusal.NOT_A_WINNER)
    ranking = json.loads(row.ranking)
    if row.next_reserve >= len(ranking):
        return Redrawn(row, refusal=RedrawRefusal.NO_RESERVE)
    promoted = ranking[row.next_reserve]
    updated = [promoted if w == target else w for w in current]
    result = await session.execute(
        update(Draw)
        .where(Draw.id == row.id, Draw.version == row.version)
        .values(
            winners=json.dumps(updated),
            next_reserve=row.next_reserve + 1,
            version=row.version + 1,
        )
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        # Someone redrew at the same moment; report the state they left.
        return Redrawn(await stored(session, salon_id), refusal=RedrawRefusal.NOT_A_WINNER)
    return Redrawn(await stored(session, salon_id), replaced=target, promoted=promoted)


async def exclude(session: AsyncSession, handle: str, by: int | None) -> bool:
    if await session.get(Exclusion, handle) is not None:
        return False
    session.add(Exclusion(handle=handle, added_by=by))
    return True


async def include(session: AsyncSession, handle: str) -> bool:
    row = await session.get(Exclusion, handle)
    if row is None:
        return False
    await session.delete(row)
    return True


def announcement_key(draw_id: int) -> str:
    return f"winners:{draw_id}"


async def announce(
    session: AsyncSession, draw_id: int, text: str, *, now: datetime, origin: outbox.Origin
) -> outbox.Queued:
    """The winners' announcement into the outbox, once (again only after it failed)."""
    return await outbox.enqueue(
        session,
        key=announcement_key(draw_id),
        kind=DeliveryKind.WINNERS,
        payload=text,
        now=now,
        origin=origin,
        draw_id=draw_id,
    )
