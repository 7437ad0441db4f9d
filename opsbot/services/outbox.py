"""The outbox: every post to X that must happen once (answers and their threads, salon
announcements, /ask prompts, winners) goes through one table and these functions.

Invariants:
- A row is queued once per `key` (INSERT … ON CONFLICT DO NOTHING): a second press, a second
  /ask or a redelivered update finds the row already there.
- pending -> sending -> sent | failed, each step a conditional UPDATE. A claim increments the
  fencing `token` and gives a lease; the holder renews it before posting and records the
  outcome only while the token is still its own, so a sender that was taken over can neither
  post again nor overwrite what its successor recorded. A live lease is never taken over;
  `force` (only at start, when the instance lock says no other process runs) takes over every
  row left `sending`.
- A row X may already have (a timeout, a 5xx, a crash after sending) is `maybe_posted` for
  good: every later attempt looks for it on X first and adopts what it finds.
- Attempts X did not answer are counted and bounded; waits X asked for (its rate limit, keys
  or credits it refused) are not attempts.
- The staff are told a row's final outcome once (`told_at`, claimed before telling).

Nothing here knows X or Telegram: the sender (`opsbot.x.publisher`) and the loop that drives
it and shows outcomes (`opsbot.telegram.outbox`) do.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from opsbot.db.base import UTCDateTime
from opsbot.db.models import (
    Delivery,
    DeliveryFailure,
    DeliveryKind,
    DeliveryState,
    DeliveryWait,
)
from opsbot.db.upsert import insert_missing
from opsbot.services.tweet_urls import extract_urls_with_indices

# How long a sender may hold a row before it may be taken over; renewed before each post.
LEASE = timedelta(minutes=5)
# A wait X asks for is never shorter: a reset time already past must not spin the loop.
MIN_WAIT = timedelta(seconds=1)
UNSENT = (DeliveryState.PENDING, DeliveryState.SENDING)
FINISHED = (DeliveryState.SENT, DeliveryState.FAILED)


class Outcome(StrEnum):
    """What one attempt at a delivery came to."""

    POSTED = "posted"
    # Found on X from an earlier attempt whose answer was lost: recorded, not posted again.
    ADOPTED = "adopted"
    # X asked to wait (rate limit) or refused the museum itself: tried again later.
    WAITING = "waiting"
    # X did not answer: tried again later, after looking for the post.
    RETRYING = "retrying"
    # X refused the post itself, or it could not be posted any more.
    FAILED = "failed"
    # X did not answer too many times.
    GAVE_UP = "gave_up"
    # Another sender holds it now.
    TAKEN_OVER = "taken_over"


@dataclass(frozen=True)
class Delivered:
    outcome: Outcome
    delivery: Delivery
    # X refused the museum itself, and this attempt was the one that raised the alert.
    alert_raised: bool = False


@dataclass(frozen=True)
class Queued:
    delivery: Delivery
    # False: it was already queued, sending or sent; `delivery` says which.
    created: bool


@dataclass(frozen=True)
class Origin:
    """Where in the staff group it was asked for, and by whom: its outcome is shown there."""

    requested_by: int | None = None
    chat_id: int | None = None
    message_id: int | None = None
    thread_id: int | None = None


async def get(session: AsyncSession, delivery_id: int) -> Delivery | None:
    return await session.scalar(
        select(Delivery).where(Delivery.id == delivery_id).execution_options(populate_existing=True)
    )


async def by_key(session: AsyncSession, key: str) -> Delivery | None:
    return await session.scalar(
        select(Delivery).where(Delivery.key == key).execution_options(populate_existing=True)
    )


async def enqueue(
    session: AsyncSession,
    *,
    key: str,
    kind: DeliveryKind,
    payload: str,
    now: datetime,
    origin: Origin,
    target: str | None = None,
    follows_id: int | None = None,
    answer_id: int | None = None,
    salon_id: int | None = None,
    draw_id: int | None = None,
    number: int | None = None,
    partner_id: int | None = None,
    retry_failed: bool = True,
) -> Queued:
    """Queue a post once per `key`; with `retry_failed`, a failed one is queued again.

    A failed row keeps `maybe_posted` when queued again: what X may have is still looked for.
    """
    row = {
        "key": key,
        "kind": kind,
        "payload": payload,
        "target": target,
        "follows_id": follows_id,
        "state": DeliveryState.PENDING,
        "token": 0,
        "attempts": 0,
        "next_attempt_at": now,
        "maybe_posted": False,
        "last_error": "",
        "failure": None,
        "answer_id": answer_id,
        "salon_id": salon_id,
        "draw_id": draw_id,
        "number": number,
        "partner_id": partner_id,
        "requested_by": origin.requested_by,
        "origin_chat_id": origin.chat_id,
        "origin_message_id": origin.message_id,
        "origin_thread_id": origin.thread_id,
        "created_at": now,
    }
    created = await insert_missing(session, Delivery, [row], key=["key"])
    if not created and retry_failed:
        result = await session.execute(
            update(Delivery)
            .where(Delivery.key == key, Delivery.state == DeliveryState.FAILED)
            .values(
                state=DeliveryState.PENDING,
                payload=payload,
                attempts=0,
                next_attempt_at=now,
                waiting_for=None,
                last_error="",
                failure=None,
                told_at=None,
                requested_by=origin.requested_by,
                origin_chat_id=origin.chat_id,
                origin_message_id=origin.message_id,
                origin_thread_id=origin.thread_id,
            )
        )
        created = [key] if result.rowcount else []  # type: ignore[attr-defined]
    found = await by_key(session, key)
    assert found is not None
    return Queued(found, bool(created))


async def withdraw(
    session: AsyncSession, *, key: str, kind: DeliveryKind, now: datetime, origin: Origin
) -> bool:
    """Mark a post that must never go out (Skip): True unless it is already under way or out."""
    row = {
        "key": key,
        "kind": kind,
        "payload": "",
        "state": DeliveryState.CANCELLED,
        "token": 0,
        "attempts": 0,
        "next_attempt_at": now,
        "maybe_posted": False,
        "last_error": "",
        "requested_by": origin.requested_by,
        "created_at": now,
    }
    if await insert_missing(session, Delivery, [row], key=["key"]):
        return True
    result = await session.execute(
        update(Delivery)
        .where(Delivery.key == key, Delivery.state == DeliveryState.FAILED)
        .values(state=DeliveryState.CANCELLED)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _due(now: datetime, *, force: bool) -> ColumnElement[bool]:
    followed = aliased(Delivery)
    ready = or_(
        Delivery.follows_id.is_(None),
        exists().where(followed.id == Delivery.follows_id, followed.state == DeliveryState.SENT),
    )
    lease_over = (
        true() if force else or_(Delivery.lease_until.is_(None), Delivery.lease_until <= now)
    )
    return and_(
        ready,
        or_(
            and_(Delivery.state == DeliveryState.PENDING, Delivery.next_attempt_at <= now),
            and_(Delivery.state == DeliveryState.SENDING, lease_over),
        ),
    )


async def due(session: AsyncSession, now: datetime, *, force: bool = False) -> list[int]:
    """Rows to (re)try now, oldest first: pending and due, or sending with no live holder."""
    result = await session.scalars(
        select(Delivery.id).where(_due(now, force=force)).order_by(Delivery.id)
    )
    return list(result)


async def claim(
    session: AsyncSession, delivery_id: int, now: datetime, *, force: bool = False
) -> Delivery | None:
    """Take a due row for one sender; None if it is not due (any more).

    A row taken over from `sending` lost its sender mid-attempt: that attempt counts, and X
    may have its post.
    """
    taken_over = Delivery.state == DeliveryState.SENDING
    result = await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, _due(now, force=force))
        .values(
            state=DeliveryState.SENDING,
            token=Delivery.token + 1,
            lease_until=now + LEASE,
            first_attempt_at=func.coalesce(Delivery.first_attempt_at, literal(now, UTCDateTime())),
            maybe_posted=or_(Delivery.maybe_posted, taken_over),
            attempts=Delivery.attempts + case((taken_over, 1), else_=0),
        )
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    return await get(session, delivery_id)


async def holds(session: AsyncSession, row: Delivery, now: datetime) -> bool:
    """Renew the lease if this sender (`row.token`) still holds the row."""
    result = await session.execute(
        update(Delivery).where(_held(row)).values(lease_until=now + LEASE)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _held(row: Delivery) -> ColumnElement[bool]:
    return and_(
        Delivery.id == row.id,
        Delivery.token == row.token,
        Delivery.state == DeliveryState.SENDING,
    )


async def target_of(session: AsyncSession, row: Delivery) -> str | None:
    """The post it replies to: its own target, or the post of the delivery it follows."""
    if row.follows_id is None:
        return row.target
    return await session.scalar(
        select(Delivery.external_id).where(
            Delivery.id == row.follows_id, Delivery.state == DeliveryState.SENT
        )
    )


async def record_sent(
    session: AsyncSession, row: Delivery, external_id: str, now: datetime
) -> bool:
    result = await session.execute(
        update(Delivery)
        .where(_held(row))
        .values(
            state=DeliveryState.SENT,
            external_id=external_id,
            sent_at=now,
            lease_until=None,
            waiting_for=None,
            last_error="",
            failure=None,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def record_wait(
    session: AsyncSession,
    row: Delivery,
    *,
    until: datetime,
    now: datetime,
    why: DeliveryWait,
    error: str,
    maybe_posted: bool = False,
    failure: DeliveryFailure | None = None,
) -> bool:
    """Back to pending until `until`. `why` UNKNOWN (X did not answer) counts as an attempt;
    `maybe_posted` says the post itself was sent, so X may have it; `failure` is what the
    row fails with if no later attempt gets through."""
    values: dict[str, object] = {
        "state": DeliveryState.PENDING,
        "next_attempt_at": max(until, now + MIN_WAIT),
        "waiting_for": why,
        "last_error": error[:2000],
        "failure": failure,
        "lease_until": None,
    }
    if why == DeliveryWait.UNKNOWN:
        values["attempts"] = Delivery.attempts + 1
    if maybe_posted:
        values["maybe_posted"] = True
    result = await session.execute(update(Delivery).where(_held(row)).values(values))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def record_failed(
    session: AsyncSession,
    row: Delivery,
    failure: DeliveryFailure,
    error: str,
    now: datetime,
) -> list[Delivery]:
    """Give the row up, `failure` saying why and `error` in X's words; rows that were to
    follow it (later parts of a thread) fail with it.

    The followers count as told: their outcome is shown with the row they followed.
    """
    result = await session.execute(
        update(Delivery)
        .where(_held(row))
        .values(
            state=DeliveryState.FAILED,
            failure=failure,
            last_error=error[:2000],
            lease_until=None,
        )
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return []
    failed = [row.id]
    cursor = row.id
    while True:
        follower = await session.scalar(
            select(Delivery.id).where(Delivery.follows_id == cursor, Delivery.state.in_(UNSENT))
        )
        if follower is None:
            break
        await session.execute(
            update(Delivery)
            .where(Delivery.id == follower)
            .values(
                state=DeliveryState.FAILED,
                failure=DeliveryFailure.FOLLOWED_FAILED,
                last_error=f"not posted: delivery {row.id} failed",
                lease_until=None,
                told_at=now,
            )
        )
        failed.append(follower)
        cursor = follower
    return [found for found in [await get(session, i) for i in failed] if found is not None]


async def untold(session: AsyncSession) -> list[Delivery]:
    """Finished rows whose outcome the staff have not been told (a stop came in between)."""
    result = await session.scalars(
        select(Delivery)
        .where(Delivery.state.in_(FINISHED), Delivery.told_at.is_(None))
        .order_by(Delivery.id)
    )
    return list(result)


async def unsettled(session: AsyncSession) -> int:
    """Rows still to go out, or gone out with the staff not told yet."""
    count = await session.scalar(
        select(func.count())
        .select_from(Delivery)
        .where(
            or_(
                Delivery.state.in_(UNSENT),
                and_(Delivery.state.in_(FINISHED), Delivery.told_at.is_(None)),
            )
        )
    )
    return int(count or 0)


async def mark_told(session: AsyncSession, delivery_id: int, now: datetime) -> bool:
    """Claim telling the staff the outcome; True only once per row."""
    result = await session.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery_id,
            Delivery.state.in_(FINISHED),
            Delivery.told_at.is_(None),
        )
        .values(told_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def unmark_told(session: AsyncSession, delivery_id: int) -> None:
    """The staff were not told after all (the bot stopped first): tell them after restart."""
    await session.execute(update(Delivery).where(Delivery.id == delivery_id).values(told_at=None))


async def of_answers(session: AsyncSession, answer_ids: Sequence[int]) -> dict[int, Delivery]:
    """The deliveries of these answer parts, by answer id."""
    if not answer_ids:
        return {}
    result = await session.scalars(
        select(Delivery)
        .where(Delivery.answer_id.in_(list(answer_ids)))
        .execution_options(populate_existing=True)
    )
    return {row.answer_id: row for row in result if row.answer_id is not None}


async def follower_of(session: AsyncSession, delivery_id: int) -> Delivery | None:
    return await session.scalar(select(Delivery).where(Delivery.follows_id == delivery_id))


def _comparable(text: str) -> str:
    # X stores NFC, may escape &, < and >, and wraps every link in its own t.co link.
    text = unicodedata.normalize("NFC", html.unescape(text))
    pieces: list[str] = []
    cursor = 0
    for url in extract_urls_with_indices(text):
        pieces += [text[cursor : url.start], "\x00"]
        cursor = url.end
    pieces.append(text[cursor:])
    return re.sub(r"\s+", " ", "".join(pieces)).strip()


def same_text(ours: str, on_x: str) -> bool:
    """Whether a post found on X is this payload, as X shows it."""
    return _comparable(ours) == _comparable(on_x)
