"""The X usage ledger: what X answered, counted per UTC month without losing racing writers,
and per salon, each read for the salon it was made for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.models import SalonStatus, UsageKind
from opsbot.services import usage
from opsbot.services.salons import AFTERGLOW
from tests.unit.services.conftest import NOW, Sessions, add_salon, at_once, in_turn

HOUR = timedelta(hours=1)


async def test_a_read_counts_for_the_salon_it_was_made_for(sessions: Sessions) -> None:
    first = await add_salon(sessions, started_at=NOW, ended_at=NOW + HOUR)
    second = await add_salon(
        sessions, status=SalonStatus.LIVE, started_at=NOW + 3 * HOUR, ended_at=None
    )
    reads = [
        (NOW - HOUR, UsageKind.OWNED_READ, 7),  # before any salon: nobody's
        (NOW + HOUR / 2, UsageKind.OWNED_READ, 5),  # the first is live
        (NOW + 2 * HOUR, UsageKind.POST_READ, 3),  # the day after the first
        (NOW + 3 * HOUR, UsageKind.POST_READ, 2),  # the second has begun: its own
        (NOW + 3 * HOUR, UsageKind.REPLY, 1),  # a post, not a read: counted from the outbox
    ]
    for moment, kind, count in reads:
        async with sessions.begin() as session:
            await usage.add_for_salon(session, moment, kind, count)
    async with sessions.begin() as session:
        assert await usage.of_salon(session, first) == {
            UsageKind.OWNED_READ: 5,
            UsageKind.POST_READ: 3,
        }
        assert await usage.of_salon(session, second) == {UsageKind.POST_READ: 2}


async def test_reads_after_the_day_after_count_for_no_salon(sessions: Sessions) -> None:
    salon = await add_salon(sessions, started_at=NOW, ended_at=NOW + HOUR)
    async with sessions.begin() as session:
        await usage.add_for_salon(session, NOW + HOUR + AFTERGLOW + HOUR, UsageKind.POST_READ, 4)
        assert await usage.of_salon(session, salon) == {}


async def test_concurrent_reads_are_all_counted(sessions: Sessions) -> None:
    salon = await add_salon(sessions, status=SalonStatus.LIVE, started_at=NOW, ended_at=None)

    async def read(session: AsyncSession) -> None:
        await usage.add_for_salon(session, NOW + HOUR, UsageKind.OWNED_READ, 2)

    await at_once(sessions, read, times=5)
    async with sessions.begin() as session:
        assert await usage.of_salon(session, salon) == {UsageKind.OWNED_READ: 10}


def test_the_month_is_the_utc_calendar_month_as_x_bills() -> None:
    assert usage.month_of(datetime(2026, 11, 30, 23, 59, tzinfo=UTC)) == "2026-11"
    assert usage.month_of(datetime(2026, 12, 1, 0, 0, tzinfo=UTC)) == "2026-12"
    assert usage.month_of(datetime(2027, 1, 5, tzinfo=UTC)) == "2027-01"


async def test_counts_add_up_per_month_and_kind(sessions: Sessions) -> None:
    await in_turn(sessions, lambda s: usage.add(s, "2026-11", UsageKind.OWNED_READ, 3))
    await in_turn(sessions, lambda s: usage.add(s, "2026-11", UsageKind.OWNED_READ, 2))
    await in_turn(sessions, lambda s: usage.add(s, "2026-11", UsageKind.REPLY, 1))
    await in_turn(sessions, lambda s: usage.add(s, "2026-12", UsageKind.OWNED_READ, 7))
    november = await in_turn(sessions, lambda s: usage.of_month(s, "2026-11"))
    assert november == {UsageKind.OWNED_READ: 5, UsageKind.REPLY: 1}
    assert await in_turn(sessions, lambda s: usage.of_month(s, "2026-12")) == {
        UsageKind.OWNED_READ: 7
    }
    assert await in_turn(sessions, lambda s: usage.of_month(s, "2027-01")) == {}


async def test_an_empty_answer_counts_nothing_not_even_a_zero_row(sessions: Sessions) -> None:
    await in_turn(sessions, lambda s: usage.add(s, "2026-11", UsageKind.POST_READ, 0))
    await in_turn(sessions, lambda s: usage.add(s, "2026-11", UsageKind.POST_READ, -4))
    assert await in_turn(sessions, lambda s: usage.of_month(s, "2026-11")) == {}


async def test_racing_writers_lose_none_of_each_others_counts(sessions: Sessions) -> None:
    await at_once(sessions, lambda s: usage.add(s, "2026-11", UsageKind.POST, 1), times=6)
    await at_once(sessions, lambda s: usage.add(s, "2026-11", UsageKind.POST, 2), times=3)
    counted = await in_turn(sessions, lambda s: usage.of_month(s, "2026-11"))
    assert counted == {UsageKind.POST: 12}


async def test_x_s_own_report_replaces_the_last_one_and_leaves_the_counts_alone(
    sessions: Sessions,
) -> None:
    await in_turn(sessions, lambda s: usage.add(s, "2026-11", UsageKind.OWNED_READ, 4))
    await in_turn(sessions, lambda s: usage.report(s, "2026-11", 40))
    await in_turn(sessions, lambda s: usage.report(s, "2026-11", 35))
    counted = await in_turn(sessions, lambda s: usage.of_month(s, "2026-11"))
    assert counted == {UsageKind.OWNED_READ: 4, UsageKind.REPORTED_READS: 35}


def test_a_moment_in_another_zone_is_read_as_the_same_instant() -> None:
    # 01:00 in Moscow on 1 December is still November in UTC.
    moscow = timezone(timedelta(hours=3))
    moment = datetime(2026, 12, 1, 1, 0, tzinfo=moscow).astimezone(UTC)
    assert usage.month_of(moment) == "2026-11"
