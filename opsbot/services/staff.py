"""The staff: who they are, which language they read, where the staff group lives."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.base import utcnow
from opsbot.db.models import BotState, StaffMember
from opsbot.db.upsert import upsert
from opsbot.i18n import pick_language

STAFF_CHAT_KEY = "staff_chat_id"


async def see_member(
    session: AsyncSession,
    *,
    telegram_id: int,
    first_name: str,
    username: str | None,
    telegram_language: str | None,
) -> None:
    """Remember a person seen in the staff group, keeping their own choices."""
    now = utcnow()
    await upsert(
        session,
        StaffMember,
        {
            "telegram_id": telegram_id,
            "first_name": first_name[:200],
            "username": username,
            "telegram_language": telegram_language,
            "created_at": now,
            "last_seen_at": now,
        },
        key=["telegram_id"],
        update=["first_name", "username", "telegram_language", "last_seen_at"],
    )


async def language_of(
    session: AsyncSession, telegram_id: int, telegram_language: str | None, default: str
) -> str:
    """The person's language; without a live update, the Telegram language last seen."""
    row = (
        await session.execute(
            select(StaffMember.language, StaffMember.telegram_language).where(
                StaffMember.telegram_id == telegram_id
            )
        )
    ).first()
    chosen, seen = (row[0], row[1]) if row is not None else (None, None)
    return pick_language(chosen, telegram_language or seen, default)


async def set_language(session: AsyncSession, telegram_id: int, language: str) -> None:
    await session.execute(
        update(StaffMember).where(StaffMember.telegram_id == telegram_id).values(language=language)
    )


async def display_name(session: AsyncSession, telegram_id: int | None) -> str | None:
    if telegram_id is None:
        return None
    member = await session.get(StaffMember, telegram_id)
    if member is None:
        return str(telegram_id)
    return member.first_name or (f"@{member.username}" if member.username else str(telegram_id))


async def staff_chat_id(session: AsyncSession, configured: int) -> int:
    """The configured staff group, or the supergroup it was upgraded to."""
    value = await session.scalar(select(BotState.value).where(BotState.key == STAFF_CHAT_KEY))
    return int(value) if value is not None else configured


async def move_staff_chat(session: AsyncSession, new_chat_id: int) -> None:
    await upsert(
        session,
        BotState,
        {"key": STAFF_CHAT_KEY, "value": str(new_chat_id), "updated_at": utcnow()},
        key=["key"],
        update=["value", "updated_at"],
    )


async def signature_of(session: AsyncSession, telegram_id: int) -> str | None:
    return await session.scalar(
        select(StaffMember.signature).where(StaffMember.telegram_id == telegram_id)
    )


async def set_signature(session: AsyncSession, telegram_id: int, signature: str | None) -> None:
    await session.execute(
        update(StaffMember)
        .where(StaffMember.telegram_id == telegram_id)
        .values(signature=signature)
    )


async def set_x_handle(session: AsyncSession, telegram_id: int, handle: str | None) -> None:
    await session.execute(
        update(StaffMember).where(StaffMember.telegram_id == telegram_id).values(x_handle=handle)
    )


async def open_private_chat(session: AsyncSession, telegram_id: int) -> None:
    """The person wrote /start to the bot in private: it may now write to them there."""
    await session.execute(
        update(StaffMember).where(StaffMember.telegram_id == telegram_id).values(private_chat=True)
    )


async def close_private_chat(session: AsyncSession, telegram_id: int) -> None:
    """The person blocked the bot: it can no longer write to them in private."""
    await session.execute(
        update(StaffMember).where(StaffMember.telegram_id == telegram_id).values(private_chat=False)
    )


async def has_private_chat(session: AsyncSession, telegram_id: int) -> bool:
    found = await session.scalar(
        select(StaffMember.private_chat).where(StaffMember.telegram_id == telegram_id)
    )
    return bool(found)


async def claim_private_hint(session: AsyncSession, telegram_id: int, now: datetime) -> bool:
    """True once per person: the moment to tell them how to answer in private."""
    result = await session.execute(
        update(StaffMember)
        .where(StaffMember.telegram_id == telegram_id, StaffMember.private_hint_at.is_(None))
        .values(private_hint_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
