"""The audit log keeps every action and refusal, cut to what its columns hold."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.models import AuditEntry
from opsbot.services import audit
from tests.unit.services.conftest import Sessions, in_turn


async def test_entries_are_kept_and_cut_to_size(sessions: Sessions) -> None:
    async def write(session: AsyncSession) -> None:
        await audit.record(session, actor_id=7, action="take", question_id=3)
        await audit.record(
            session,
            actor_id=None,
            action="a" * 40,
            outcome=audit.REFUSED,
            detail="d" * 3000,
        )

    await in_turn(sessions, write)

    async def read(session: AsyncSession) -> list[AuditEntry]:
        return list(await session.scalars(select(AuditEntry).order_by(AuditEntry.id)))

    first, second = await in_turn(sessions, read)
    assert (first.actor_id, first.action, first.outcome, first.question_id, first.detail) == (
        7,
        "take",
        audit.OK,
        3,
        "",
    )
    assert first.at.tzinfo is not None
    assert (len(second.action), len(second.detail), second.outcome) == (32, 2000, audit.REFUSED)


async def test_an_entry_is_written_only_with_its_unit_of_work(sessions: Sessions) -> None:
    class Stop(Exception):
        pass

    try:
        async with sessions.begin() as session:
            await audit.record(session, actor_id=1, action="draw")
            raise Stop
    except Stop:
        pass
    count = await in_turn(sessions, lambda s: s.scalar(select(AuditEntry.id).limit(1)))
    assert count is None
