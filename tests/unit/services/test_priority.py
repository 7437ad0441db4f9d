"""Priority senders: the handles listed by /vip, whatever their case, and anyone with more
followers than the threshold."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.models import Question
from opsbot.services import priority
from opsbot.services.priority import MAX_NOTE, Priority
from tests.unit.services.conftest import NOW, Sessions, add_question, at_once, in_turn

ANNA, BORIS = 1001, 1002
THRESHOLD = 10_000


@pytest.mark.parametrize(
    ("text", "handle"),
    [
        ("@Journalist", "journalist"),
        ("  museum_RU  ", "museum_ru"),
        ("x" * 15, "x" * 15),
        ("@" + "x" * 15, "x" * 15),
        ("x" * 16, None),
        ("", None),
        ("@", None),
        ("@@journalist", None),
        ("two words", None),
        ("news-desk", None),
        ("журналист", None),
        ("https://x.com/journalist", None),
    ],
)
def test_a_handle_is_read_as_x_spells_usernames(text: str, handle: str | None) -> None:
    assert priority.parse_handle(text) == handle


async def listed(sessions: Sessions) -> list[tuple[str, str, int | None]]:
    rows = await in_turn(sessions, priority.listed)
    return [(r.handle, r.note, r.added_by) for r in rows]


async def add(sessions: Sessions, handle: str, note: str, by: int = ANNA) -> bool:
    return await in_turn(sessions, lambda s: priority.add(s, handle, note, by, NOW))


async def test_listing_changing_and_removing_a_sender(sessions: Sessions) -> None:
    assert await listed(sessions) == []
    assert await add(sessions, "radio", "Radio")
    assert await add(sessions, "journalist", "Daily News")
    # Listed again: the note changes, who listed it first stays.
    later = NOW + timedelta(days=1)
    again = await in_turn(
        sessions, lambda s: priority.add(s, "journalist", "Evening", BORIS, later)
    )
    assert not again
    assert await listed(sessions) == [("journalist", "Evening", ANNA), ("radio", "Radio", ANNA)]
    rows = await in_turn(sessions, priority.listed)
    assert rows[0].added_at == NOW
    assert await add(sessions, "ministry", "x" * (MAX_NOTE + 50))
    rows = await in_turn(sessions, priority.listed)
    assert [len(r.note) for r in rows if r.handle == "ministry"] == [MAX_NOTE]
    assert await in_turn(sessions, lambda s: priority.remove(s, "radio"))
    assert not await in_turn(sessions, lambda s: priority.remove(s, "radio"))
    assert not await in_turn(sessions, lambda s: priority.remove(s, "nobody"))
    assert [h for h, _, _ in await listed(sessions)] == ["journalist", "ministry"]


async def test_listing_or_removing_at_once_happens_once(sessions: Sessions) -> None:
    added = await at_once(sessions, lambda s: priority.add(s, "journalist", "News", ANNA, NOW))
    assert added.count(True) == 1
    assert await listed(sessions) == [("journalist", "News", ANNA)]
    removed = await at_once(sessions, lambda s: priority.remove(s, "journalist"))
    assert removed.count(True) == 1
    assert await listed(sessions) == []


async def test_a_sender_is_priority_if_listed_in_any_case_or_followed_by_more_than_the_threshold(
    sessions: Sessions,
) -> None:
    await add(sessions, "journalist", "Daily News")
    listed_one = await add_question(sessions, author_handle="JournaList", author_followers=5)
    followed = await add_question(sessions, author_followers=THRESHOLD + 1)
    at_threshold = await add_question(sessions, author_followers=THRESHOLD)
    await add_question(sessions, author_followers=None)

    async def found(session: AsyncSession) -> tuple[set[int], dict[int, Priority]]:
        ids = set(await session.scalars(select(Question.id).where(priority.is_priority(THRESHOLD))))
        every = list(await session.scalars(select(Question).order_by(Question.id)))
        return ids, await priority.of_questions(session, every, THRESHOLD)

    ids, by_question = await in_turn(sessions, found)
    assert ids == {listed_one, followed}
    assert by_question == {
        listed_one: Priority("Daily News", 5),
        followed: Priority(None, THRESHOLD + 1),
    }

    async def one(session: AsyncSession, qid: int) -> Priority | None:
        question = await session.get(Question, qid)
        assert question is not None
        return await priority.of_question(session, question, THRESHOLD)

    assert await in_turn(sessions, lambda s: one(s, at_threshold)) is None
    assert await in_turn(sessions, lambda s: one(s, listed_one)) == Priority("Daily News", 5)
    assert await in_turn(sessions, lambda s: priority.of_questions(s, [], THRESHOLD)) == {}


async def test_a_removed_sender_is_no_longer_priority(sessions: Sessions) -> None:
    await add(sessions, "journalist", "Daily News")
    qid = await add_question(sessions, author_handle="Journalist")

    async def found(session: AsyncSession) -> list[int]:
        return list(await session.scalars(select(Question.id).where(priority.is_priority(0))))

    assert await in_turn(sessions, found) == [qid]
    await in_turn(sessions, lambda s: priority.remove(s, "journalist"))
    assert await in_turn(sessions, found) == []
