"""Cards in a co-host's own group: which questions are due there, oldest first, and where each
card is once sent."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from opsbot.db.models import Partner, PartnerCard, QuestionAudience, SalonStatus
from opsbot.services import partner_cards, partners
from tests.unit.services.conftest import NOW, Sessions, add_question, add_salon, at_once, in_turn

GROUP, OTHER_GROUP = -1002001, -1002002
TOPIC = 7


async def add_partner(sessions: Sessions, chat_id: int | None = GROUP) -> int:
    async with sessions.begin() as session:
        partner = Partner(
            handle="religionmuseum",
            name="Museum of Religion",
            language="en",
            timezone="Europe/Moscow",
            chat_id=chat_id,
        )
        session.add(partner)
        await session.flush()
        return partner.id


async def cohosted(sessions: Sessions, partner_id: int) -> int:
    return await add_salon(
        sessions,
        status=SalonStatus.LIVE,
        started_at=NOW - timedelta(hours=1),
        partner_id=partner_id,
        partner_thread_id=TOPIC,
    )


async def due(sessions: Sessions, limit: int = 10, stored_up_to: int | None = None) -> list[int]:
    found = await in_turn(
        sessions, lambda s: partner_cards.due(s, limit, stored_up_to=stored_up_to)
    )
    return [d.question.id for d in found]


async def card(sessions: Sessions, qid: int) -> PartnerCard | None:
    return await in_turn(
        sessions,
        lambda s: s.scalar(
            select(PartnerCard).where(PartnerCard.question_id == qid, PartnerCard.chat_id == GROUP)
        ),
    )


async def begin(sessions: Sessions, qid: int, minutes: int = 0) -> bool:
    at = NOW + timedelta(minutes=minutes)
    return await in_turn(sessions, lambda s: partner_cards.begin(s, qid, GROUP, TOPIC, at))


async def test_the_partners_and_the_shared_questions_are_due_oldest_first(
    sessions: Sessions,
) -> None:
    partner_id = await add_partner(sessions)
    salon_id = await cohosted(sessions, partner_id)
    alone = await add_salon(sessions, status=SalonStatus.ENDED, started_at=NOW - timedelta(days=7))
    ago = NOW - timedelta(minutes=10)
    # Post ids of one moment in X's order: a shorter id is the older post.
    partners_own = await add_question(
        sessions,
        salon_id=salon_id,
        audience=QuestionAudience.PARTNER,
        x_post_id="100",
        posted_at=ago,
    )
    shared = await add_question(
        sessions, salon_id=salon_id, audience=QuestionAudience.BOTH, x_post_id="99", posted_at=ago
    )
    oldest = await add_question(
        sessions,
        salon_id=salon_id,
        audience=QuestionAudience.BOTH,
        x_post_id="500",
        posted_at=ago - timedelta(minutes=10),
    )
    await add_question(
        sessions,
        salon_id=salon_id,
        audience=QuestionAudience.HOST,
        posted_at=ago - timedelta(hours=1),
    )
    await add_question(
        sessions, salon_id=alone, audience=QuestionAudience.BOTH, posted_at=ago - timedelta(hours=1)
    )
    await add_question(sessions, audience=QuestionAudience.BOTH, posted_at=ago - timedelta(hours=1))
    assert await due(sessions) == [oldest, shared, partners_own]
    assert await due(sessions, limit=2) == [oldest, shared]
    # A poll still reading may hold older posts on later pages: what it stored waits.
    assert await due(sessions, stored_up_to=shared) == [shared, partners_own]
    [first, *_] = await in_turn(sessions, lambda s: partner_cards.due(s, 1))
    assert (first.chat_id, first.thread_id, first.partner.id) == (GROUP, TOPIC, partner_id)


async def test_no_card_is_due_before_the_partner_has_a_group(sessions: Sessions) -> None:
    partner_id = await add_partner(sessions, chat_id=None)
    salon_id = await cohosted(sessions, partner_id)
    qid = await add_question(sessions, salon_id=salon_id, audience=QuestionAudience.PARTNER)
    assert await due(sessions) == []
    await in_turn(sessions, lambda s: partners.request_group(s, partner_id, GROUP))
    assert await due(sessions) == []
    await in_turn(sessions, lambda s: partners.approve_group(s, partner_id, GROUP))
    assert await due(sessions) == [qid]


async def test_a_card_is_due_until_recorded_and_then_found_by_its_message(
    sessions: Sessions,
) -> None:
    partner_id = await add_partner(sessions)
    salon_id = await cohosted(sessions, partner_id)
    qid = await add_question(sessions, salon_id=salon_id, audience=QuestionAudience.BOTH)
    assert not await begin(sessions, qid)
    # Under way, its outcome unknown: still waiting for a card.
    assert await due(sessions) == [qid]
    assert await in_turn(sessions, lambda s: partner_cards.shown(s, qid)) == []
    await in_turn(
        sessions,
        lambda s: partner_cards.record(
            s, qid, GROUP, thread_id=TOPIC, message_id=55, digest="first"
        ),
    )
    assert await due(sessions) == []
    recorded = await card(sessions, qid)
    assert recorded is not None
    assert (recorded.thread_id, recorded.message_id, recorded.digest, recorded.attempt_at) == (
        TOPIC,
        55,
        "first",
        None,
    )
    [shown] = await in_turn(sessions, lambda s: partner_cards.shown(s, qid))
    assert (shown.card.id, shown.card.message_id, shown.partner.id) == (
        recorded.id,
        55,
        partner_id,
    )
    assert await in_turn(sessions, lambda s: partner_cards.question_of_card(s, GROUP, 55)) == qid
    assert await in_turn(sessions, lambda s: partner_cards.question_of_card(s, GROUP, 56)) is None
    assert (
        await in_turn(sessions, lambda s: partner_cards.question_of_card(s, OTHER_GROUP, 55))
        is None
    )
    await in_turn(sessions, lambda s: partner_cards.now_shows(s, recorded.id, "taken"))
    edited = await card(sessions, qid)
    assert edited is not None and (edited.message_id, edited.digest) == (55, "taken")
    # Sent anew where the old message was deleted: the card is found by the new one only.
    await in_turn(
        sessions,
        lambda s: partner_cards.now_shows(s, recorded.id, "answered", message_id=77),
    )
    moved = await card(sessions, qid)
    assert moved is not None
    assert (moved.thread_id, moved.message_id, moved.digest) == (None, 77, "answered")
    assert await in_turn(sessions, lambda s: partner_cards.question_of_card(s, GROUP, 55)) is None
    assert await in_turn(sessions, lambda s: partner_cards.question_of_card(s, GROUP, 77)) == qid


async def test_a_send_is_told_apart_from_one_whose_answer_was_lost(sessions: Sessions) -> None:
    partner_id = await add_partner(sessions)
    salon_id = await cohosted(sessions, partner_id)
    qid = await add_question(sessions, salon_id=salon_id, audience=QuestionAudience.PARTNER)
    assert not await begin(sessions, qid)
    # No word came back from that send: the card may be in the group.
    assert await begin(sessions, qid, minutes=1)
    begun = await card(sessions, qid)
    assert begun is not None and begun.attempt_at == NOW + timedelta(minutes=1)
    await in_turn(sessions, lambda s: partner_cards.attempt_over(s, qid, GROUP))
    over = await card(sessions, qid)
    assert over is not None and over.attempt_at is None
    # Telegram said it did not post it: the next send is a first one again.
    assert not await begin(sessions, qid, minutes=2)
    again = await card(sessions, qid)
    assert again is not None and again.attempt_at == NOW + timedelta(minutes=2)
    other = await add_question(sessions, salon_id=salon_id, audience=QuestionAudience.BOTH)
    begins = await at_once(
        sessions, lambda s: partner_cards.begin(s, other, GROUP, TOPIC, NOW), times=4
    )
    assert begins.count(False) == 1
