"""Conditions the staff group hears about once when they start, not on every poll."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.base import utcnow
from opsbot.db.models import Alert
from opsbot.db.upsert import insert_missing


async def raise_alert(session: AsyncSession, key: str) -> bool:
    """Mark the condition active; True only for the call that activated it."""
    await insert_missing(
        session, Alert, [{"key": key, "active": False, "updated_at": utcnow()}], ["key"]
    )
    result = await session.execute(
        update(Alert)
        .where(Alert.key == key, Alert.active.is_(False))
        .values(active=True, updated_at=utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def clear_alert(session: AsyncSession, key: str) -> bool:
    """Mark the condition over; True only for the call that cleared it."""
    result = await session.execute(
        update(Alert)
        .where(Alert.key == key, Alert.active.is_(True))
        .values(active=False, updated_at=utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
