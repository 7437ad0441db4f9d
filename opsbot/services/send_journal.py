"""The group messages the bot sent lately, kept across restarts.

Telegram counts a group's messages per bot, not per process: a bot restarted mid-salon that
forgot its last minute of sends would burst into a 429. And a card whose send went unanswered
is looked for among the group's recent messages that are not known to be something else: the
bot's own answered sends are known here, even those of the run before a crash.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.models import TelegramSend


async def record(
    session: AsyncSession,
    chat_id: int,
    message_id: int | None,
    at: datetime,
    *,
    keep: timedelta,
    card_of: int | None = None,
    listed: Sequence[int] = (),
) -> None:
    session.add(
        TelegramSend(
            chat_id=chat_id,
            message_id=message_id,
            sent_at=at,
            question_id=card_of,
            listed=",".join(str(question_id) for question_id in listed) or None,
        )
    )
    await session.execute(delete(TelegramSend).where(TelegramSend.sent_at < at - keep))


async def recent(
    session: AsyncSession, *, now: datetime, window: timedelta
) -> list[tuple[int, datetime, int | None]]:
    """(chat id, time, message id) of every group send inside the window ending now."""
    rows = await session.execute(
        select(TelegramSend.chat_id, TelegramSend.sent_at, TelegramSend.message_id)
        .where(TelegramSend.sent_at > now - window)
        .order_by(TelegramSend.sent_at)
    )
    return [(chat, at, message_id) for chat, at, message_id in rows]


async def card_sent(session: AsyncSession, chat_id: int, question_id: int) -> int | None:
    """The message Telegram gave back for the question's card, if its send was journalled."""
    return await session.scalar(
        select(TelegramSend.message_id)
        .where(
            TelegramSend.chat_id == chat_id,
            TelegramSend.question_id == question_id,
            TelegramSend.message_id.is_not(None),
        )
        .order_by(TelegramSend.sent_at.desc())
        .limit(1)
    )


async def digests_sent(
    session: AsyncSession, chat_id: int, *, now: datetime, window: timedelta
) -> list[tuple[int, list[int]]]:
    """(message id, the questions it listed) of every digest Telegram gave back an id for
    inside the window ending now, oldest first."""
    rows = await session.execute(
        select(TelegramSend.message_id, TelegramSend.listed)
        .where(
            TelegramSend.chat_id == chat_id,
            TelegramSend.sent_at > now - window,
            TelegramSend.message_id.is_not(None),
            TelegramSend.listed.is_not(None),
        )
        .order_by(TelegramSend.sent_at)
    )
    return [
        (message_id, [int(question_id) for question_id in listed.split(",")])
        for message_id, listed in rows
        if message_id is not None and listed
    ]
