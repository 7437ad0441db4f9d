"""Taking an answer back: who may, once per press however many press, and the question open
again only when its last part is gone from X."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.models import (
    Answer,
    AnswerStatus,
    AuditEntry,
    Delivery,
    DeliveryFailure,
    DeliveryKind,
    DeliveryState,
    Question,
    QuestionStatus,
)
from opsbot.services import answers, deletions, outbox, partners, questions
from opsbot.services.answers import ClaimOutcome
from opsbot.services.deletions import CURATOR_WINDOW, Refusal
from opsbot.services.outbox import Origin
from tests.unit.services.conftest import NOW, Sessions, add_question, at_once, in_turn
from tests.unit.services.test_answers import ANNA, BORIS, LONG, TAGS, VERA, draft, staff

_x_ids = count(1_950_000_000_000_000_000)


async def on_x(sessions: Sessions, *, thread: bool = False) -> tuple[int, list[int]]:
    """A question answered on X by Boris at NOW: its id and the answer's parts in order."""
    await staff(sessions)
    qid = await add_question(sessions)
    made = await draft(sessions, qid, LONG if thread else "In 1898.", curator=BORIS)
    assert made.answer is not None
    root = made.answer.id
    part_ids = [root]
    if thread:
        parts = await in_turn(
            sessions,
            lambda s: answers.split_into_thread(s, root, hashtags=TAGS, signature=None),
        )
        assert parts is not None and len(parts) >= 2
        part_ids = [p.id for p in parts]
    claimed = await in_turn(
        sessions, lambda s: answers.claim(s, root, now=NOW, origin=Origin(requested_by=BORIS))
    )
    assert claimed.outcome == ClaimOutcome.CLAIMED
    for part_id in part_ids:
        await posted(sessions, part_id, str(next(_x_ids)))
    answered = await in_turn(sessions, lambda s: questions.load(s, qid))
    assert answered is not None and answered.status == QuestionStatus.ANSWERED
    return qid, part_ids


async def posted(sessions: Sessions, part_id: int, x_post_id: str) -> None:
    await in_turn(sessions, lambda s: answers.part_posted(s, part_id, x_post_id, NOW))


async def refusal(
    sessions: Sessions, qid: int, actor: int, *, moderator: bool = False, now: datetime = NOW
) -> Refusal | None:
    return await in_turn(
        sessions, lambda s: deletions.refusal(s, qid, actor, moderator=moderator, now=now)
    )


async def request(
    session: AsyncSession, qid: int, actor: int, *, moderator: bool = True
) -> Refusal | None:
    return await deletions.request(
        session, qid, actor, moderator=moderator, now=NOW, origin=Origin(requested_by=actor)
    )


async def deletion_of(sessions: Sessions, part_id: int) -> Delivery:
    row = await in_turn(sessions, lambda s: outbox.by_key(s, deletions.key(part_id)))
    assert row is not None
    return row


async def deletions_queued(sessions: Sessions) -> list[Delivery]:
    async def work(session: AsyncSession) -> list[Delivery]:
        found = await session.scalars(
            select(Delivery).where(Delivery.kind == DeliveryKind.DELETION).order_by(Delivery.id)
        )
        return list(found)

    return await in_turn(sessions, work)


async def gone_from_x(sessions: Sessions, part_id: int) -> None:
    """What the publisher does once X has deleted the part: claimed, then recorded at once."""
    row = await deletion_of(sessions, part_id)
    held = await in_turn(sessions, lambda s: outbox.claim(s, row.id, NOW))
    assert held is not None

    async def work(session: AsyncSession) -> None:
        assert held.target is not None
        assert await outbox.record_sent(session, held, held.target, NOW)
        await deletions.part_deleted(session, held, NOW)

    await in_turn(sessions, work)


async def not_deleted(sessions: Sessions, part_id: int, failure: DeliveryFailure) -> Delivery:
    """X refused to delete the part, or never answered however often asked."""
    row = await deletion_of(sessions, part_id)
    held = await in_turn(sessions, lambda s: outbox.claim(s, row.id, NOW))
    assert held is not None
    await in_turn(sessions, lambda s: outbox.record_failed(s, held, failure, "no", NOW))
    failed = await deletion_of(sessions, part_id)
    assert failed.state == DeliveryState.FAILED
    return failed


