"""Typed access to the bot's long-lived services from every handler."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram.ext import Application, CallbackContext, ExtBot, JobQueue

from opsbot.db.base import utcnow
from opsbot.settings import Settings
from opsbot.telegram.ratelimit import Pace

if TYPE_CHECKING:
    from opsbot.db.instance_lock import InstanceLock
    from opsbot.telegram.card_queue import CardQueue
    from opsbot.telegram.heartbeats import DowntimeNotice
    from opsbot.telegram.outbox import Outbox
    from opsbot.telegram.poll_schedule import PollSchedule
    from opsbot.telegram.roles import Roles
    from opsbot.telegram.send_journal import SendJournal
    from opsbot.x.gateway import XGateway
    from opsbot.x.poller import Poller
    from opsbot.x.publisher import Publisher


class Services:
    """Built empty by PTB, filled by `opsbot.app.post_init`, emptied by `post_shutdown`."""

    settings: Settings
    engine: AsyncEngine
    lock: InstanceLock
    sessionmaker: async_sessionmaker[AsyncSession]
    gateway: XGateway
    poller: Poller
    cards: CardQueue
    roles: Roles
    publisher: Publisher
    outbox: Outbox
    sends: SendJournal
    polls: PollSchedule
    live_salon_id: int | None = None
    # Told at start, completed after the first X poll that caught up.
    downtime: DowntimeNotice | None = None
    # When the bot last found Telegram unreachable, while the outage lasts.
    telegram_down_since: datetime | None = None
    # The bot's notion of "now" for planning and reminders; tests replace it.
    clock: Callable[[], datetime] = staticmethod(utcnow)

    @property
    def staff_chat_id(self) -> int:
        return self.cards.chat_id


class OpsbotContext(CallbackContext[ExtBot[Pace], dict[Any, Any], dict[Any, Any], Services]):
    @property
    def services(self) -> Services:
        return self.bot_data


OpsbotApplication = Application[
    ExtBot[Pace], OpsbotContext, dict[Any, Any], dict[Any, Any], Services, JobQueue[OpsbotContext]
]
