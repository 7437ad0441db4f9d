"""Cards in a co-host's own staff group: sent after the host's, in the partner's language and
time zone, paced by the same limiter (each group has its own 20 messages a minute), and edited
when the question changes in either group, so each group sees who owns it.

A send whose answer was lost is sent again (written to the audit log): at worst the card shows
twice in the partner's group; the question is never lost, and Take stays the one guard.
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError
from telegram.ext import ExtBot

from opsbot.clock import Clock
from opsbot.db.models import Partner, Question
from opsbot.i18n import translator
from opsbot.services import audit, partner_cards, questions, salons
from opsbot.settings import Settings
from opsbot.telegram.card_facts import card_state
from opsbot.telegram.cards import CardState, digest, render_card
from opsbot.telegram.ratelimit import BACKGROUND, Pace

log = logging.getLogger(__name__)

BATCH = 50
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def _topic_gone(error: BadRequest) -> bool:
    reason = str(error).lower()
    return "topic_closed" in reason or "thread not found" in reason or "topic_deleted" in reason


class PartnerCards:
    def __init__(
        self,
        bot: ExtBot[Pace],
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        clock: Clock,
    ) -> None:
        self._bot = bot
        self._sessionmaker = sessionmaker
        self._settings = settings
        self._clock = clock
        # Cards Telegram refused (the group removed the bot, a bad request): not retried
        # until the next start, so one partner's group never holds up the host's cards.
        self._refused: set[tuple[int, int]] = set()

    async def waiting(self, stored_up_to: int | None = None) -> list[partner_cards.Due]:
        async with self._sessionmaker.begin() as session:
            found = await partner_cards.due(
                session, BATCH + len(self._refused), stored_up_to=stored_up_to
            )
        return [d for d in found if (d.question.id, d.chat_id) not in self._refused][:BATCH]

    async def flush(self, stored_up_to: int | None = None) -> int:
        """Send the cards due now; return how many were sent."""
        sent = 0
        for card in await self.waiting(stored_up_to):
            if await self._send(card):
                sent += 1
        return sent

    async def _send(self, card: partner_cards.Due) -> bool:
        question, partner, chat_id = card.question, card.partner, card.chat_id
        text, markup = render_card(
            question,
            translator(partner.language),
            _zone(partner),
            await card_state(self._sessionmaker, self._settings, question),
        )
        async with self._sessionmaker.begin() as session:
            again = await partner_cards.begin(
                session, question.id, chat_id, card.thread_id, self._clock.now()
            )
            if again:
                await audit.record(
                    session,
                    actor_id=None,
                    action="card_sent_again",
                    question_id=question.id,
                    detail=f"the answer to its card in the partner group {chat_id} was lost",
                )
        thread_id = card.thread_id
        while True:
            try:
                message = await self._bot.send_message(
                    chat_id,
                    text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                    message_thread_id=thread_id,
                    link_preview_options=NO_PREVIEW,
                    rate_limit_args=BACKGROUND,
                )
                break
            except BadRequest as exc:
                if thread_id is not None and _topic_gone(exc):
                    # The salon's topic there is closed or gone: the General chat takes it.
                    async with self._sessionmaker.begin() as session:
                        await salons.set_partner_thread(session, question.salon_id or 0, None)
                    thread_id = None
                    continue
                return await self._refuse(question.id, chat_id, exc)
            except Forbidden as exc:
                return await self._refuse(question.id, chat_id, exc)
            except NetworkError:
                raise
            except TelegramError:
                async with self._sessionmaker.begin() as session:
                    await partner_cards.attempt_over(session, question.id, chat_id)
                raise
        async with self._sessionmaker.begin() as session:
            await partner_cards.record(
                session,
                question.id,
                chat_id,
                thread_id=message.message_thread_id,
                message_id=message.message_id,
                digest=digest(text, markup),
            )
            now = await questions.load(session, question.id)
        if now is not None and (now.status, now.taken_by) != (question.status, question.taken_by):
            # Taken in the host's group while this card was on its way: show that now.
            await self.refresh(question.id)
        return True

    async def _refuse(self, question_id: int, chat_id: int, exc: TelegramError) -> bool:
        log.warning(
            "the partner group %s refused the card of question %s: %s", chat_id, question_id, exc
        )
        self._refused.add((question_id, chat_id))
        async with self._sessionmaker.begin() as session:
            await partner_cards.attempt_over(session, question_id, chat_id)
        return False

    async def refresh(self, question_id: int) -> bool:
        """Bring the question's cards in partner groups up to date; edits only what changed."""
        async with self._sessionmaker.begin() as session:
            question = await questions.load(session, question_id)
            cards = await partner_cards.shown(session, question_id)
        if question is None or not cards:
            return False
        state = await card_state(self._sessionmaker, self._settings, question)
        changed = False
        for shown in cards:
            changed = await self._edit(question, shown, state) or changed
        return changed

    async def _edit(self, question: Question, shown: partner_cards.Shown, state: CardState) -> bool:
        card, partner = shown.card, shown.partner
        if card.message_id is None:
            return False
        text, markup = render_card(question, translator(partner.language), _zone(partner), state)
        now = digest(text, markup)
        if now == card.digest:
            return False
        try:
            await self._bot.edit_message_text(
                text,
                chat_id=card.chat_id,
                message_id=card.message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=NO_PREVIEW,
            )
        except BadRequest as exc:
            reason = str(exc).lower()
            if "not modified" not in reason:
                log.info("could not update the card in the partner group: %s", exc)
                return False
        except Forbidden as exc:
            log.info("the partner group %s refuses the bot: %s", card.chat_id, exc)
            return False
        async with self._sessionmaker.begin() as session:
            await partner_cards.now_shows(session, card.id, now)
        return True


def _zone(partner: Partner) -> ZoneInfo:
    return ZoneInfo(partner.timezone)
