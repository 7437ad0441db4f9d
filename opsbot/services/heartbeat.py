"""The bot's heartbeat: when Telegram and X last answered it, one row each.

Written by the running bot (a Telegram round-trip every minute, each X poll that caught up),
read by `opsbot health` from outside its process and by the bot at start, to tell how long
it was down. Times are the system's UTC, never the bot's clock (`opsbot.clock`, which tests
move): the process that reads them knows only the system's.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.models import Heartbeat
from opsbot.db.upsert import upsert

TELEGRAM = "telegram"
X = "x"


async def record(session: AsyncSession, what: str, at: datetime) -> None:
    await upsert(session, Heartbeat, {"what": what, "at": at}, key=["what"], update=["at"])


async def read(session: AsyncSession) -> dict[str, datetime]:
    """The last successful round-trip of each service that ever answered."""
    rows = await session.execute(select(Heartbeat.what, Heartbeat.at))
    return {what: at for what, at in rows}
