"""The audit log: every staff action and every refusal, with who and when."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.base import utcnow
from opsbot.db.models import AuditEntry

OK = "ok"
REFUSED = "refused"


async def record(
    session: AsyncSession,
    *,
    actor_id: int | None,
    action: str,
    outcome: str = OK,
    question_id: int | None = None,
    detail: str = "",
) -> None:
    session.add(
        AuditEntry(
            at=utcnow(),
            actor_id=actor_id,
            action=action[:32],
            outcome=outcome,
            question_id=question_id,
            detail=detail[:2000],
        )
    )
