"""Salons: one live at a time, ended once, warned once, prompts numbered once each."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.models import DeliveryState, QuestionStatus, SalonStatus
from opsbot.services import lottery, outbox, salons
from opsbot.services.outbox import Origin
from opsbot.services.salons import AFTERGLOW, StartRefusal
from tests.unit.services.conftest import NOW, Sessions, add_question, add_salon, at_once, in_turn

HOUR = timedelta(hours=1)


async def start(session: AsyncSession, topic: str = "Winter", **extra: object) -> salons.Started:
    return await salons.start(session, topic=topic, duration=HOUR, by=1, now=NOW, **extra)  # type: ignore[arg-type]


async def test_only_one_of_concurrent_starts_opens_a_salon(sessions: Sessions) -> None:
    results = await at_once(sessions, start, times=4)
    opened = [r.salon for r in results if r.salon is not None]
    assert len(opened) == 1
    salon = opened[0]
    assert salon.status == SalonStatus.LIVE and salon.planned_end_at == NOW + HOUR
    assert salon.commitment == lottery.commitment(bytes.fromhex(salon.secret))
    refused = [r for r in results if r.salon is None]
    assert {r.refusal for r in refused} == {StartRefusal.ALREADY_LIVE}
    assert {r.live.id for r in refused if r.live} == {salon.id}


async def test_a_planned_salon_starts_once(sessions: Sessions) -> None:
    planned = await add_salon(sessions, status=SalonStatus.PLANNED, started_at=None)
    first = await in_turn(sessions, lambda s: start(s, salon_id=planned))
    assert first.salon is not None and first.salon.id == planned
    assert first.salon.status == SalonStatus.LIVE and first.salon.secret
    assert await in_turn(sessions, lambda s: salons.end(s, planned, NOW + HOUR))
    again = await in_turn(sessions, lambda s: start(s, salon_id=planned))
    assert again.salon is None and again.refusal == StartRefusal.ALREADY_LIVE


async def test_a_salon_ends_once_and_warns_once(sessions: Sessions) -> None:
    started = await in_turn(sessions, start)
    assert started.salon is not None
    salon_id = started.salon.id
    warned = await at_once(sessions, lambda s: salons.claim_end_warning(s, salon_id))
    assert warned.count(True) == 1
    ended = await at_once(sessions, lambda s: salons.end(s, salon_id, NOW + HOUR))
    assert ended.count(True) == 1
    closed = await in_turn(sessions, lambda s: salons.get(s, salon_id))
    assert closed is not None and closed.status == SalonStatus.ENDED
    assert closed.ended_at == NOW + HOUR
    assert await in_turn(sessions, salons.live_salon) is None
    latest = await in_turn(sessions, salons.latest)
    assert latest is not None and latest.id == salon_id
    # A new salon may start once the last one ended; nothing warns an ended salon.
    assert (await in_turn(sessions, start)).salon is not None
    assert not await in_turn(sessions, lambda s: salons.claim_end_warning(s, salon_id))


async def test_prompts_are_numbered_in_order_and_a_repeat_is_asked_once(
    sessions: Sessions,
) -> None:
    started = await in_turn(sessions, start)
    assert started.salon is not None
    salon_id = started.salon.id

    async def ask(session: AsyncSession, prompt: str) -> outbox.Queued:
        return await salons.ask(
            session, salon_id, prompt, "#museum", now=NOW, origin=Origin(requested_by=1)
        )

    first = await in_turn(sessions, lambda s: ask(s, "What did you see?"))
    second = await in_turn(sessions, lambda s: ask(s, "Which hall?"))
    repeat = await in_turn(sessions, lambda s: ask(s, "  what did YOU see? "))
    assert first.delivery.payload == "Q1: What did you see? #museum"
    assert second.delivery.number == 2
    assert not repeat.created and repeat.delivery.id == first.delivery.id
    concurrent = await at_once(sessions, lambda s: ask(s, "Your favourite painting?"))
    assert sum(q.created for q in concurrent) == 1
    assert {q.delivery.number for q in concurrent} == {3}


async def test_the_announcement_is_queued_once_or_skipped(sessions: Sessions) -> None:
    origin = Origin(requested_by=1)
    announced, skipping = await add_salon(sessions), await add_salon(sessions)
    queued = await at_once(
        sessions,
        lambda s: salons.announce(s, announced, "Tonight: Winter", now=NOW, origin=origin),
    )
    assert sum(q.created for q in queued) == 1
    # Once queued, it is too late to skip; an announcement not queued yet is withdrawn.
    assert not await in_turn(
        sessions, lambda s: salons.skip_announcement(s, announced, now=NOW, origin=origin)
    )
    assert await in_turn(
        sessions, lambda s: salons.skip_announcement(s, skipping, now=NOW, origin=origin)
    )
    key = salons.announcement_key(skipping)
    skipped = await in_turn(sessions, lambda s: outbox.by_key(s, key))
    assert skipped is not None and skipped.state == DeliveryState.CANCELLED


async def test_posts_belong_to_the_salon_they_were_posted_in(sessions: Sessions) -> None:
    ended_at = NOW + HOUR
    salon_id = await add_salon(sessions, started_at=NOW, ended_at=ended_at)

    async def belongs(offset: timedelta) -> tuple[int | None, bool]:
        return await in_turn(sessions, lambda s: salons.salon_for_post(s, NOW + offset))

    assert await belongs(-timedelta(minutes=1)) == (None, False)
    assert await belongs(timedelta(minutes=30)) == (salon_id, False)
    assert await belongs(HOUR) == (salon_id, False)
    assert await belongs(HOUR + AFTERGLOW) == (salon_id, True)
    assert await belongs(HOUR + AFTERGLOW + timedelta(seconds=1)) == (None, False)


async def test_questions_are_numbered_once_and_summed_up(sessions: Sessions) -> None:
    salon_id = await add_salon(sessions)
    first = await add_question(sessions, salon_id=salon_id, author_id="a")
    second = await add_question(
        sessions, salon_id=salon_id, author_id="b", status=QuestionStatus.ANSWERED
    )
    await add_question(sessions, salon_id=salon_id, author_id="c", status=QuestionStatus.HIDDEN)
    await add_question(sessions, salon_id=salon_id, author_id="a", status=QuestionStatus.TAKEN)
    await add_question(sessions, salon_id=salon_id, author_id="d", after_salon=True)
    assert await in_turn(sessions, lambda s: salons.number_question(s, first, salon_id)) == 1
    assert await in_turn(sessions, lambda s: salons.number_question(s, second, salon_id)) == 2
    assert await in_turn(sessions, lambda s: salons.number_question(s, first, salon_id)) == 1
    summary = await in_turn(sessions, lambda s: salons.summary(s, salon_id))
    assert (summary.questions, summary.answered, summary.hidden) == (4, 1, 1)
    assert len(summary.open) == 2
    # Spam authors are not participants; "d" asked after the salon.
    assert summary.participants == 2
