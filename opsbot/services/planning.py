"""Salons planned ahead: one-off and weekly, duty curators, and the reminders they carry.

Reminders are rows, so they survive restarts. Their times are computed on the wall clock of
the museum's time zone: "24 hours before Sunday 19:00" is Saturday 19:00 even when the clocks
change overnight.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.models import (
    Duty,
    Partner,
    Reminder,
    ReminderStatus,
    Salon,
    SalonSeries,
    SalonStatus,
    StaffMember,
)
from opsbot.services.schedule_parse import Weekly, next_occurrences

PLAN_AHEAD = 8
# The start itself is a reminder too: it starts the salon or tells the moderators to.
START_OFFSET = timedelta(0)


def reminder_due(starts_at: datetime, offset: timedelta, zone: ZoneInfo) -> datetime:
    """`offset` before the start, counted on the local wall clock."""
    local = starts_at.astimezone(zone).replace(tzinfo=None) - offset
    return local.replace(tzinfo=zone).astimezone(starts_at.tzinfo)


class PlanRefusal(StrEnum):
    CLASH = "clash"
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class Planned:
    salons: list[Salon]
    refusal: PlanRefusal | None = None
    clash: Salon | None = None


async def clash(
    session: AsyncSession, starts_at: datetime, duration: timedelta, *, ignore: int | None = None
) -> Salon | None:
    """A planned or live salon whose time overlaps [starts_at, starts_at + duration)."""
    candidates = await session.scalars(
        select(Salon).where(Salon.status.in_([SalonStatus.PLANNED, SalonStatus.LIVE]))
    )
    for other in candidates:
        span = _span(other)
        if other.id == ignore or span is None:
            continue
        other_start, other_end = span
        if other_start < starts_at + duration and starts_at < other_end:
            return other
    return None


def _span(salon: Salon) -> tuple[datetime, datetime] | None:
    """When the salon runs: a live one by its real start and end (it may have been started on
    the spot, or later than planned), a planned one by its plan."""
    if salon.status == SalonStatus.LIVE and salon.started_at and salon.planned_end_at:
        return salon.started_at, salon.planned_end_at
    if salon.planned_start_at is None:
        return None
    return salon.planned_start_at, salon.planned_start_at + timedelta(
        minutes=salon.duration_minutes
    )


async def _add_reminders(
    session: AsyncSession, salon: Salon, offsets: Sequence[timedelta], zone: ZoneInfo
) -> None:
    assert salon.planned_start_at is not None
    for offset in [*offsets, START_OFFSET]:
        session.add(
            Reminder(
                salon_id=salon.id,
                offset_minutes=int(offset.total_seconds() // 60),
                due_at=reminder_due(salon.planned_start_at, offset, zone),
                status=ReminderStatus.PENDING,
            )
        )
    if salon.partner_id is not None:
        await add_partner_reminders(session, salon, offsets)


async def add_partner_reminders(
    session: AsyncSession, salon: Salon, offsets: Sequence[timedelta]
) -> None:
    """The co-host's own set, on its own wall clock. Only the host starts the salon, so the
    partner gets no start reminder."""
    assert salon.planned_start_at is not None and salon.partner_id is not None
    partner = await session.get(Partner, salon.partner_id)
    if partner is None:
        return
    zone = ZoneInfo(partner.timezone)
    for offset in offsets:
        session.add(
            Reminder(
                salon_id=salon.id,
                partner_id=partner.id,
                offset_minutes=int(offset.total_seconds() // 60),
                due_at=reminder_due(salon.planned_start_at, offset, zone),
                status=ReminderStatus.PENDING,
            )
        )


async def plan_one(
    session: AsyncSession,
    *,
    starts_at: datetime,
    topic: str,
    duration: timedelta,
    by: int | None,
    offsets: Sequence[timedelta],
    zone: ZoneInfo,
    series_id: int | None = None,
    partner_id: int | None = None,
) -> Planned:
    other = await clash(session, starts_at, duration)
    if other is not None:
        return Planned([], PlanRefusal.CLASH, other)
    salon = Salon(
        topic=topic,
        status=SalonStatus.PLANNED,
        planned_start_at=starts_at,
        duration_minutes=int(duration.total_seconds() // 60),
        started_by=by,
        series_id=series_id,
        partner_id=partner_id,
    )
    session.add(salon)
    await session.flush()
    await _add_reminders(session, salon, offsets, zone)
    return Planned([salon])


async def plan_series(
    session: AsyncSession,
    weekly: Weekly,
    *,
    by: int | None,
    offsets: Sequence[timedelta],
    zone: ZoneInfo,
    now: datetime,
) -> Planned:
    first = next_occurrences(weekly, after=now, zone=zone, count=1)[0]
    other = await clash(session, first, weekly.duration)
    if other is not None:
        return Planned([], PlanRefusal.CLASH, other)
    series = SalonSeries(
        weekday=weekly.weekday,
        local_time=weekly.local_time.strftime("%H:%M"),
        topic=weekly.topic,
        duration_minutes=int(weekly.duration.total_seconds() // 60),
        created_by=by,
    )
    session.add(series)
    await session.flush()
    planned = await top_up(session, series, offsets=offsets, zone=zone, now=now)
    return Planned(planned)


async def top_up(
    session: AsyncSession,
    series: SalonSeries,
    *,
    offsets: Sequence[timedelta],
    zone: ZoneInfo,
    now: datetime,
) -> list[Salon]:
    """Keep the series' next PLAN_AHEAD occurrences planned; a week that clashes is skipped."""
    known = [
        at
        for at in await session.scalars(
            select(Salon.planned_start_at).where(
                Salon.series_id == series.id, Salon.planned_start_at.is_not(None)
            )
        )
        if at is not None
    ]
    upcoming = [at for at in known if at > now]
    missing = PLAN_AHEAD - len(upcoming)
    if missing <= 0 or not series.active:
        return []
    hour, minute = (int(part) for part in series.local_time.split(":"))
    weekly = Weekly(
        weekday=series.weekday,
        local_time=time(hour, minute),
        topic=series.topic,
        duration=timedelta(minutes=series.duration_minutes),
    )
    after = max([now, *known]) if known else now
    created = []
    for starts_at in next_occurrences(weekly, after=after, zone=zone, count=missing):
        result = await plan_one(
            session,
            starts_at=starts_at,
            topic=series.topic,
            duration=weekly.duration,
            by=series.created_by,
            offsets=offsets,
            zone=zone,
            series_id=series.id,
        )
        created += result.salons
    return created


