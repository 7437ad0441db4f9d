"""A real database for the services, migrated to head, with neither Telegram nor X in sight.

Each test gets its own SQLite file, or its own PostgreSQL database with
OPSBOT_TEST_DATABASE=postgresql (the `database_url` fixture of tests/conftest.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from itertools import count
from typing import Any, TypeVar

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opsbot.db.engine import create_engine, create_sessionmaker
from opsbot.db.models import Question, QuestionStatus, Salon, SalonStatus, StaffMember

NOW = datetime(2026, 11, 28, 16, 0, tzinfo=UTC)
Sessions = async_sessionmaker[AsyncSession]
T = TypeVar("T")
_post_ids = count(1_900_000_000_000_000_000)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[Sessions]:
    # `database_url` is already at head.
    engine = create_engine(database_url)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


async def in_turn(sessions: Sessions, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """One unit of work in its own transaction, committed."""
    async with sessions.begin() as session:
        return await work(session)


async def at_once(
    sessions: Sessions, work: Callable[[AsyncSession], Awaitable[T]], times: int = 4
) -> list[T]:
    """The same unit of work in `times` transactions racing each other."""
    return list(await asyncio.gather(*(in_turn(sessions, work) for _ in range(times))))


def question(**overrides: Any) -> Question:
    post_id = str(next(_post_ids))
    values: dict[str, Any] = {
        "x_post_id": post_id,
        "author_id": post_id[-6:],
        "author_handle": f"visitor{post_id[-4:]}",
        "author_name": "Visitor",
        "text": "When was the museum founded? #museum",
        "posted_at": NOW,
        "source": "mentions",
        "replyable": True,
        "status": QuestionStatus.OPEN,
    }
    values.update(overrides)
    return Question(**values)


async def add_question(sessions: Sessions, **overrides: Any) -> int:
    async with sessions.begin() as session:
        row = question(**overrides)
        session.add(row)
        await session.flush()
        return row.id


async def add_staff(sessions: Sessions, telegram_id: int, **overrides: Any) -> None:
    values: dict[str, Any] = {"telegram_id": telegram_id, "first_name": f"Member {telegram_id}"}
    values.update(overrides)
    async with sessions.begin() as session:
        session.add(StaffMember(**values))


async def add_salon(sessions: Sessions, **overrides: Any) -> int:
    values: dict[str, Any] = {"topic": "Winter", "status": SalonStatus.ENDED, "started_at": NOW}
    values.update(overrides)
    async with sessions.begin() as session:
        salon = Salon(**values)
        session.add(salon)
        await session.flush()
        return salon.id