async def test_a_moderator_may_delete_any_time_a_curator_their_own_for_ten_minutes(
    sessions: Sessions,
) -> None:
    qid, _ = await on_x(sessions)
    a_day_later = NOW + timedelta(days=1)
    assert await refusal(sessions, qid, ANNA, moderator=True, now=a_day_later) is None
    assert await refusal(sessions, qid, BORIS, now=NOW + CURATOR_WINDOW) is None
    assert (
        await refusal(sessions, qid, BORIS, now=NOW + CURATOR_WINDOW + timedelta(seconds=1))
        == Refusal.TOO_LATE
    )
    assert await refusal(sessions, qid, VERA, now=NOW) == Refusal.NOT_YOURS
    # A curator who is also a moderator is not held to the window.
    assert await refusal(sessions, qid, BORIS, moderator=True, now=a_day_later) is None
    # Asking is not deleting: nothing was queued.
    assert await deletions_queued(sessions) == []
    refused = await in_turn(sessions, lambda s: request(s, qid, VERA, moderator=False))
    assert refused == Refusal.NOT_YOURS
    assert await deletions_queued(sessions) == []


async def test_only_an_answer_that_is_on_x_can_be_deleted(sessions: Sessions) -> None:
    await staff(sessions)
    assert await refusal(sessions, 999, ANNA, moderator=True) == Refusal.NOT_ON_X
    unanswered = await add_question(sessions)
    assert await refusal(sessions, unanswered, ANNA, moderator=True) == Refusal.NOT_ON_X
    drafted = await draft(sessions, unanswered, curator=BORIS)
    assert drafted.answer is not None
    assert await refusal(sessions, unanswered, BORIS) == Refusal.NOT_ON_X
    root = drafted.answer.id
    await in_turn(
        sessions, lambda s: answers.claim(s, root, now=NOW, origin=Origin(requested_by=BORIS))
    )
    # Handed to the outbox but not yet on X: there is nothing there to delete.
    assert await refusal(sessions, unanswered, ANNA, moderator=True) == Refusal.NOT_ON_X
    assert await in_turn(sessions, lambda s: request(s, unanswered, ANNA)) == Refusal.NOT_ON_X
    assert await deletions_queued(sessions) == []


async def test_pressing_delete_at_once_queues_each_part_once(sessions: Sessions) -> None:
    qid, part_ids = await on_x(sessions, thread=True)
    results = await at_once(sessions, lambda s: request(s, qid, ANNA), times=4)
    assert (results.count(None), results.count(Refusal.UNDER_WAY)) == (1, 3)
    queued = await deletions_queued(sessions)
    assert [d.answer_id for d in queued] == part_ids
    parts = await in_turn(sessions, lambda s: answers.thread_of(s, part_ids[0]))
    assert [(d.key, d.target, d.payload) for d in queued] == [
        (deletions.key(p.id), p.x_post_id, p.text) for p in parts
    ]
    assert {(d.state, d.requested_by, d.partner_id) for d in queued} == {
        (DeliveryState.PENDING, ANNA, None)
    }
    # Every part goes at once: none waits for another to be deleted first.
    assert {d.follows_id for d in queued} == {None}
    # While it is under way, the answer's own curator is told so rather than refused.
    assert await refusal(sessions, qid, BORIS) == Refusal.UNDER_WAY
    assert await refusal(sessions, qid, ANNA, moderator=True) == Refusal.UNDER_WAY


