"""The salon's lottery in the database: who may enter, the one stored result, redraws.

Fairness comes from `lottery` (commit at start, reveal at the draw); here is who counts.
Entrants are the distinct X accounts that posted with the hashtag or mentioned the museum
during the salon, less the museum, the staff's own accounts, the exclusion list, posts hidden
as spam, and recent winners.

A co-hosted salon has one joint draw: its questions already hold the posts that mentioned
either museum, so the entrants are gathered the same way; left out are both accounts, the
staff of both (every StaffMember's X handle, whoever they work for), the host's exclusion
list and the partner's. One commitment (the salon's), one stored result.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, delete, select, update
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
from opsbot.db.upsert import insert_missing
from opsbot.services import lottery, outbox, partners

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


async def excluded_handles(
    session: AsyncSession, *, partner_id: int | None = None, accounts: Iterable[str] = ()
) -> set[str]:
    """Staff of every museum, the host's list, the co-host's list (`partner_id`) and the
    museums' own `accounts`."""
    staff = await session.scalars(
        select(StaffMember.x_handle).where(StaffMember.x_handle.is_not(None))
    )
    lists: ColumnElement[bool] = Exclusion.partner_id.is_(None)
    if partner_id is not None:
        lists = lists | (Exclusion.partner_id == partner_id)
    listed = await session.scalars(select(Exclusion.handle).where(lists))
    return (
        {h.lower() for h in staff if h}
        | {h.lower() for h in listed}
        | {h.lower().lstrip("@") for h in accounts}
    )


async def recent_winners(
    session: AsyncSession, salon_id: int, now: datetime, cooldown: timedelta
) -> set[str]:
    draws = await session.scalars(
        select(Draw).where(Draw.salon_id != salon_id, Draw.drawn_at >= now - cooldown)
    )
    return {winner for draw in draws for winner in json.loads(draw.winners)}


async def entrants(
    session: AsyncSession,
    salon: Salon,
    *,
    now: datetime,
    cooldown: timedelta,
    museum: str | None = None,
) -> list[Entrant]:
    """The salon's eligible accounts, in the lottery's canonical order (`museum`: the host's
    X handle)."""
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
    partner = await partners.co_host(session, salon)
    accounts = [h for h in (museum, partner.handle if partner else None) if h]
    excluded = await excluded_handles(
        session, partner_id=partner.id if partner else None, accounts=accounts
    )
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
    museum: str | None = None,
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
    people = await entrants(session, salon, now=now, cooldown=cooldown, museum=museum)
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


def _list_of(partner_id: int | None) -> ColumnElement[bool]:
    return (
        Exclusion.partner_id.is_(None) if partner_id is None else Exclusion.partner_id == partner_id
    )


async def exclude(
    session: AsyncSession, handle: str, by: int | None, *, partner_id: int | None = None
) -> bool:
    """Leave the account out, on the host's list or a partner's (`partner_id`); True only for
    the one call that added it (two /exclude at once must not collide on the key).

    The host's list applies to every draw, so the host taking over a handle a partner listed
    moves it there; a handle the host listed is already out of the partner's draws too.
    """
    added = await insert_missing(
        session,
        Exclusion,
        [{"handle": handle, "added_by": by, "partner_id": partner_id}],
        key=["handle"],
    )
    if added or partner_id is not None:
        return bool(added)
    moved = await session.execute(
        update(Exclusion)
        .where(Exclusion.handle == handle, Exclusion.partner_id.is_not(None))
        .values(partner_id=None, added_by=by)
    )
    return bool(moved.rowcount)  # type: ignore[attr-defined]


async def include(session: AsyncSession, handle: str, *, partner_id: int | None = None) -> bool:
    """Let the account back in from that museum's list; True only for the one call that
    removed it."""
    result = await session.execute(
        delete(Exclusion).where(Exclusion.handle == handle, _list_of(partner_id))
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def announcement_key(draw_id: int, partner_id: int | None = None) -> str:
    return f"winners:{draw_id}" if partner_id is None else f"winners:{draw_id}:p{partner_id}"


async def announce(
    session: AsyncSession,
    draw_id: int,
    text: str,
    *,
    now: datetime,
    origin: outbox.Origin,
    partner_id: int | None = None,
) -> outbox.Queued:
    """The winners' announcement into the outbox, once per account (again only after it
    failed): the host's, or the co-host's own (`partner_id`) when it posts it too."""
    return await outbox.enqueue(
        session,
        key=announcement_key(draw_id, partner_id),
        kind=DeliveryKind.WINNERS,
        payload=text,
        now=now,
        origin=origin,
        draw_id=draw_id,
        partner_id=partner_id,
    )


def salon_info(salon: Salon, hosts: list[str] | None = None) -> dict[str, object]:
    info: dict[str, object] = {
        "number": salon.id,
        "topic": salon.topic,
        "started_at": salon.started_at.isoformat() if salon.started_at else None,
        "ended_at": salon.ended_at.isoformat() if salon.ended_at else None,
    }
    if hosts:
        info["hosts"] = hosts
    return info


def export(salon: Salon, stored: Draw, hosts: list[str] | None = None) -> str:
    """The draw as made, for anyone to redo (`opsbot verify-draw`): a later /redraw only
    promotes from this reserve, in order."""
    names = handles_of(stored)
    ranking = json.loads(stored.ranking)
    result = lottery.DrawResult(
        entrants=list(names),
        entrant_hash=stored.entrant_hash,
        commitment=salon.commitment,
        secret_hex=salon.secret,
        winners=ranking[: stored.winners_count],
        reserve=ranking[stored.winners_count :],
    )
    return lottery.export_json(result, salon=salon_info(salon, hosts), handles=names)
