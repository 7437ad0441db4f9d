"""Nudges during a live salon: which questions are overdue, at most one nudge a period however
many checks race, when to look again, and what is still open at the end."""

from __future__ import annotations

from datetime import datetime, timedelta

from opsbot.db.models import QuestionStatus, Salon, SalonStatus
from opsbot.services import nudges, priority
from opsbot.services.nudges import MIN_RECHECK
from tests.unit.services.conftest import NOW, Sessions, add_question, add_salon, at_once, in_turn

PERIOD = timedelta(minutes=5)
VIP_FOLLOWERS = 10_000


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


async def live_salon(sessions: Sessions) -> int:
    return await add_salon(sessions, status=SalonStatus.LIVE, started_at=NOW - timedelta(hours=1))


async def overdue(sessions: Sessions, salon_id: int, now: datetime = NOW) -> list[int]:
    found = await in_turn(sessions, lambda s: nudges.overdue(s, salon_id, now - PERIOD))
    return [q.id for q in found]


async def claim(sessions: Sessions, salon_id: int, now: datetime) -> bool:
    return await in_turn(sessions, lambda s: nudges.claim(s, salon_id, now, PERIOD))


async def next_check(sessions: Sessions, salon_id: int, now: datetime = NOW) -> datetime:
    return await in_turn(sessions, lambda s: nudges.next_check(s, salon_id, now, PERIOD))


async def test_overdue_are_the_salons_replyable_untaken_questions_oldest_first(
    sessions: Sessions,
) -> None:
    salon_id = await live_salon(sessions)
    earlier = await add_salon(
        sessions, status=SalonStatus.ENDED, started_at=NOW - timedelta(days=7)
    )
    # Stored in another order than posted: X's pages come newest first.
    middle = await add_question(sessions, salon_id=salon_id, posted_at=ago(10))
    oldest = await add_question(sessions, salon_id=salon_id, posted_at=ago(20))
    twin = await add_question(sessions, salon_id=salon_id, posted_at=ago(10))
    just_due = await add_question(sessions, salon_id=salon_id, posted_at=ago(5))
    await add_question(sessions, salon_id=salon_id, posted_at=ago(4))
    for status in (QuestionStatus.TAKEN, QuestionStatus.ANSWERED, QuestionStatus.HIDDEN):
        await add_question(sessions, salon_id=salon_id, posted_at=ago(30), status=status)
    # Only the hashtag: X lets the museum reply only to those who mention or quote it.
    await add_question(sessions, salon_id=salon_id, posted_at=ago(30), replyable=False)
    await add_question(sessions, salon_id=salon_id, posted_at=ago(30), after_salon=True)
    await add_question(sessions, salon_id=earlier, posted_at=ago(30))
    await add_question(sessions, posted_at=ago(30))
    assert await overdue(sessions, salon_id) == [oldest, middle, twin, just_due]
    assert await overdue(sessions, salon_id, NOW - timedelta(minutes=10)) == [oldest]
    assert await overdue(sessions, earlier) != []


async def test_one_nudge_a_period_however_many_checks_race(sessions: Sessions) -> None:
    salon_id = await live_salon(sessions)
    claims = await at_once(sessions, lambda s: nudges.claim(s, salon_id, NOW, PERIOD), times=5)
    assert claims.count(True) == 1
    assert not await claim(sessions, salon_id, NOW + PERIOD - timedelta(seconds=1))
    assert await claim(sessions, salon_id, NOW + PERIOD)
    salon = await in_turn(sessions, lambda s: s.get(Salon, salon_id))
    assert salon is not None and salon.nudged_at == NOW + PERIOD
    # A check whose clock went back nudges no sooner either.
    assert not await claim(sessions, salon_id, NOW)


async def test_only_a_live_salon_is_nudged(sessions: Sessions) -> None:
    ended = await add_salon(sessions, status=SalonStatus.ENDED)
    planned = await add_salon(sessions, status=SalonStatus.PLANNED, started_at=None)
    assert not await claim(sessions, ended, NOW)
    assert not await claim(sessions, planned, NOW)
    assert not await claim(sessions, 999, NOW)
    salon = await in_turn(sessions, lambda s: s.get(Salon, ended))
    assert salon is not None and salon.nudged_at is None


async def test_the_next_check_is_when_the_oldest_untaken_question_comes_due(
    sessions: Sessions,
) -> None:
    salon_id = await live_salon(sessions)
    # Nothing waiting: a question asked now is due a period from now at the earliest.
    assert await next_check(sessions, salon_id) == NOW + PERIOD
    await add_question(sessions, salon_id=salon_id, posted_at=ago(30), status=QuestionStatus.TAKEN)
    await add_question(sessions, salon_id=salon_id, posted_at=ago(30), replyable=False)
    assert await next_check(sessions, salon_id) == NOW + PERIOD
    await add_question(sessions, salon_id=salon_id, posted_at=ago(2))
    assert await next_check(sessions, salon_id) == ago(2) + PERIOD
    await add_question(sessions, salon_id=salon_id, posted_at=ago(20))
    # Overdue already: looked at again soon, but never in a tight loop.
    assert await next_check(sessions, salon_id) == NOW + MIN_RECHECK
    assert await claim(sessions, salon_id, NOW)
    # Just nudged: not again before the period is up.
    assert await next_check(sessions, salon_id) == NOW + PERIOD


async def test_still_open_names_the_priority_senders_first_then_the_oldest(
    sessions: Sessions,
) -> None:
    salon_id = await live_salon(sessions)
    other = await add_salon(sessions, status=SalonStatus.ENDED)
    plain = await add_question(sessions, salon_id=salon_id, posted_at=ago(30), author_followers=10)
    listed = await add_question(
        sessions, salon_id=salon_id, posted_at=ago(5), author_handle="Journalist"
    )
    followed = await add_question(
        sessions,
        salon_id=salon_id,
        posted_at=ago(10),
        author_followers=VIP_FOLLOWERS + 1,
        status=QuestionStatus.TAKEN,
    )
    at_threshold = await add_question(
        sessions, salon_id=salon_id, posted_at=ago(40), author_followers=VIP_FOLLOWERS
    )
    unknown = await add_question(sessions, salon_id=salon_id, posted_at=ago(50))
    for status in (QuestionStatus.ANSWERED, QuestionStatus.HIDDEN):
        await add_question(sessions, salon_id=salon_id, posted_at=ago(60), status=status)
    await add_question(sessions, salon_id=other, posted_at=ago(60), author_handle="journalist")
    await in_turn(sessions, lambda s: priority.add(s, "journalist", "Radio", 1, NOW))
    found = await in_turn(sessions, lambda s: nudges.still_open(s, salon_id, VIP_FOLLOWERS))
    assert [q.id for q in found] == [followed, listed, unknown, at_threshold, plain]
