"""The moderators the bot can still reach when the staff group is closed to it.

Telegram answers "who administers the group" only while the bot is in it, so the bot writes
the answer down each time it gets one; a bot removed from the group reads the list from here
and writes to those moderators (the group's administrators and OPSBOT_MODERATOR_IDS) who
opened a private chat with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.base import utcnow
from opsbot.db.models import BotState, StaffMember
from opsbot.db.upsert import upsert
from opsbot.i18n import pick_language

ADMINISTRATORS_KEY = "staff_administrators"


@dataclass(frozen=True)
class Reachable:
    telegram_id: int
    language: str


async def remember_administrators(session: AsyncSession, user_ids: Iterable[int]) -> None:
    value = ",".join(str(user_id) for user_id in sorted(set(user_ids)))
    await upsert(
        session,
        BotState,
        {"key": ADMINISTRATORS_KEY, "value": value, "updated_at": utcnow()},
        key=["key"],
        update=["value", "updated_at"],
    )


async def administrators(session: AsyncSession) -> set[int]:
    value = await session.scalar(select(BotState.value).where(BotState.key == ADMINISTRATORS_KEY))
    return {int(part) for part in (value or "").split(",") if part}


async def reachable_in_private(
    session: AsyncSession, extra_moderators: Iterable[int], default_language: str
) -> list[Reachable]:
    """Moderators with a private chat open to the bot, each with the language they read."""
    ids = await administrators(session) | set(extra_moderators)
    if not ids:
        return []
    members = await session.scalars(
        select(StaffMember)
        .where(StaffMember.telegram_id.in_(ids), StaffMember.private_chat.is_(True))
        .order_by(StaffMember.telegram_id)
    )
    return [
        Reachable(
            member.telegram_id,
            pick_language(member.language, member.telegram_language, default_language),
        )
        for member in members
    ]
