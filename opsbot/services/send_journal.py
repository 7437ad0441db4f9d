"""The group messages the bot sent in the last flood window, kept across restarts.

Telegram counts a group's messages per bot, not per process: a bot restarted mid-salon that
forgot its last minute of sends would burst into a 429. Rows older than the window are useless
and are pruned as new ones are written.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.models import TelegramSend


async def record(
    session: AsyncSession, sends: Sequence[tuple[int, datetime]], *, window: timedelta
) -> None:
    if not sends:
        return
    await session.execute(
        insert(TelegramSend), [{"chat_id": chat, "sent_at": at} for chat, at in sends]
    )
    newest = max(at for _, at in sends)
    await session.execute(delete(TelegramSend).where(TelegramSend.sent_at < newest - window))


async def recent(
    session: AsyncSession, *, now: datetime, window: timedelta
) -> list[tuple[int, datetime]]:
    """(chat id, time) of every group send inside the window that ends now, oldest first."""
    rows = await session.execute(
        select(TelegramSend.chat_id, TelegramSend.sent_at)
        .where(TelegramSend.sent_at > now - window)
        .order_by(TelegramSend.sent_at)
    )
    return [(chat, at) for chat, at in rows]
