"""Reminders: sent once; after a downtime only the latest of a salon still ahead, marked late."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.models import QuestionStatus, Reminder, ReminderStatus, SalonStatus
from opsbot.services import planning, reminders, salons
from opsbot.services.reminders import OLDEST_SHOWN, ON_TIME
from tests.unit.services.conftest import NOW, Sessions, add_question, at_once, in_turn

MOSCOW = ZoneInfo("Europe/Moscow")
OFFSETS = [timedelta(hours=24), timedelta(hours=1), timedelta(minutes=15)]
START = NOW + timedelta(days=2)


async def planned_salon(sessions: Sessions, starts_at=START) -> int:  # type: ignore[no-untyped-def]
    result = await in_turn(
        sessions,
        lambda s: planning.plan_one(
            s,
            starts_at=starts_at,
            topic="Winter",
            duration=timedelta(hours=1),
            by=1,
            offsets=OFFSETS,
            zone=MOSCOW,
        ),
    )
    return result.salons[0].id


async def statuses(sessions: Sessions, salon_id: int) -> dict[int, str]:
    async def work(session: AsyncSession) -> dict[int, str]:
        rows = await session.scalars(select(Reminder).where(Reminder.salon_id == salon_id))
        return {r.offset_minutes: r.status for r in rows}

    return await in_turn(sessions, work)


async def test_a_reminder_on_time_is_sent_once_by_one_of_many(sessions: Sessions) -> None:
    salon_id = await planned_salon(sessions)
    due_at = START - timedelta(hours=24)
    assert (
        await in_turn(sessions, lambda s: reminders.take_due(s, due_at - timedelta(seconds=1)))
        == []
    )
    taken = await at_once(sessions, lambda s: reminders.take_due(s, due_at), times=4)
    sent = [d for batch in taken for d in batch]
    assert len(sent) == 1
    assert (sent[0].reminder.offset_minutes, sent[0].late, sent[0].salon.id) == (
        24 * 60,
        False,
        salon_id,
    )
    assert (await statuses(sessions, salon_id))[24 * 60] == ReminderStatus.SENT


async def test_after_a_downtime_only_the_latest_reminder_is_sent_marked_late(
    sessions: Sessions,
) -> None:
    salon_id = await planned_salon(sessions)
    # Down from before the 24-hour reminder until 10 minutes after the 1-hour one.
    back = START - timedelta(minutes=50)
    [due] = await in_turn(sessions, lambda s: reminders.take_due(s, back))
    assert (due.reminder.offset_minutes, due.late) == (60, True)
    assert await statuses(sessions, salon_id) == {
        24 * 60: ReminderStatus.DROPPED,
        60: ReminderStatus.SENT,
        15: ReminderStatus.PENDING,
        0: ReminderStatus.PENDING,
    }
    within = START - timedelta(minutes=15) + ON_TIME
    [due] = await in_turn(sessions, lambda s: reminders.take_due(s, within))
    assert (due.reminder.offset_minutes, due.late) == (15, False)


async def test_missed_reminders_of_a_salon_whose_start_passed_are_dropped(
    sessions: Sessions,
) -> None:
    salon_id = await planned_salon(sessions)
    # The start itself is still told just after the time, not later.
    just_after = START + ON_TIME
    [due] = await in_turn(sessions, lambda s: reminders.take_due(s, just_after))
    assert due.reminder.offset_minutes == 0 and not due.late
    other = await planned_salon(sessions, START + timedelta(days=1))
    too_late = START + timedelta(days=1) + ON_TIME + timedelta(seconds=1)
    assert await in_turn(sessions, lambda s: reminders.take_due(s, too_late)) == []
    assert set((await statuses(sessions, other)).values()) == {ReminderStatus.DROPPED}
    assert (await statuses(sessions, salon_id))[0] == ReminderStatus.SENT


async def test_a_salon_started_early_or_cancelled_gets_no_reminders(sessions: Sessions) -> None:
    started = await planned_salon(sessions)
    opened = await in_turn(
        sessions,
        lambda s: salons.start(
            s, topic="Winter", duration=timedelta(hours=1), by=1, now=NOW, salon_id=started
        ),
    )
    assert opened.salon is not None and opened.salon.status == SalonStatus.LIVE
    cancelled = await planned_salon(sessions, START + timedelta(days=1))
    await in_turn(sessions, lambda s: planning.unschedule(s, cancelled, whole_series=False))
    assert await in_turn(sessions, lambda s: reminders.take_due(s, START)) == []
    assert set((await statuses(sessions, started)).values()) == {ReminderStatus.DROPPED}
    assert await statuses(sessions, cancelled) == {}


async def test_questions_waiting_from_earlier_sessions(sessions: Sessions) -> None:
    old = [
        await add_question(sessions, posted_at=NOW - timedelta(days=10 - n))
        for n in range(OLDEST_SHOWN + 2)
    ]
    await add_question(sessions, posted_at=NOW - timedelta(days=20), status=QuestionStatus.ANSWERED)
    await add_question(sessions, posted_at=NOW + timedelta(minutes=1))
    count, oldest = await in_turn(sessions, lambda s: reminders.unanswered(s, NOW))
    assert count == OLDEST_SHOWN + 2
    assert [q.id for q in oldest] == old[:OLDEST_SHOWN]