async def test_the_question_opens_again_only_when_its_last_part_is_gone(
    sessions: Sessions,
) -> None:
    qid, part_ids = await on_x(sessions, thread=True)

    async def idle_for_a_while(session: AsyncSession) -> None:
        await session.execute(
            update(Question)
            .where(Question.id == qid)
            .values(taken_at=NOW, take_warned_at=NOW, writing_by=BORIS)
        )

    await in_turn(sessions, idle_for_a_while)
    assert await in_turn(sessions, lambda s: request(s, qid, ANNA)) is None
    parts = await in_turn(sessions, lambda s: answers.thread_of(s, part_ids[0]))
    for done, part in enumerate(parts, start=1):
        await gone_from_x(sessions, part.id)
        thread = await in_turn(sessions, lambda s: answers.thread_of(s, part_ids[0]))
        assert [p.status for p in thread] == [AnswerStatus.DELETED] * done + [
            AnswerStatus.POSTED
        ] * (len(parts) - done)
        question = await in_turn(sessions, lambda s: questions.load(s, qid))
        assert question is not None
        if done < len(parts):
            assert (question.status, question.taken_by) == (QuestionStatus.ANSWERED, BORIS)
    assert question.status == QuestionStatus.OPEN
    assert (question.taken_by, question.writing_by) == (None, None)
    assert (question.taken_at, question.take_warned_at) == (None, None)

    async def audited(session: AsyncSession) -> list[tuple[int | None, int | None, str]]:
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.action == "deleted_on_x").order_by(AuditEntry.id)
        )
        return [(r.actor_id, r.question_id, r.detail) for r in rows]

    # The audit keeps what was on X, though the answer is gone from there.
    assert await in_turn(sessions, audited) == [
        (ANNA, qid, f"x post {p.x_post_id}: {p.text}") for p in parts
    ]
    row = await deletion_of(sessions, part_ids[-1])
    assert await in_turn(sessions, lambda s: deletions.question_of(s, row)) == qid
    assert await refusal(sessions, qid, ANNA, moderator=True) == Refusal.NOT_ON_X


async def test_a_deletion_x_refused_may_be_asked_for_again(sessions: Sessions) -> None:
    qid, [part_id] = await on_x(sessions)
    assert await in_turn(sessions, lambda s: request(s, qid, BORIS, moderator=False)) is None
    row = await not_deleted(sessions, part_id, DeliveryFailure.REFUSED)
    answer = await in_turn(sessions, lambda s: answers.load(s, part_id))
    assert answer is not None and answer.status == AnswerStatus.POSTED
    assert await refusal(sessions, qid, ANNA, moderator=True) is None
    assert await in_turn(sessions, lambda s: request(s, qid, ANNA)) is None
    again = await deletion_of(sessions, part_id)
    assert (again.id, again.state, again.requested_by) == (row.id, DeliveryState.PENDING, ANNA)
    assert again.failure is None


async def test_a_partners_answer_is_deleted_from_the_partners_account(
    sessions: Sessions,
) -> None:
    qid, [part_id] = await on_x(sessions)

    async def posted_by_partner(session: AsyncSession) -> int:
        await partners.add(
            session,
            handle="ReligionMuseum",
            name="Museum of Religion",
            language="en",
            timezone="Europe/Moscow",
            added_by=ANNA,
            now=NOW,
        )
        partner = await partners.partner_by_handle(session, "religionmuseum")
        assert partner is not None
        await session.execute(
            update(Delivery)
            .where(Delivery.key == answers.key(part_id))
            .values(partner_id=partner.id)
        )
        return partner.id

    partner_id = await in_turn(sessions, posted_by_partner)
    assert await in_turn(sessions, lambda s: request(s, qid, ANNA)) is None
    row = await deletion_of(sessions, part_id)
    answer = await in_turn(sessions, lambda s: s.get(Answer, part_id))
    assert answer is not None
    assert (row.partner_id, row.target) == (partner_id, answer.x_post_id)


async def test_what_is_left_of_a_thread_on_x_can_still_be_deleted(sessions: Sessions) -> None:
    qid, [first, *rest] = await on_x(sessions, thread=True)
    assert await in_turn(sessions, lambda s: request(s, qid, BORIS, moderator=False)) is None
    await gone_from_x(sessions, first)
    for part_id in rest:
        await not_deleted(sessions, part_id, DeliveryFailure.TIMEOUT)
    question = await in_turn(sessions, lambda s: questions.load(s, qid))
    assert question is not None and question.status == QuestionStatus.ANSWERED
    # Still the curator's own answer, still within the window of its first part.
    assert await refusal(sessions, qid, VERA) == Refusal.NOT_YOURS
    assert await in_turn(sessions, lambda s: request(s, qid, BORIS, moderator=False)) is None
    queued = {d.answer_id: d.state for d in await deletions_queued(sessions)}
    assert queued == {first: DeliveryState.SENT} | {p: DeliveryState.PENDING for p in rest}
    for part_id in rest:
        await gone_from_x(sessions, part_id)
    reopened = await in_turn(sessions, lambda s: questions.load(s, qid))
    assert reopened is not None and reopened.status == QuestionStatus.OPEN
