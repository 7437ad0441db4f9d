"""Conditions the staff group hears about once when they start, not on every poll.

Each condition is one row; raising and clearing are conditional updates, so however many
polls, publishers or processes see it at once, exactly one of them gets to tell the group.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.base import utcnow
from opsbot.db.models import Alert
from opsbot.db.upsert import insert_missing

# X refused the museum's keys or app on a read, or on a post.
X_READ_ACCESS = "x-auth"
X_POST_ACCESS = "x-post-auth"
# X's pay-per-use credits are spent: nothing is read or posted.
X_CREDITS = "x-credits"
# X has not answered for several polls in a row.
X_UNREACHABLE = "x-unreachable"


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
