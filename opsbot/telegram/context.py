"""The bot's runtime: its long-lived objects (settings, database, X, loops, clock), typed,
within reach of every handler as `context.runtime`. Named apart from `opsbot.services`, the
domain package, which knows nothing of it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram.ext import Application, CallbackContext, ExtBot, JobQueue

from opsbot.clock import Clock, SystemClock
from opsbot.settings import Settings
from opsbot.telegram.ratelimit import Pace

if TYPE_CHECKING:
    from opsbot.db.instance_lock import InstanceLock
    from opsbot.telegram.background import BackgroundLoop
    from opsbot.telegram.card_queue import CardQueue
    from opsbot.telegram.clock_jobs import ClockJobs
    from opsbot.telegram.downtime_notice import DowntimeNotice
    from opsbot.telegram.keyed_locks import KeyedLocks
    from opsbot.telegram.poll_schedule import PollSchedule
    from opsbot.telegram.roles import Roles
    from opsbot.telegram.send_journal import SendJournal
    from opsbot.x.gateway import XGateway
    from opsbot.x.partner_accounts import PartnerAccounts
    from opsbot.x.pin_flow import PinFlow
    from opsbot.x.poller import Poller
    from opsbot.x.publisher import Publisher


class Runtime:
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
    # Posting as partner museums, and their PIN flows under way.
    partner_accounts: PartnerAccounts
    pin_flow: PinFlow
    # "Send me the reply's link" prompts by (chat, message): (the draft, its curator), for
    # answers posted by hand.
    link_prompts: dict[tuple[int, int], tuple[int, int]]
    # The outbox loop, seen only as a loop to wake: its module reads this bag.
    outbox: BackgroundLoop
    sends: SendJournal
    polls: PollSchedule
    # One-shot jobs due at moments on `clock` (a salon's end, a card's delayed update).
    timers: ClockJobs
    # One answer's preview is drawn by one task at a time. Held here, not in a module: a lock
    # belongs to one event loop, and each run (each test) has its own.
    preview_lock: KeyedLocks
    live_salon_id: int | None = None
    # The share of the month's X budget spent, as of the last read; None without a budget.
    budget_fraction: float | None = None
    # Told at start, completed after the first X poll that caught up.
    downtime: DowntimeNotice | None = None
    # When the bot last found Telegram unreachable, while the outage lasts.
    telegram_down_since: datetime | None = None
    # The one clock every part reads; tests give a `ManualClock` and move it.
    clock: Clock = SystemClock()

    @property
    def staff_chat_id(self) -> int:
        return self.cards.chat_id


class OpsbotContext(CallbackContext[ExtBot[Pace], dict[Any, Any], dict[Any, Any], Runtime]):
    @property
    def runtime(self) -> Runtime:
        return self.bot_data


OpsbotApplication = Application[
    ExtBot[Pace], OpsbotContext, dict[Any, Any], dict[Any, Any], Runtime, JobQueue[OpsbotContext]
]
