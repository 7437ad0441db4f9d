"""Presence: who is writing, and a take that nobody works on lapsing, its holder warned first.
Every step matches only the holder's take, still idle, so a press racing the clock wins or loses
whole."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from opsbot.db.models import Question, QuestionStatus
from opsbot.services import presence, questions
from opsbot.services.presence import WARNING_LEAD, IdleTake
from tests.unit.services.conftest import NOW, Sessions, add_question, add_staff, at_once, in_turn

BORIS, VERA = 1002, 1003
LIMIT = timedelta(minutes=10)
WARN_AT = NOW + LIMIT - WARNING_LEAD
LAPSE_AT = NOW + LIMIT
SECOND = timedelta(seconds=1)


@pytest.fixture(autouse=True)
async def curators(sessions: Sessions) -> None:
    for person in (BORIS, VERA):
        await add_staff(sessions, person)


async def taken(sessions: Sessions, holder: int = BORIS, **extra: object) -> int:
    """A question `holder` took at NOW and has not started answering."""
    values: dict[str, object] = {
        "status": QuestionStatus.TAKEN,
        "taken_by": holder,
        "taken_at": NOW,
    }
    values.update(extra)
    return await add_question(sessions, **values)


async def load(sessions: Sessions, qid: int) -> Question:
    question = await in_turn(sessions, lambda s: questions.load(s, qid))
    assert question is not None
    return question


async def idle(sessions: Sessions, qid: int) -> IdleTake | None:
    return await in_turn(sessions, lambda s: presence.idle_take(s, qid))


async def start_writing(sessions: Sessions, qid: int, curator: int) -> None:
    await in_turn(sessions, lambda s: presence.start_writing(s, qid, curator))


async def warn(sessions: Sessions, take: IdleTake, now: datetime) -> bool:
    return await in_turn(sessions, lambda s: presence.claim_warning(s, take, now, LIMIT))


async def lapse(sessions: Sessions, take: IdleTake, now: datetime) -> bool:
    return await in_turn(sessions, lambda s: presence.lapse(s, take, now, LIMIT))


async def warned_take(sessions: Sessions) -> tuple[int, IdleTake]:
    qid = await taken(sessions)
    take = await idle(sessions, qid)
    assert take is not None
    assert await warn(sessions, take, WARN_AT)
    warned = await idle(sessions, qid)
    assert warned == IdleTake(qid, BORIS, NOW, True)
    return qid, warned


async def test_writing_starts_on_a_waiting_question_and_stops_only_for_its_writer(
    sessions: Sessions,
) -> None:
    qid = await taken(sessions)
    await start_writing(sessions, qid, BORIS)
    assert (await load(sessions, qid)).writing_by == BORIS
    assert await idle(sessions, qid) is None
    assert not await in_turn(sessions, lambda s: presence.stop_writing(s, qid, VERA, NOW))
    assert (await load(sessions, qid)).writing_by == BORIS
    later = NOW + timedelta(minutes=3)
    assert await in_turn(sessions, lambda s: presence.stop_writing(s, qid, BORIS, later))
    stopped = await load(sessions, qid)
    assert (stopped.writing_by, stopped.taken_at, stopped.take_warned_at) == (None, later, None)
    # Idle again, and from when the dialogue closed, not from the take.
    assert await idle(sessions, qid) == IdleTake(qid, BORIS, later, False)
    assert not await in_turn(sessions, lambda s: presence.stop_writing(s, qid, BORIS, later))
    opened = await add_question(sessions)
    await start_writing(sessions, opened, VERA)
    assert (await load(sessions, opened)).writing_by == VERA
    for status in (QuestionStatus.ANSWERED, QuestionStatus.HIDDEN):
        done = await add_question(sessions, status=status)
        await start_writing(sessions, done, BORIS)
        assert (await load(sessions, done)).writing_by is None


async def test_the_holder_is_warned_once_then_the_take_lapses_once(sessions: Sessions) -> None:
    qid = await taken(sessions)
    take = await idle(sessions, qid)
    assert take == IdleTake(qid, BORIS, NOW, False)
    assert not await warn(sessions, take, WARN_AT - SECOND)
    # Not warned yet: not even a take long over its time lapses.
    assert not await lapse(sessions, take, LAPSE_AT + LIMIT)
    warnings = await at_once(
        sessions, lambda s: presence.claim_warning(s, take, WARN_AT, LIMIT), times=4
    )
    assert warnings.count(True) == 1
    assert (await load(sessions, qid)).take_warned_at == WARN_AT
    assert not await warn(sessions, take, LAPSE_AT)
    warned = await idle(sessions, qid)
    assert warned == IdleTake(qid, BORIS, NOW, True)
    assert not await lapse(sessions, warned, LAPSE_AT - SECOND)
    lapses = await at_once(sessions, lambda s: presence.lapse(s, warned, LAPSE_AT, LIMIT), times=4)
    assert lapses.count(True) == 1
    back = await load(sessions, qid)
    assert (back.status, back.taken_by, back.taken_at, back.take_warned_at) == (
        QuestionStatus.OPEN,
        None,
        None,
        None,
    )
    assert await idle(sessions, qid) is None


async def test_writing_keeping_or_passing_on_a_warned_take_saves_it(sessions: Sessions) -> None:
    writing, take = await warned_take(sessions)
    await start_writing(sessions, writing, BORIS)
    assert not await lapse(sessions, take, LAPSE_AT)
    assert (await load(sessions, writing)).status == QuestionStatus.TAKEN

    kept, take = await warned_take(sessions)
    # Only the holder keeps it.
    assert not await in_turn(sessions, lambda s: presence.start_take_clock(s, kept, VERA, WARN_AT))
    assert (await load(sessions, kept)).take_warned_at == WARN_AT
    assert await in_turn(sessions, lambda s: presence.start_take_clock(s, kept, BORIS, WARN_AT))
    assert not await lapse(sessions, take, LAPSE_AT)
    assert await idle(sessions, kept) == IdleTake(kept, BORIS, WARN_AT, False)

    passed, take = await warned_take(sessions)
    await in_turn(sessions, lambda s: questions.release(s, passed, BORIS, moderator=False))
    await in_turn(sessions, lambda s: questions.take(s, passed, VERA, moderator=False))
    # The warning was Boris's: Vera's take of the same question is not lapsed under it.
    assert not await lapse(sessions, take, LAPSE_AT)
    assert not await warn(sessions, take, LAPSE_AT)
    assert (await load(sessions, passed)).taken_by == VERA

    released, take = await warned_take(sessions)
    await in_turn(sessions, lambda s: questions.release(s, released, BORIS, moderator=False))
    assert not await lapse(sessions, take, LAPSE_AT)
    assert not await in_turn(
        sessions, lambda s: presence.start_take_clock(s, released, BORIS, LAPSE_AT)
    )


async def test_keep_racing_the_lapse_one_of_them_wins_whole(sessions: Sessions) -> None:
    qid, take = await warned_take(sessions)
    lapsed, kept = await asyncio.gather(
        lapse(sessions, take, LAPSE_AT),
        in_turn(sessions, lambda s: presence.start_take_clock(s, qid, BORIS, LAPSE_AT)),
    )
    assert lapsed != kept
    after = await load(sessions, qid)
    if lapsed:
        assert (after.status, after.taken_by, after.taken_at) == (QuestionStatus.OPEN, None, None)
    else:
        assert (after.status, after.taken_by, after.taken_at, after.take_warned_at) == (
            QuestionStatus.TAKEN,
            BORIS,
            LAPSE_AT,
            None,
        )


async def test_every_idle_take_is_found_again_after_a_restart(sessions: Sessions) -> None:
    boris = await taken(sessions)
    vera = await taken(sessions, VERA, taken_at=NOW - timedelta(minutes=9), take_warned_at=NOW)
    await taken(sessions, writing_by=BORIS)
    await taken(sessions, taken_at=None)
    await add_question(sessions)
    await add_question(sessions, status=QuestionStatus.ANSWERED, taken_by=BORIS, taken_at=NOW)
    found = await in_turn(sessions, presence.idle_takes)
    assert sorted(found, key=lambda t: t.question_id) == [
        IdleTake(boris, BORIS, NOW, False),
        IdleTake(vera, VERA, NOW - timedelta(minutes=9), True),
    ]
