"""Audience posts become questions once; cursors never move back; each card is recorded once."""

from __future__ import annotations

from datetime import timedelta

from opsbot.db.models import Question
from opsbot.services import inbox, questions
from opsbot.services.posts import XPost
from tests.unit.services.conftest import NOW, Sessions, add_question, add_salon, at_once, in_turn

MUSEUM_ID, MUSEUM = "500", "Museum"


def post(post_id: int, **extra: object) -> XPost:
    values: dict[str, object] = {
        "id": str(post_id),
        "author_id": str(9000 + post_id),
        "author_handle": f"fan{post_id}",
        "author_name": "Fan",
        "text": "What is this painting? #museum",
        "created_at": NOW,
    }
    values.update(extra)
    return XPost(**values)  # type: ignore[arg-type]


async def store(sessions: Sessions, posts: list[XPost]) -> list[int]:
    return await in_turn(
        sessions,
        lambda s: inbox.store_posts(
            s, posts, source="mentions", museum_id=MUSEUM_ID, museum_handle=MUSEUM
        ),
    )


async def test_posts_become_questions_once_in_the_order_they_were_posted(
    sessions: Sessions,
) -> None:
    salon_id = await add_salon(sessions, started_at=NOW - timedelta(hours=1), ended_at=None)
    posts = [
        post(12, mentioned_handles=frozenset({"museum"})),
        post(3, quoted_author_id=MUSEUM_ID),
        post(12),
        post(20, is_retweet=True),
        post(21, author_id=MUSEUM_ID),
        post(22, in_reply_to_user_id="777"),
    ]
    stored = await at_once(
        sessions,
        lambda s: inbox.store_posts(
            s, posts, source="search", museum_id=MUSEUM_ID, museum_handle=MUSEUM
        ),
    )
    new_ids = [i for batch in stored for i in batch]
    assert len(new_ids) == 3
    rows = [await in_turn(sessions, lambda s, i=i: questions.load(s, i)) for i in sorted(new_ids)]  # type: ignore[misc]
    found: dict[str, Question] = {q.x_post_id: q for q in rows if q is not None}
    assert [q.x_post_id for q in rows if q] == ["3", "12", "22"]
    assert found["12"].replyable and found["3"].replyable and not found["22"].replyable
    assert {q.salon_id for q in found.values()} == {salon_id}
    assert len(await store(sessions, [post(3), post(23)])) == 1


async def test_a_cursor_never_moves_backwards(sessions: Sessions) -> None:
    assert await in_turn(sessions, lambda s: inbox.get_cursor(s, "search")) is None
    await in_turn(sessions, lambda s: inbox.start_cursor(s, "search", NOW))
    await in_turn(sessions, lambda s: inbox.start_cursor(s, "search", NOW + timedelta(days=1)))
    assert await in_turn(sessions, lambda s: inbox.get_cursor(s, "search")) == inbox.Cursor(
        None, NOW
    )
    later = NOW + timedelta(minutes=5)
    await in_turn(sessions, lambda s: inbox.save_cursor(s, "search", "1000", later))
    await in_turn(sessions, lambda s: inbox.save_cursor(s, "search", "999", NOW))
    await in_turn(sessions, lambda s: inbox.save_cursor(s, "search", None, NOW))
    # "1000" < "999" as text: the comparison must be numeric.
    assert await in_turn(sessions, lambda s: inbox.get_cursor(s, "search")) == inbox.Cursor(
        "1000", later
    )
    await in_turn(sessions, lambda s: inbox.restart_cursor(s, "search", NOW))
    assert await in_turn(sessions, lambda s: inbox.get_cursor(s, "search")) == inbox.Cursor(
        None, NOW
    )


async def test_cards_wait_in_the_order_asked_and_are_recorded_once(sessions: Sessions) -> None:
    late = await add_question(sessions, x_post_id="100", posted_at=NOW + timedelta(seconds=1))
    longer = await add_question(sessions, x_post_id="1000", posted_at=NOW)
    shorter = await add_question(sessions, x_post_id="999", posted_at=NOW)
    queued = await in_turn(sessions, lambda s: inbox.queued_cards(s, 10))
    assert [q.id for q in queued] == [shorter, longer, late]
    await in_turn(sessions, lambda s: inbox.record_digest(s, [shorter], 77))
    assert await in_turn(sessions, inbox.count_queued_cards) == 2
    await in_turn(sessions, lambda s: inbox.card_attempt(s, longer, 40))
    attempted = await in_turn(sessions, lambda s: questions.load(s, longer))
    assert attempted is not None and attempted.card_after_message_id == 40
    assert attempted.card_attempt_at is not None
    recorded = await at_once(
        sessions, lambda s: inbox.record_card(s, longer, -100, None, 41, "digest-1")
    )
    assert recorded.count(True) == 1
    card = await in_turn(sessions, lambda s: questions.load(s, longer))
    assert card is not None and (card.card_message_id, card.card_digest) == (41, "digest-1")
    assert card.card_attempt_at is None and card.card_after_message_id is None
    # A later attempt on a recorded card changes nothing.
    await in_turn(sessions, lambda s: inbox.card_attempt(s, longer, 50))
    assert (await in_turn(sessions, lambda s: questions.load(s, longer))).card_attempt_at is None  # type: ignore[union-attr]
    await in_turn(
        sessions,
        lambda s: inbox.record_card_shown(s, longer, "digest-2", chat_id=-100, message_id=60),
    )
    shown = await in_turn(sessions, lambda s: questions.load(s, longer))
    assert shown is not None and (shown.card_message_id, shown.card_digest) == (60, "digest-2")
    assert [q.id for q in await in_turn(sessions, lambda s: inbox.queued_cards(s, 10))] == [late]
