"""Salons planned ahead: clashes refused, weekly series topped up, reminders on the wall clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.models import Reminder, ReminderStatus, Salon, SalonStatus
from opsbot.services import planning, salons
from opsbot.services.planning import PLAN_AHEAD, PlanRefusal
from opsbot.services.schedule_parse import Weekly
from tests.unit.services.conftest import NOW, Sessions, add_staff, in_turn

BERLIN = ZoneInfo("Europe/Berlin")
OFFSETS = [timedelta(hours=24), timedelta(hours=1)]
HOUR = timedelta(hours=1)


async def plan(
    session: AsyncSession, starts_at: datetime, topic: str = "Winter"
) -> planning.Planned:
    return await planning.plan_one(
        session, starts_at=starts_at, topic=topic, duration=HOUR, by=1, offsets=OFFSETS, zone=BERLIN
    )


async def reminders_of(sessions: Sessions, salon_id: int) -> list[Reminder]:
    async def work(session: AsyncSession) -> list[Reminder]:
        return list(
            await session.scalars(
                select(Reminder).where(Reminder.salon_id == salon_id).order_by(Reminder.due_at)
            )
        )

    return await in_turn(sessions, work)


async def test_reminders_follow_the_wall_clock_across_a_clock_change(sessions: Sessions) -> None:
    # Sunday 25 October 2026, 19:00 in Berlin: the clocks went back that night.
    starts_at = datetime(2026, 10, 25, 18, 0, tzinfo=UTC)
    planned = await in_turn(sessions, lambda s: plan(s, starts_at))
    [salon] = planned.salons
    assert salon.status == SalonStatus.PLANNED and salon.duration_minutes == 60
    reminders = await reminders_of(sessions, salon.id)
    assert [(r.offset_minutes, r.due_at) for r in reminders] == [
        # Saturday 19:00 in Berlin was 17:00 UTC: 25 hours before, 24 on the wall clock.
        (24 * 60, datetime(2026, 10, 24, 17, 0, tzinfo=UTC)),
        (60, datetime(2026, 10, 25, 17, 0, tzinfo=UTC)),
        (0, starts_at),
    ]
    assert {r.status for r in reminders} == {ReminderStatus.PENDING}


async def test_a_clashing_salon_is_refused(sessions: Sessions) -> None:
    first = await in_turn(sessions, lambda s: plan(s, NOW))
    clash = await in_turn(sessions, lambda s: plan(s, NOW + HOUR / 2, "Spring"))
    assert clash.refusal == PlanRefusal.CLASH and clash.clash is not None
    assert clash.clash.id == first.salons[0].id
    back_to_back = await in_turn(sessions, lambda s: plan(s, NOW + HOUR, "Spring"))
    assert back_to_back.refusal is None


async def test_a_weekly_series_stays_planned_ahead_and_skips_a_clashing_week(
    sessions: Sessions,
) -> None:
    weekly = Weekly(weekday=5, local_time=time(19, 0), topic="Saturday salon", duration=HOUR)
    # Saturday 5 December 2026, 19:00 in Berlin is taken already.
    taken = await in_turn(sessions, lambda s: plan(s, datetime(2026, 12, 5, 18, 0, tzinfo=UTC)))
    assert taken.refusal is None

    async def series(session: AsyncSession) -> planning.Planned:
        return await planning.plan_series(
            session, weekly, by=1, offsets=OFFSETS, zone=BERLIN, now=NOW
        )

    planned = await in_turn(sessions, series)
    starts = [s.planned_start_at for s in planned.salons]
    assert starts[0] == datetime(2026, 11, 28, 18, 0, tzinfo=UTC)
    assert datetime(2026, 12, 5, 18, 0, tzinfo=UTC) not in starts
    assert len(starts) == PLAN_AHEAD - 1
    await in_turn(sessions, lambda s: planning.top_up_all(s, offsets=OFFSETS, zone=BERLIN, now=NOW))
    # The skipped week is made up for at the next top-up.
    ahead = await in_turn(sessions, lambda s: planning.upcoming(s, NOW, limit=50))
    assert len([s for s in ahead if s.series_id is not None]) == PLAN_AHEAD
    # A week later one more week is planned, so eight stay ahead.
    later = NOW + timedelta(days=7)
    await in_turn(
        sessions, lambda s: planning.top_up_all(s, offsets=OFFSETS, zone=BERLIN, now=later)
    )
    ahead = await in_turn(sessions, lambda s: planning.upcoming(s, later, limit=50))
    assert len([s for s in ahead if s.series_id is not None]) == PLAN_AHEAD
    # Cancelling the whole series cancels its planned salons and stops the top-up.
    first = planned.salons[1].id
    cancelled = await in_turn(sessions, lambda s: planning.unschedule(s, first, whole_series=True))
    assert len(cancelled) == PLAN_AHEAD + 1
    await in_turn(
        sessions, lambda s: planning.top_up_all(s, offsets=OFFSETS, zone=BERLIN, now=later)
    )
    left = await in_turn(sessions, lambda s: planning.upcoming(s, NOW, limit=50))
    assert [s.id for s in left] == [taken.salons[0].id]
    assert await reminders_of(sessions, first) == []


async def test_unschedule_and_reschedule_only_planned_salons(sessions: Sessions) -> None:
    planned = await in_turn(sessions, lambda s: plan(s, NOW + timedelta(days=2)))
    other = await in_turn(sessions, lambda s: plan(s, NOW + timedelta(days=3)))
    salon_id = planned.salons[0].id

    async def move(session: AsyncSession, to: datetime, which: int = salon_id) -> planning.Planned:
        return await planning.reschedule(session, which, to, offsets=OFFSETS, zone=BERLIN)

    clash = await in_turn(sessions, lambda s: move(s, NOW + timedelta(days=3, minutes=30)))
    assert clash.refusal == PlanRefusal.CLASH
    # Its own old time is no clash.
    moved = await in_turn(sessions, lambda s: move(s, NOW + timedelta(days=2, minutes=30)))
    assert moved.refusal is None
    reminders = await reminders_of(sessions, salon_id)
    assert [r.due_at for r in reminders][-1] == NOW + timedelta(days=2, minutes=30)
    assert len(reminders) == 3
    assert await in_turn(sessions, lambda s: planning.set_auto_start(s, salon_id, True))
    assert await in_turn(
        sessions, lambda s: planning.unschedule(s, salon_id, whole_series=True)
    ) == [salon_id]
    assert await reminders_of(sessions, salon_id) == []
    assert await in_turn(sessions, lambda s: planning.planned(s, salon_id)) is None
    assert (await in_turn(sessions, lambda s: move(s, NOW))).refusal == PlanRefusal.NOT_FOUND
    assert not await in_turn(sessions, lambda s: planning.set_auto_start(s, salon_id, False))
    assert (
        await in_turn(sessions, lambda s: planning.unschedule(s, salon_id, whole_series=False))
        == []
    )
    assert await in_turn(sessions, lambda s: planning.planned(s, other.salons[0].id)) is not None


async def test_a_bare_start_finds_the_salon_planned_for_about_now(sessions: Sessions) -> None:
    planned = await in_turn(sessions, lambda s: plan(s, NOW + timedelta(minutes=30)))
    window = timedelta(minutes=45)
    found = await in_turn(sessions, lambda s: planning.due_to_start(s, NOW, window))
    assert found is not None and found.id == planned.salons[0].id
    early = NOW - timedelta(minutes=20)
    assert await in_turn(sessions, lambda s: planning.due_to_start(s, early, window)) is None


async def test_duty_curators_by_their_usernames(sessions: Sessions) -> None:
    await add_staff(sessions, 1, first_name="Vera", username="Vera_Curator")
    await add_staff(sessions, 2, first_name="Boris", username="boris")
    planned = await in_turn(sessions, lambda s: plan(s, NOW + timedelta(days=1)))
    salon_id = planned.salons[0].id
    vera = await in_turn(sessions, lambda s: planning.staff_by_username(s, "@vera_curator"))
    assert vera is not None and vera.telegram_id == 1
    assert await in_turn(sessions, lambda s: planning.staff_by_username(s, "@nobody")) is None
    await in_turn(sessions, lambda s: planning.set_duty(s, salon_id, [1, 2, 1]))
    on_duty = await in_turn(sessions, lambda s: planning.on_duty(s, salon_id))
    assert [m.first_name for m in on_duty] == ["Boris", "Vera"]
    await in_turn(sessions, lambda s: planning.set_duty(s, salon_id, [2]))
    assert [
        m.telegram_id for m in await in_turn(sessions, lambda s: planning.on_duty(s, salon_id))
    ] == [2]


async def test_a_live_salon_counts_for_clashes(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        session.add(
            Salon(topic="Live", status=SalonStatus.LIVE, started_at=NOW, planned_start_at=NOW)
        )
    clash = await in_turn(sessions, lambda s: plan(s, NOW + HOUR / 2))
    assert clash.refusal == PlanRefusal.CLASH


async def test_a_salon_started_on_the_spot_counts_for_clashes(sessions: Sessions) -> None:
    started = await in_turn(
        sessions,
        lambda s: salons.start(s, topic="Now", duration=2 * HOUR, by=1, now=NOW),
    )
    assert started.salon is not None and started.salon.planned_start_at is None
    clash = await in_turn(sessions, lambda s: plan(s, NOW + HOUR))
    assert clash.refusal == PlanRefusal.CLASH and clash.clash is not None
    assert clash.clash.id == started.salon.id
    assert (await in_turn(sessions, lambda s: plan(s, NOW + 2 * HOUR))).refusal is None


async def test_a_planned_salon_started_late_counts_until_its_real_end(sessions: Sessions) -> None:
    planned = await in_turn(sessions, lambda s: plan(s, NOW))
    salon_id = planned.salons[0].id
    late = NOW + HOUR / 2
    await in_turn(
        sessions,
        lambda s: salons.start(s, topic="Winter", duration=HOUR, by=1, now=late, salon_id=salon_id),
    )
    clash = await in_turn(sessions, lambda s: plan(s, NOW + HOUR, "Spring"))
    assert clash.refusal == PlanRefusal.CLASH


async def test_two_duty_rosters_at_once_leave_one_of_them(sessions: Sessions) -> None:
    for person in (1, 2, 3):
        await add_staff(sessions, person, username=f"curator{person}")
    planned = await in_turn(sessions, lambda s: plan(s, NOW + timedelta(days=1)))
    salon_id = planned.salons[0].id
    await asyncio.gather(
        in_turn(sessions, lambda s: planning.set_duty(s, salon_id, [1, 2])),
        in_turn(sessions, lambda s: planning.set_duty(s, salon_id, [2, 3])),
    )
    on_duty = await in_turn(sessions, lambda s: planning.on_duty(s, salon_id))
    assert [m.telegram_id for m in on_duty] in ([1, 2], [2, 3])