async def top_up_all(
    session: AsyncSession, *, offsets: Sequence[timedelta], zone: ZoneInfo, now: datetime
) -> None:
    for series in list(await session.scalars(select(SalonSeries).where(SalonSeries.active))):
        await top_up(session, series, offsets=offsets, zone=zone, now=now)


async def upcoming(session: AsyncSession, now: datetime, limit: int = PLAN_AHEAD) -> list[Salon]:
    return list(
        await session.scalars(
            select(Salon)
            .where(
                Salon.status == SalonStatus.PLANNED,
                Salon.planned_start_at > now - timedelta(hours=1),
            )
            .order_by(Salon.planned_start_at)
            .limit(limit)
        )
    )


async def due_to_start(session: AsyncSession, now: datetime, window: timedelta) -> Salon | None:
    """The planned salon whose start is within `window` of now, for a bare /start_salon."""
    return await session.scalar(
        select(Salon)
        .where(
            Salon.status == SalonStatus.PLANNED,
            Salon.planned_start_at >= now - window,
            Salon.planned_start_at <= now + window,
        )
        .order_by(Salon.planned_start_at)
        .limit(1)
    )


async def planned(session: AsyncSession, salon_id: int) -> Salon | None:
    salon = await session.get(Salon, salon_id)
    if salon is None or salon.status != SalonStatus.PLANNED:
        return None
    return salon


async def unschedule(session: AsyncSession, salon_id: int, *, whole_series: bool) -> list[int]:
    """Cancel one planned salon, or every planned salon of its series; their reminders go."""
    salon = await planned(session, salon_id)
    if salon is None:
        return []
    ids = [salon.id]
    if whole_series and salon.series_id is not None:
        await session.execute(
            update(SalonSeries).where(SalonSeries.id == salon.series_id).values(active=False)
        )
        ids = list(
            await session.scalars(
                select(Salon.id).where(
                    Salon.series_id == salon.series_id, Salon.status == SalonStatus.PLANNED
                )
            )
        )
    await session.execute(
        update(Salon).where(Salon.id.in_(ids)).values(status=SalonStatus.CANCELLED)
    )
    await session.execute(
        delete(Reminder).where(
            Reminder.salon_id.in_(ids), Reminder.status == ReminderStatus.PENDING
        )
    )
    return ids


async def reschedule(
    session: AsyncSession,
    salon_id: int,
    starts_at: datetime,
    *,
    offsets: Sequence[timedelta],
    zone: ZoneInfo,
) -> Planned:
    salon = await planned(session, salon_id)
    if salon is None:
        return Planned([], PlanRefusal.NOT_FOUND)
    other = await clash(
        session, starts_at, timedelta(minutes=salon.duration_minutes), ignore=salon.id
    )
    if other is not None:
        return Planned([], PlanRefusal.CLASH, other)
    salon.planned_start_at = starts_at
    # A new time gets the full set of reminders again, whatever the old time had sent.
    await session.execute(delete(Reminder).where(Reminder.salon_id == salon.id))
    await session.flush()
    await _add_reminders(session, salon, offsets, zone)
    return Planned([salon])


async def set_auto_start(session: AsyncSession, salon_id: int, enabled: bool) -> bool:
    result = await session.execute(
        update(Salon)
        .where(Salon.id == salon_id, Salon.status == SalonStatus.PLANNED)
        .values(auto_start=enabled)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def set_duty(session: AsyncSession, salon_id: int, telegram_ids: Sequence[int]) -> None:
    """Replace the salon's roster. The salon's row is locked first (FOR UPDATE on PostgreSQL;
    SQLite's BEGIN IMMEDIATE already serialises writers), so two /duty at once leave one
    roster whole instead of colliding on the same curator."""
    await session.execute(select(Salon.id).where(Salon.id == salon_id).with_for_update())
    await session.execute(delete(Duty).where(Duty.salon_id == salon_id))
    for telegram_id in dict.fromkeys(telegram_ids):
        session.add(Duty(salon_id=salon_id, telegram_id=telegram_id))


async def on_duty(session: AsyncSession, salon_id: int) -> list[StaffMember]:
    """Every curator on duty, the co-host's too: each museum's own are told by `partner_id`."""
    return list(
        await session.scalars(
            select(StaffMember)
            .join(Duty, Duty.telegram_id == StaffMember.telegram_id)
            .where(Duty.salon_id == salon_id)
            .order_by(StaffMember.first_name)
        )
    )


async def staff_by_username(session: AsyncSession, username: str) -> StaffMember | None:
    return await session.scalar(
        select(StaffMember).where(
            func.lower(StaffMember.username) == username.removeprefix("@").lower()
        )
    )
