"""The one queue that brings question cards to the staff group.

The queue is the database: a question without a card message is waiting. So cards survive a
restart, and a burst of questions waits for Telegram's flood limit instead of being dropped;
the rate limiter under the bot decides when each card may go.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, TelegramError
from telegram.ext import ExtBot

from opsbot.db.models import Question
from opsbot.i18n import translator
from opsbot.services import inbox, questions, salons, staff
from opsbot.settings import Settings
from opsbot.telegram.background import BackgroundLoop
from opsbot.telegram.cards import CardState, digest, render_card
from opsbot.telegram.ratelimit import BACKGROUND, Pace

log = logging.getLogger(__name__)

BATCH = 50
IDLE_CHECK_SECONDS = 30.0
FAILURE_PAUSE_SECONDS = 5.0


def _state(question: Question) -> tuple[str, int | None, int | None]:
    return question.status, question.taken_by, question.hidden_by


class CardQueue(BackgroundLoop):
    name = "card-queue"

    def __init__(
        self, bot: ExtBot[Pace], sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
    ) -> None:
        super().__init__()
        self._bot = bot
        self._sessionmaker = sessionmaker
        self._settings = settings
        # Brings a card up to date; set by the application (it needs the other services).
        self.refresh: Callable[[int], Awaitable[object]] | None = None
        # Cards Telegram refused outright are not retried until the next start.
        self._refused: set[int] = set()
        self.chat_id = settings.staff_chat_id

    async def _run_once(self) -> None:
        try:
            await self.flush()
        except TelegramError as exc:
            log.warning("card queue paused after a Telegram error: %s", exc)
            await self.pause(FAILURE_PAUSE_SECONDS)
            return
        except Exception:
            log.exception("card queue failed; retrying")
            await self.pause(FAILURE_PAUSE_SECONDS)
            return
        await self.pause(IDLE_CHECK_SECONDS)

    async def flush(self) -> int:
        """Send every waiting card; return how many were sent."""
        sent = 0
        while True:
            async with self._sessionmaker.begin() as session:
                waiting = [
                    q
                    for q in await inbox.queued_cards(session, BATCH + len(self._refused))
                    if q.id not in self._refused
                ][:BATCH]
            if not waiting:
                return sent
            for question in waiting:
                if self.stopping:
                    return sent
                if await self._send(question):
                    sent += 1

    async def _send(self, question: Question) -> bool:
        settings = self._settings
        thread_id = None
        seq = None
        if question.salon_id is not None:
            async with self._sessionmaker.begin() as session:
                seq = await salons.number_question(session, question.id, question.salon_id)
                salon = await salons.get(session, question.salon_id)
                thread_id = salon.thread_id if salon is not None else None
        text, markup = render_card(
            question,
            translator(settings.default_language),
            settings.zone,
            CardState(salon_seq=seq),
        )
        try:
            message = await self._bot.send_message(
                self.chat_id,
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                message_thread_id=thread_id,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                rate_limit_args=BACKGROUND,
            )
        except ChatMigrated as exc:
            await self.follow_migration(exc.new_chat_id)
            return False
        except Forbidden:
            raise
        except BadRequest as exc:
            if thread_id is not None and "thread not found" in str(exc).lower():
                # The salon's forum topic was deleted: the card goes to the general chat.
                log.warning(
                    "salon topic %s is gone; card %s goes to the group", thread_id, question.id
                )
                async with self._sessionmaker.begin() as session:
                    await salons.set_thread(session, question.salon_id or 0, None)
                return False
            log.error("Telegram refused the card of question %s: %s", question.id, exc)
            self._refused.add(question.id)
            return False
        async with self._sessionmaker.begin() as session:
            await inbox.record_card(
                session,
                question.id,
                message.chat_id,
                message.message_thread_id,
                message.message_id,
                digest(text, markup),
            )
            now = await questions.load(session, question.id)
        if self.refresh is not None and now is not None and _state(now) != _state(question):
            # Someone pressed a button on the card before it was recorded: show that now.
            await self.refresh(question.id)
        return True

    async def follow_migration(self, new_chat_id: int) -> None:
        """The group became a supergroup: its id changed and the old one refuses messages."""
        log.warning("staff group moved to %s", new_chat_id)
        async with self._sessionmaker.begin() as session:
            await staff.move_staff_chat(session, new_chat_id)
        self.chat_id = new_chat_id
