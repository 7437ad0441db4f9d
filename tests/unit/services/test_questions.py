"""Take, release, hide, unhide: one conditional UPDATE each, so one of two presses wins."""

from __future__ import annotations

from opsbot.db.models import QuestionStatus
from opsbot.services import questions
from opsbot.services.questions import Outcome
from tests.unit.services.conftest import Sessions, add_question, add_staff, at_once, in_turn

ANNA, BORIS, VERA = 1001, 1002, 1003


async def test_one_curator_of_many_takes_a_question(sessions: Sessions) -> None:
    for person in (ANNA, BORIS, VERA):
        await add_staff(sessions, person)
    qid = await add_question(sessions)
    results = await at_once(
        sessions, lambda s: questions.take(s, qid, BORIS, moderator=False), times=3
    )
    assert [r.outcome for r in results].count(Outcome.DONE) == 1
    assert {r.outcome for r in results} == {Outcome.DONE, Outcome.UNCHANGED}
    others = await at_once(
        sessions, lambda s: questions.take(s, qid, VERA, moderator=False), times=2
    )
    assert {(r.outcome, r.holder_id) for r in others} == {(Outcome.TAKEN_BY_OTHER, BORIS)}


async def test_a_moderator_takes_over_once(sessions: Sessions) -> None:
    for person in (ANNA, BORIS):
        await add_staff(sessions, person)
    qid = await add_question(sessions)
    await in_turn(sessions, lambda s: questions.take(s, qid, BORIS, moderator=False))
    taken = await in_turn(sessions, lambda s: questions.take(s, qid, ANNA, moderator=True))
    assert (taken.outcome, taken.holder_id, taken.previous_holder_id) == (
        Outcome.DONE,
        ANNA,
        BORIS,
    )
    assert taken.question is not None and taken.question.taken_by == ANNA


async def test_only_the_holder_or_a_moderator_releases(sessions: Sessions) -> None:
    for person in (ANNA, BORIS, VERA):
        await add_staff(sessions, person)
    qid = await add_question(sessions)
    await in_turn(sessions, lambda s: questions.take(s, qid, BORIS, moderator=False))
    refused = await in_turn(sessions, lambda s: questions.release(s, qid, VERA, moderator=False))
    assert (refused.outcome, refused.holder_id) == (Outcome.TAKEN_BY_OTHER, BORIS)
    released = await in_turn(sessions, lambda s: questions.release(s, qid, ANNA, moderator=True))
    assert released.outcome == Outcome.DONE
    assert released.question is not None and released.question.status == QuestionStatus.OPEN
    assert released.question.taken_by is None
    again = await in_turn(sessions, lambda s: questions.release(s, qid, BORIS, moderator=False))
    assert again.outcome == Outcome.WRONG_STATE


async def test_hidden_once_and_brought_back_once(sessions: Sessions) -> None:
    await add_staff(sessions, BORIS)
    qid = await add_question(sessions)
    await in_turn(sessions, lambda s: questions.take(s, qid, BORIS, moderator=False))
    hidden = await at_once(sessions, lambda s: questions.hide(s, qid, VERA))
    assert [r.outcome for r in hidden].count(Outcome.DONE) == 1
    row = await in_turn(sessions, lambda s: questions.load(s, qid))
    assert row is not None and row.status == QuestionStatus.HIDDEN
    assert (row.hidden_by, row.taken_by) == (VERA, None)
    taken = await in_turn(sessions, lambda s: questions.take(s, qid, BORIS, moderator=True))
    assert taken.outcome == Outcome.WRONG_STATE
    back = await at_once(sessions, lambda s: questions.unhide(s, qid, VERA))
    assert [r.outcome for r in back].count(Outcome.DONE) == 1
    assert {r.outcome for r in back} == {Outcome.DONE, Outcome.WRONG_STATE}


async def test_an_answered_question_cannot_be_taken_or_hidden(sessions: Sessions) -> None:
    qid = await add_question(sessions, status=QuestionStatus.ANSWERED)
    assert (
        await in_turn(sessions, lambda s: questions.take(s, qid, BORIS, moderator=True))
    ).outcome == Outcome.WRONG_STATE
    assert (await in_turn(sessions, lambda s: questions.hide(s, qid, BORIS))).outcome == (
        Outcome.WRONG_STATE
    )
    missing = await in_turn(sessions, lambda s: questions.take(s, 999, BORIS, moderator=False))
    assert missing.outcome == Outcome.NOT_FOUND
    assert (await in_turn(sessions, lambda s: questions.hide(s, 999, BORIS))).outcome == (
        Outcome.NOT_FOUND
    )


async def test_the_queue_and_a_curators_own_list(sessions: Sessions) -> None:
    await add_staff(sessions, BORIS)
    ids = [await add_question(sessions) for _ in range(5)]
    await add_question(sessions, status=QuestionStatus.ANSWERED)
    await add_question(sessions, status=QuestionStatus.HIDDEN)
    await in_turn(sessions, lambda s: questions.take(s, ids[3], BORIS, moderator=False))
    waiting = await in_turn(sessions, lambda s: questions.waiting(s, limit=2, offset=2))
    assert [q.id for q in waiting] == ids[2:4]
    assert await in_turn(sessions, questions.count_waiting) == 5
    mine = await in_turn(sessions, lambda s: questions.waiting(s, taken_by=BORIS, limit=10))
    assert [q.id for q in mine] == [ids[3]]
    assert await in_turn(sessions, lambda s: questions.count_waiting(s, taken_by=BORIS)) == 1
