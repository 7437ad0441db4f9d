"""The draw in the database: who enters, drawn once per salon, redraws from the reserve."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.models import Draw, Exclusion, QuestionStatus, Salon, SalonStatus
from opsbot.services import draws, lottery, salons
from opsbot.services.draws import DrawRefusal, RedrawRefusal
from tests.unit.services.conftest import (
    NOW,
    Sessions,
    add_question,
    add_salon,
    add_staff,
    at_once,
    in_turn,
)

COOLDOWN = timedelta(days=30)
SECRET = bytes(range(32))


async def ended_salon(sessions: Sessions, entrants: int, **extra: object) -> Salon:
    salon_id = await add_salon(
        sessions, secret=SECRET.hex(), commitment=lottery.commitment(SECRET), **extra
    )
    for n in range(entrants):
        await add_question(sessions, salon_id=salon_id, author_id=f"10{n}", author_handle=f"fan{n}")
    salon = await in_turn(sessions, lambda s: salons.get(s, salon_id))
    assert salon is not None
    return salon


async def draw(session: AsyncSession, salon: Salon | None, winners: int = 1) -> draws.DrawOutcome:
    return await draws.draw(
        session, salon, winners=winners, prize="A catalogue", by=1, now=NOW, cooldown=COOLDOWN
    )


async def test_entrants_leave_out_spam_staff_exclusions_and_late_posts(
    sessions: Sessions,
) -> None:
    salon = await ended_salon(sessions, 3)
    await add_question(sessions, salon_id=salon.id, author_id="100", author_handle="fan0")
    await add_question(sessions, salon_id=salon.id, author_id="900", status=QuestionStatus.HIDDEN)
    await add_question(sessions, salon_id=salon.id, author_id="901", after_salon=True)
    await add_question(sessions, salon_id=salon.id, author_id="902", author_handle="Anna_X")
    await add_question(sessions, salon_id=salon.id, author_id="903", author_handle="SpamBot")
    await add_staff(sessions, 1, x_handle="anna_x")
    assert await in_turn(sessions, lambda s: draws.exclude(s, "spambot", 1))
    assert not await in_turn(sessions, lambda s: draws.exclude(s, "spambot", 1))
    people = await in_turn(sessions, lambda s: draws.entrants(s, salon, now=NOW, cooldown=COOLDOWN))
    assert sorted(p.id for p in people) == ["100", "101", "102"]
    assert [p.id for p in people] == lottery.canonical_entrants({p.id: p.handle for p in people})
    assert await in_turn(sessions, lambda s: draws.include(s, "spambot"))
    assert not await in_turn(sessions, lambda s: draws.include(s, "spambot"))


async def test_the_draw_is_made_once_however_many_ask(sessions: Sessions) -> None:
    salon = await ended_salon(sessions, 5)
    outcomes = await at_once(sessions, lambda s: draw(s, salon, winners=2), times=4)
    assert sum(o.created for o in outcomes) == 1
    stored = {o.draw.id for o in outcomes if o.draw is not None}
    assert len(stored) == 1
    row = await in_turn(sessions, lambda s: draws.stored(s, salon.id))
    assert row is not None
    ranking = json.loads(row.ranking)
    assert json.loads(row.winners) == ranking[:2] and row.next_reserve == 2
    assert sorted(ranking) == sorted(f"10{n}" for n in range(5))
    # The stored result is what anyone can recompute from the revealed secret.
    entrant_ids = [e["id"] for e in json.loads(row.entrants)]
    recomputed = lottery.draw(SECRET, entrant_ids, 2)
    assert recomputed.winners + recomputed.reserve == ranking
    assert recomputed.entrant_hash == row.entrant_hash
    again = await in_turn(sessions, lambda s: draw(s, salon, winners=3))
    assert not again.created and again.draw is not None and again.draw.winners_count == 2


async def test_a_draw_needs_an_ended_salon_with_enough_entrants(sessions: Sessions) -> None:
    assert (await in_turn(sessions, lambda s: draw(s, None))).refusal == DrawRefusal.NO_SALON
    planned = await ended_salon(sessions, 0, status=SalonStatus.PLANNED, started_at=None)
    assert (await in_turn(sessions, lambda s: draw(s, planned))).refusal == (
        DrawRefusal.NOT_STARTED
    )
    live = await ended_salon(sessions, 2, status=SalonStatus.LIVE)
    assert (await in_turn(sessions, lambda s: draw(s, live))).refusal == DrawRefusal.STILL_LIVE
    await in_turn(sessions, lambda s: salons.end(s, live.id, NOW))
    ended = await in_turn(sessions, lambda s: salons.get(s, live.id))
    fewer = await in_turn(sessions, lambda s: draw(s, ended, winners=3))
    assert (fewer.refusal, fewer.entrants) == (DrawRefusal.FEWER_ENTRANTS, 2)
    empty = await ended_salon(sessions, 0)
    assert (await in_turn(sessions, lambda s: draw(s, empty))).refusal == DrawRefusal.NO_ENTRANTS


async def test_recent_winners_sit_out_the_cooldown(sessions: Sessions) -> None:
    earlier = await ended_salon(sessions, 0, started_at=NOW - timedelta(days=7))
    async with sessions.begin() as session:
        session.add(
            Draw(
                salon_id=earlier.id,
                drawn_at=NOW - timedelta(days=7),
                winners_count=1,
                entrant_hash="0" * 64,
                entrants="[]",
                ranking='["101"]',
                winners='["101"]',
                next_reserve=1,
            )
        )
    salon = await ended_salon(sessions, 3)
    people = await in_turn(sessions, lambda s: draws.entrants(s, salon, now=NOW, cooldown=COOLDOWN))
    assert sorted(p.id for p in people) == ["100", "102"]
    later = NOW + COOLDOWN
    people = await in_turn(
        sessions, lambda s: draws.entrants(s, salon, now=later, cooldown=COOLDOWN)
    )
    assert sorted(p.id for p in people) == ["100", "101", "102"]


async def test_a_redraw_promotes_the_next_in_reserve_once(sessions: Sessions) -> None:
    salon = await ended_salon(sessions, 3)
    made = await in_turn(sessions, lambda s: draw(s, salon))
    assert made.draw is not None
    ranking = json.loads(made.draw.ranking)
    names = draws.handles_of(made.draw)
    winner = names[ranking[0]]
    results = await at_once(sessions, lambda s: draws.redraw(s, salon.id, winner.upper()))
    promoted = [r for r in results if r.refusal is None]
    assert len(promoted) == 1
    assert (promoted[0].replaced, promoted[0].promoted) == (ranking[0], ranking[1])
    assert {r.refusal for r in results if r.refusal} == {RedrawRefusal.NOT_A_WINNER}
    row = await in_turn(sessions, lambda s: draws.stored(s, salon.id))
    assert row is not None and json.loads(row.winners) == [ranking[1]]
    assert (row.next_reserve, row.version) == (2, 2)
    second = await in_turn(sessions, lambda s: draws.redraw(s, salon.id, names[ranking[1]]))
    assert second.promoted == ranking[2]
    last = await in_turn(sessions, lambda s: draws.redraw(s, salon.id, names[ranking[2]]))
    assert last.refusal == RedrawRefusal.NO_RESERVE
    none = await in_turn(sessions, lambda s: draws.redraw(s, 999, "fan0"))
    assert none.refusal == RedrawRefusal.NO_DRAW


async def test_an_account_is_excluded_and_let_back_in_once_however_many_ask(
    sessions: Sessions,
) -> None:
    excluded = await at_once(sessions, lambda s: draws.exclude(s, "spambot", 1), times=4)
    assert excluded.count(True) == 1
    assert await in_turn(sessions, draws.excluded_handles) == {"spambot"}
    listed = await in_turn(sessions, lambda s: s.get(Exclusion, "spambot"))
    assert listed is not None and listed.added_by == 1 and listed.added_at is not None
    included = await at_once(sessions, lambda s: draws.include(s, "spambot"), times=4)
    assert included.count(True) == 1
    assert await in_turn(sessions, draws.excluded_handles) == set()
