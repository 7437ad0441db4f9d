"""The outbox's state machine: queued once, claimed by one sender, fenced, retried, given up."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.models import (
    Delivery,
    DeliveryFailure,
    DeliveryKind,
    DeliveryState,
    DeliveryWait,
)
from opsbot.services import outbox
from opsbot.services.outbox import LEASE, MIN_WAIT, Origin
from tests.unit.services.conftest import NOW, Sessions, at_once, in_turn

ORIGIN = Origin(requested_by=7, chat_id=-100, message_id=5)


async def queue(
    sessions: Sessions, key: str = "prompt:1:a", *, follows_id: int | None = None, **extra: object
) -> Delivery:
    async def work(session: AsyncSession) -> outbox.Queued:
        return await outbox.enqueue(
            session,
            key=key,
            kind=DeliveryKind.PROMPT,
            payload="Q1: What do you see? #museum",
            now=NOW,
            origin=ORIGIN,
            follows_id=follows_id,
            **extra,  # type: ignore[arg-type]
        )

    queued = await in_turn(sessions, work)
    assert queued.created
    return queued.delivery


async def claim(sessions: Sessions, delivery_id: int, now=NOW, force=False) -> Delivery | None:  # type: ignore[no-untyped-def]
    return await in_turn(sessions, lambda s: outbox.claim(s, delivery_id, now, force=force))


async def state_of(sessions: Sessions, delivery_id: int) -> Delivery:
    row = await in_turn(sessions, lambda s: outbox.get(s, delivery_id))
    assert row is not None
    return row


async def test_a_key_is_queued_once_however_many_ask_at_once(sessions: Sessions) -> None:
    async def work(session: AsyncSession) -> outbox.Queued:
        return await outbox.enqueue(
            session,
            key="announcement:1",
            kind=DeliveryKind.ANNOUNCEMENT,
            payload="The salon opens",
            now=NOW,
            origin=ORIGIN,
        )

    results = await at_once(sessions, work, times=5)
    assert sum(r.created for r in results) == 1
    assert len({r.delivery.id for r in results}) == 1
    assert results[0].delivery.state == DeliveryState.PENDING
    assert results[0].delivery.requested_by == 7


async def test_one_of_many_concurrent_senders_claims_a_row(sessions: Sessions) -> None:
    row = await queue(sessions)
    claims = await at_once(sessions, lambda s: outbox.claim(s, row.id, NOW), times=5)
    won = [c for c in claims if c is not None]
    assert len(won) == 1
    assert won[0].state == DeliveryState.SENDING
    assert won[0].token == 1
    assert won[0].lease_until == NOW + LEASE
    assert won[0].first_attempt_at == NOW
    assert won[0].attempts == 0 and not won[0].maybe_posted


async def test_a_live_lease_is_never_taken_over_but_an_expired_one_is(sessions: Sessions) -> None:
    row = await queue(sessions)
    first = await claim(sessions, row.id)
    assert first is not None
    assert await in_turn(sessions, lambda s: outbox.due(s, NOW + LEASE / 2)) == []
    assert await claim(sessions, row.id, NOW + LEASE / 2) is None
    later = NOW + LEASE + timedelta(seconds=1)
    assert await in_turn(sessions, lambda s: outbox.due(s, later)) == [row.id]
    second = await claim(sessions, row.id, later)
    assert second is not None
    # The first sender died mid-attempt: the attempt counts, and X may have its post.
    assert second.token == 2 and second.attempts == 1 and second.maybe_posted
    assert second.first_attempt_at == NOW


async def test_force_takes_over_a_live_lease_at_start(sessions: Sessions) -> None:
    row = await queue(sessions)
    assert await claim(sessions, row.id) is not None
    assert await in_turn(sessions, lambda s: outbox.due(s, NOW, force=True)) == [row.id]
    taken = await claim(sessions, row.id, force=True)
    assert taken is not None and taken.token == 2 and taken.maybe_posted


async def test_a_sender_that_was_taken_over_can_record_nothing(sessions: Sessions) -> None:
    row = await queue(sessions)
    old = await claim(sessions, row.id)
    assert old is not None
    new = await claim(sessions, row.id, NOW + LEASE * 2)
    assert new is not None
    later = NOW + LEASE * 2
    assert not await in_turn(sessions, lambda s: outbox.holds(s, old, later))
    assert not await in_turn(sessions, lambda s: outbox.record_sent(s, old, "111", later))
    assert (
        await in_turn(
            sessions, lambda s: outbox.record_failed(s, old, DeliveryFailure.TIMEOUT, "late", later)
        )
        == []
    )
    assert not await in_turn(
        sessions,
        lambda s: outbox.record_wait(
            s, old, until=later, now=later, why=DeliveryWait.UNKNOWN, error="late"
        ),
    )
    assert await in_turn(sessions, lambda s: outbox.holds(s, new, later))
    assert await in_turn(sessions, lambda s: outbox.record_sent(s, new, "222", later))
    final = await state_of(sessions, row.id)
    assert (final.state, final.external_id, final.token) == (DeliveryState.SENT, "222", 2)
    assert final.lease_until is None and final.sent_at == later


async def test_holding_renews_the_lease(sessions: Sessions) -> None:
    row = await queue(sessions)
    held = await claim(sessions, row.id)
    assert held is not None
    renewed_at = NOW + LEASE - timedelta(seconds=5)
    assert await in_turn(sessions, lambda s: outbox.holds(s, held, renewed_at))
    assert await claim(sessions, row.id, NOW + LEASE + timedelta(seconds=1)) is None
    assert (await state_of(sessions, row.id)).lease_until == renewed_at + LEASE


async def test_unknown_outcomes_count_as_attempts_rate_limits_do_not(sessions: Sessions) -> None:
    row = await queue(sessions)
    held = await claim(sessions, row.id)
    assert held is not None
    until = NOW + timedelta(minutes=15)
    assert await in_turn(
        sessions,
        lambda s: outbox.record_wait(
            s, held, until=until, now=NOW, why=DeliveryWait.RATE_LIMIT, error="429"
        ),
    )
    waiting = await state_of(sessions, row.id)
    assert waiting.state == DeliveryState.PENDING and waiting.attempts == 0
    assert waiting.next_attempt_at == until and waiting.waiting_for == DeliveryWait.RATE_LIMIT
    assert not waiting.maybe_posted and waiting.lease_until is None
    assert await claim(sessions, row.id, until - timedelta(seconds=1)) is None
    again = await claim(sessions, row.id, until)
    assert again is not None and again.token == 2
    assert await in_turn(
        sessions,
        lambda s: outbox.record_wait(
            s,
            again,
            until=until - timedelta(hours=1),
            now=until,
            why=DeliveryWait.UNKNOWN,
            error="timeout",
            maybe_posted=True,
            failure=DeliveryFailure.TIMEOUT,
        ),
    )
    retried = await state_of(sessions, row.id)
    assert retried.attempts == 1 and retried.maybe_posted
    # What it fails with if no later attempt gets through; still pending meanwhile.
    assert retried.failure == DeliveryFailure.TIMEOUT
    # A reset time already past never makes the loop spin.
    assert retried.next_attempt_at == until + MIN_WAIT
    assert retried.last_error == "timeout"


async def test_giving_up_fails_the_rest_of_the_thread_once(sessions: Sessions) -> None:
    first = await queue(sessions, "answer:1")
    second = await queue(sessions, "answer:2", follows_id=first.id)
    third = await queue(sessions, "answer:3", follows_id=second.id)
    # A part waits for the part it replies to.
    assert await in_turn(sessions, lambda s: outbox.due(s, NOW)) == [first.id]
    assert await claim(sessions, second.id) is None
    held = await claim(sessions, first.id)
    assert held is not None
    failed = await in_turn(
        sessions, lambda s: outbox.record_failed(s, held, DeliveryFailure.REFUSED, "403", NOW)
    )
    assert [r.id for r in failed] == [first.id, second.id, third.id]
    assert {r.state for r in failed} == {DeliveryState.FAILED}
    assert [r.failure for r in failed] == [
        DeliveryFailure.REFUSED,
        DeliveryFailure.FOLLOWED_FAILED,
        DeliveryFailure.FOLLOWED_FAILED,
    ]
    assert failed[1].last_error == f"not posted: delivery {first.id} failed"
    # The followers are told with the row they followed; the row itself is told once.
    untold = await in_turn(sessions, outbox.untold)
    assert [r.id for r in untold] == [first.id]
    told = await at_once(sessions, lambda s: outbox.mark_told(s, first.id, NOW), times=3)
    assert told.count(True) == 1
    assert await in_turn(sessions, outbox.untold) == []


async def test_a_follower_goes_out_after_its_predecessor_as_a_reply_to_it(
    sessions: Sessions,
) -> None:
    first = await queue(sessions, "answer:1", target="555")
    second = await queue(sessions, "answer:2", follows_id=first.id)
    held = await claim(sessions, first.id)
    assert held is not None
    assert await in_turn(sessions, lambda s: outbox.target_of(s, held)) == "555"
    assert await in_turn(sessions, lambda s: outbox.target_of(s, second)) is None
    assert await in_turn(sessions, lambda s: outbox.record_sent(s, held, "600", NOW))
    assert await in_turn(sessions, lambda s: outbox.due(s, NOW)) == [second.id]
    assert await in_turn(sessions, lambda s: outbox.target_of(s, second)) == "600"
    follower = await in_turn(sessions, lambda s: outbox.follower_of(s, first.id))
    assert follower is not None and follower.id == second.id


async def test_a_failed_row_is_queued_again_keeping_what_x_may_have(sessions: Sessions) -> None:
    row = await queue(sessions)
    held = await claim(sessions, row.id)
    assert held is not None
    await in_turn(
        sessions,
        lambda s: outbox.record_wait(
            s, held, until=NOW, now=NOW, why=DeliveryWait.UNKNOWN, error="5xx", maybe_posted=True
        ),
    )
    retried = await claim(sessions, row.id, NOW + timedelta(minutes=1))
    assert retried is not None
    await in_turn(
        sessions,
        lambda s: outbox.record_failed(s, retried, DeliveryFailure.TIMEOUT, "gave up", NOW),
    )
    await in_turn(sessions, lambda s: outbox.mark_told(s, row.id, NOW))

    async def again(session: AsyncSession, retry_failed: bool) -> outbox.Queued:
        return await outbox.enqueue(
            session,
            key=row.key,
            kind=DeliveryKind.PROMPT,
            payload="Q1: edited",
            now=NOW + timedelta(hours=1),
            origin=Origin(requested_by=8),
            retry_failed=retry_failed,
        )

    kept = await in_turn(sessions, lambda s: again(s, False))
    assert not kept.created and kept.delivery.state == DeliveryState.FAILED
    requeued = await in_turn(sessions, lambda s: again(s, True))
    assert requeued.created
    fresh = requeued.delivery
    assert fresh.state == DeliveryState.PENDING and fresh.payload == "Q1: edited"
    assert fresh.attempts == 0 and fresh.told_at is None and fresh.requested_by == 8
    assert fresh.maybe_posted and fresh.failure is None
    # Queued again while pending: nothing changes.
    assert not (await in_turn(sessions, lambda s: again(s, True))).created


async def test_a_withdrawn_post_is_never_sent_unless_already_under_way(
    sessions: Sessions,
) -> None:
    async def skip(session: AsyncSession, key: str) -> bool:
        return await outbox.withdraw(
            session, key=key, kind=DeliveryKind.ANNOUNCEMENT, now=NOW, origin=ORIGIN
        )

    assert await in_turn(sessions, lambda s: skip(s, "announcement:1"))
    skipped = await in_turn(sessions, lambda s: outbox.by_key(s, "announcement:1"))
    assert skipped is not None and skipped.state == DeliveryState.CANCELLED
    assert await in_turn(sessions, lambda s: outbox.due(s, NOW + LEASE)) == []
    row = await queue(sessions, "announcement:2")
    assert await claim(sessions, row.id) is not None
    assert not await in_turn(sessions, lambda s: skip(s, "announcement:2"))
    assert (await state_of(sessions, row.id)).state == DeliveryState.SENDING


def test_a_post_found_on_x_is_recognised_as_ours() -> None:
    ours = "Thank you & see https://museum.ru/a   for more #museum"
    on_x = "Thank you &amp; see https://t.co/abc123 for more #museum"
    assert outbox.same_text(ours, on_x)
    assert not outbox.same_text(ours, "Thank you & see https://t.co/abc123 #museum")
