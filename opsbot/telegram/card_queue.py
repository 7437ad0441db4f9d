"""The one queue that brings question cards to the staff group.

The queue is the database: a question without a card message is waiting. So cards survive a
restart, and a burst of questions waits for Telegram's flood limit instead of being dropped;
the rate limiter under the bot decides when each card may go. Cards go oldest first, and the
questions of a poll still reading wait until it is over: its next page may hold older posts.

Nothing twice: before each send the question is marked with the attempt and the highest
message id the bot knows in the group. When the answer is lost (a timeout, a 5xx, a crash) the
card may be there all the same; the next attempt looks for it first and adopts it, and sends
the card again only when it cannot be found (logged, and written to the audit log).

Nobody stuck: a group that refuses the bot (it was removed) stops the sends, never the queue.
The moderators hear of it privately once, and the queue resumes when the bot is back (told by a
`my_chat_member` update, or found by a check every few minutes). A salon topic that is closed
or deleted sends its cards to the General chat, and the group is told once per salon.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import InlineKeyboardMarkup, LinkPreviewOptions, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, TelegramError
from telegram.ext import ExtBot

from opsbot.clock import Clock
from opsbot.db.models import Question
from opsbot.i18n import Translator, translator
from opsbot.services import (
    alerts,
    audit,
    inbox,
    moderators,
    priority,
    questions,
    salons,
    send_journal,
    staff,
)
from opsbot.settings import Settings
from opsbot.telegram.background import BackgroundLoop
from opsbot.telegram.card_facts import card_state
from opsbot.telegram.cards import digest, render_card
from opsbot.telegram.digests import DIGEST_SIZE, render_digest
from opsbot.telegram.keyed_locks import KeyedLocks
from opsbot.telegram.known_messages import KnownMessages
from opsbot.telegram.partner_cards import PartnerCards
from opsbot.telegram.ratelimit import BACKGROUND, BotStopping, Pace, PacedRateLimiter

log = logging.getLogger(__name__)

BATCH = 50
IDLE_CHECK_SECONDS = 30.0
FAILURE_PAUSE_SECONDS = 5.0
# While the staff group refuses the bot: how often to ask Telegram whether it is back.
CHECK_SECONDS = 180.0
# A lost card is looked for among this many unknown message ids above the last known one, and
# no further than LOOKUP_SPAN ids: each look is an edit, and edits share the group's budget.
MAX_LOOKUPS = 10
LOOKUP_SPAN = 200
LOST_ALERT = "staff_chat_lost"
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def _state(question: Question) -> tuple[str, int | None, int | None]:
    return question.status, question.taken_by, question.hidden_by


def _topic_gone(error: BadRequest) -> str | None:
    """ "closed" or "deleted" when a send failed because of its forum topic."""
    reason = str(error).lower()
    if "topic_closed" in reason:
        return "closed"
    if "thread not found" in reason or "topic_deleted" in reason:
        return "deleted"
    return None


class FullCard(StrEnum):
    SENT = "sent"
    ALREADY_SENT = "already_sent"
    GONE = "gone"
    REFUSED = "refused"


class CardQueue(BackgroundLoop):
    name = "card-queue"

    def __init__(
        self,
        bot: ExtBot[Pace],
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(clock)
        self._bot = bot
        self._sessionmaker = sessionmaker
        self._settings = settings
        # Brings a card up to date; set by the application (it needs the other services).
        self.refresh: Callable[[int], Awaitable[object]] | None = None
        # Questions stored up to this id may be shown; set by the application to hold back
        # those of a poll still reading (None: all).
        self.stored_up_to: Callable[[], int | None] = lambda: None
        # Cards Telegram refused outright are not retried until the next start.
        self._refused: set[int] = set()
        self.chat_id = settings.staff_chat_id
        # A backlog longer than this goes out in digests: what the group takes in a minute.
        self.digest_above = settings.telegram_group_rate
        # Once digests have begun they go on while a full one is left: the last few of a
        # burst as single cards would cost the group a minute more for no one's benefit.
        self._digesting = False
        self._full_card_lock = KeyedLocks()
        # One card is brought up to date by one task at a time (`card_updates`).
        self.card_lock = KeyedLocks()
        self.known = KnownMessages()
        # The cards of co-hosted salons in the partner's own group follow the host's.
        self.partners = PartnerCards(bot, sessionmaker, settings, self._clock)
        limiter = getattr(bot, "rate_limiter", None)
        if isinstance(limiter, PacedRateLimiter):
            limiter.on_group_message = self.known.sent
        # The staff group refuses the bot; cards wait until it takes them again.
        self.lost = False
        self.check_seconds = CHECK_SECONDS
        self._check_now = True
        self._next_check = 0.0

    def staff_chat_changed(self) -> None:
        """The bot's membership of the staff group changed: ask Telegram at once."""
        self._check_now = True
        self.wake()

    async def _run_once(self) -> None:
        try:
            if self._check_now or (self.lost and self._clock.monotonic() >= self._next_check):
                self._check_now = False
                await self.check_in()
            if self.lost:
                await self.pause(max(0.0, self._next_check - self._clock.monotonic()))
                return
            try:
                await self.flush()
            except Forbidden as exc:
                await self._lose(str(exc))
                return
            await self.partners.flush(self.stored_up_to())
        except BotStopping:
            # What was not sent stays queued for the next start.
            return
        except TelegramError as exc:
            log.warning("card queue paused after a Telegram error: %s", exc)
            await self.pause(FAILURE_PAUSE_SECONDS)
            return
        except Exception:
            log.exception("card queue failed; retrying")
            await self.pause(FAILURE_PAUSE_SECONDS)
            return
        await self.pause(IDLE_CHECK_SECONDS)

    async def settled(self) -> bool:
        """Nothing in hand and no card waiting but those Telegram refused (kept until the
        next start) and those held back while the group refuses the bot."""
        if not self.resting:
            return False
        if self.lost:
            return True
        async with self._sessionmaker.begin() as session:
            waiting = await inbox.queued_cards(session, len(self._refused) + 1)
        if await self.partners.waiting():
            return False
        return all(q.id in self._refused for q in waiting) and self.resting

    async def flush(self) -> int:
        """Send every waiting card; return how many were sent."""
        sent = 0
        while True:
            async with self._sessionmaker.begin() as session:
                queued = await inbox.queued_cards(
                    session, BATCH + len(self._refused), stored_up_to=self.stored_up_to()
                )
                waiting = [q for q in queued if q.id not in self._refused][:BATCH]
            if not waiting:
                return sent
            async with self._sessionmaker.begin() as session:
                backlog = await inbox.count_queued_cards(session)
            self._digesting = backlog > self.digest_above or (
                self._digesting and backlog >= DIGEST_SIZE
            )
            if self._digesting:
                # More than the group takes in about a minute: tens at a time, until it drains.
                if self.stopping or self.lost:
                    return sent
                await self._send_digest(_one_place(waiting)[:DIGEST_SIZE], backlog)
                sent += 1
                continue
            for question in waiting:
                if self.stopping or self.lost:
                    return sent
                if await self._send(question):
                    sent += 1

    async def _send_digest(self, batch: list[Question], backlog: int) -> None:
        """One message for up to ten questions. The send journal keeps the questions with the
        message id Telegram gave back, so a digest posted but not recorded before a crash is
        adopted at the next start (`adopt_digests`). One whose answer never came is not
        looked for: at worst it shows twice, and every question stays reachable."""
        thread_id = await self._thread_of(batch[0])
        async with self._sessionmaker.begin() as session:
            first = await priority.of_questions(session, batch, self._settings.vip_followers)
        text, markup = render_digest(
            batch,
            backlog,
            translator(self._settings.default_language),
            self._settings.zone,
            priority=frozenset(first),
        )
        message = await self._bot.send_message(
            self.chat_id,
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            message_thread_id=thread_id,
            link_preview_options=NO_PREVIEW,
            rate_limit_args=replace(BACKGROUND, listed=tuple(q.id for q in batch)),
        )
        self.known.sent(self.chat_id, message.message_id)
        async with self._sessionmaker.begin() as session:
            await inbox.record_digest(session, [q.id for q in batch], message.message_id)

    async def adopt_digests(self, sent: list[tuple[int, list[int]]]) -> None:
        """Digests the run before sent and died before recording, (message id, questions)
        from the send journal: their questions are listed there, not listed again."""
        async with self._sessionmaker.begin() as session:
            for message_id, question_ids in sent:
                await inbox.record_digest(session, question_ids, message_id)

    async def _thread_of(self, question: Question) -> int | None:
        if question.salon_id is None:
            return None
        async with self._sessionmaker.begin() as session:
            salon = await salons.get(session, question.salon_id)
        return salon.thread_id if salon is not None else None

    async def send_full_card(self, question_id: int) -> FullCard:
        """The card of a question listed in a digest, asked for by a curator (who waits).

        Presses of the same number at once give one card: the second finds it sent.
        """
        async with self._full_card_lock(question_id):
            async with self._sessionmaker.begin() as session:
                question = await questions.load(session, question_id)
            if question is None:
                return FullCard.GONE
            if question.card_message_id is not None:
                return FullCard.ALREADY_SENT
            return FullCard.SENT if await self._send(question, pace=None) else FullCard.REFUSED

    async def _send(self, question: Question, *, pace: Pace | None = BACKGROUND) -> bool:
        settings = self._settings
        thread_id = None
        seq = None
        async with self._sessionmaker.begin() as session:
            if question.salon_id is not None:
                seq = await salons.number_question(session, question.id, question.salon_id)
                salon = await salons.get(session, question.salon_id)
                thread_id = salon.thread_id if salon is not None else None
        text, markup = render_card(
            question,
            translator(settings.default_language),
            settings.zone,
            await card_state(self._sessionmaker, settings, question, salon_seq=seq),
        )
        if question.card_attempt_at is not None:
            async with self._sessionmaker.begin() as session:
                journalled = await send_journal.card_sent(session, self.chat_id, question.id)
            if journalled is not None:
                log.info("the card of question %s was sent as %s", question.id, journalled)
                return await self._record(question, journalled, thread_id, text, markup)
            found, sure = await self._find_lost_copy(question, text, markup)
            if found is not None:
                log.info("the card of question %s was in the group already: %s", question.id, found)
                return await self._record(question, found, thread_id, text, markup)
            if not sure:
                await self._sending_again(question)
        async with self._sessionmaker.begin() as session:
            await inbox.card_attempt(session, question.id, self.known.highest_sent(self.chat_id))
        message = await self._post(
            question, text, markup, thread_id, replace(pace or Pace(), card_of=question.id)
        )
        if message is None:
            return False
        return await self._record(
            question, message.message_id, message.message_thread_id, text, markup
        )

    async def _post(
        self,
        question: Question,
        text: str,
        markup: InlineKeyboardMarkup | None,
        thread_id: int | None,
        pace: Pace | None,
    ) -> Message | None:
        """Send the card; None when Telegram refused it for good (until the next start).

        A network failure leaves the attempt marked: Telegram may have posted the card.
        """
        while True:
            try:
                return await self._bot.send_message(
                    self.chat_id,
                    text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                    message_thread_id=thread_id,
                    link_preview_options=NO_PREVIEW,
                    rate_limit_args=pace,
                )
            except BadRequest as exc:
                gone = _topic_gone(exc) if thread_id is not None else None
                if gone is None:
                    await self._attempt_over(question.id)
                    log.error("Telegram refused the card of question %s: %s", question.id, exc)
                    self._refused.add(question.id)
                    return None
                await self._leave_topic(question.salon_id or 0, thread_id or 0, gone)
                thread_id = None
            except NetworkError:
                raise
            except ChatMigrated as exc:
                await self._attempt_over(question.id)
                await self.follow_migration(exc.new_chat_id)
                return None
            except TelegramError:
                await self._attempt_over(question.id)
                raise

    async def _attempt_over(self, question_id: int) -> None:
        """Telegram answered and did not post the card: there is nothing to look for."""
        async with self._sessionmaker.begin() as session:
            await inbox.card_attempt_over(session, question_id)

    async def _record(
        self,
        question: Question,
        message_id: int,
        thread_id: int | None,
        text: str,
        markup: InlineKeyboardMarkup | None,
    ) -> bool:
        # An adopted copy answered no send: it must not be taken for another lost card.
        self.known.sent(self.chat_id, message_id)
        async with self._sessionmaker.begin() as session:
            await inbox.record_card(
                session, question.id, self.chat_id, thread_id, message_id, digest(text, markup)
            )
            now = await questions.load(session, question.id)
        if self.refresh is not None and now is not None and _state(now) != _state(question):
            # Someone pressed a button on the card before it was recorded: show that now.
            await self.refresh(question.id)
        return True

    async def _find_lost_copy(
        self, question: Question, text: str, markup: InlineKeyboardMarkup | None
    ) -> tuple[int | None, bool]:
        """The message that is this card although the answer to its send was lost, if any;
        and whether the search was conclusive (a card not found then is not in the group).

        Telegram lets a bot edit only its own messages ("message can't be edited" otherwise)
        and answers "message is not modified" when the text and buttons are already these.
        So the card is looked for by editing, with its own text, the ids above the last one the
        bot got back for a message of its own before this card's send, skipping every id known
        to be something else (someone's message, a message whose send was answered, an adopted
        card). The first id that does not exist yet ends the search. An edit that changes the
        message finds it too: it was the bot's and unanswered, and now it is this card.
        The bot's answered sends are journalled before their senders go on (`send_journal`), so
        this also holds for a send made by the run before a crash. The search ends
        inconclusive when it cannot be made safely (no floor) or runs out of looks.
        """
        floor = question.card_after_message_id
        attempted = question.card_attempt_at
        if floor is None or attempted is None:
            return None, False
        chat = self.chat_id
        looks = 0
        for candidate in range(floor + 1, floor + LOOKUP_SPAN + 1):
            if self.known.known(chat, candidate):
                continue
            if looks == MAX_LOOKUPS:
                return None, False
            looks += 1
            try:
                await self._bot.edit_message_text(
                    text,
                    chat_id=chat,
                    message_id=candidate,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                    link_preview_options=NO_PREVIEW,
                )
            except BadRequest as exc:
                reason = str(exc).lower()
                if "not modified" in reason:
                    return candidate, True
                if "can't be edited" in reason:
                    continue
                # "Message to edit not found": no message has this id yet, so none after it.
                return None, "not found" in reason
            return candidate, True
        return None, False

    async def _sending_again(self, question: Question) -> None:
        """The card goes again although a copy may be in the group: say so where it counts."""
        log.warning(
            "the card of question %s may show twice: Telegram's answer to it was lost and the "
            "bot could not look for it",
            question.id,
        )
        async with self._sessionmaker.begin() as session:
            await audit.record(
                session,
                actor_id=None,
                action="card_sent_again",
                question_id=question.id,
                detail="Telegram's answer to the card was lost and no copy could be looked for",
            )

    async def check_in(self) -> None:
        """Ask Telegram whether the staff group takes the bot's messages, and who runs it."""
        try:
            admins = await self._bot.get_chat_administrators(self.chat_id)
        except Forbidden as exc:
            await self._lose(str(exc))
            return
        except ChatMigrated as exc:
            await self.follow_migration(exc.new_chat_id)
            self._check_now = True
            return
        except TelegramError as exc:
            log.info("could not ask Telegram about the staff group: %s", exc)
            self._next_check = self._clock.monotonic() + self.check_seconds
            return
        async with self._sessionmaker.begin() as session:
            await moderators.remember_administrators(
                session, [admin.user.id for admin in admins if not admin.user.is_bot]
            )
            back = await alerts.clear_alert(session, LOST_ALERT)
            waiting = await inbox.count_queued_cards(session)
        self.lost = False
        if back:
            log.info("the staff group takes the bot's messages again; %d cards follow", waiting)
            await self._tell_moderators(
                lambda _: _("✅ I am back in the staff group; the waiting question cards follow.")
            )

    async def _lose(self, reason: str) -> None:
        self.lost = True
        self._next_check = self._clock.monotonic() + self.check_seconds
        async with self._sessionmaker.begin() as session:
            first = await alerts.raise_alert(session, LOST_ALERT)
            waiting = await inbox.count_queued_cards(session)
        if not first:
            log.info("the staff group still refuses the bot: %s", reason)
            return
        log.warning(
            "the staff group %s refuses the bot (%s); %d cards wait until it is back",
            self.chat_id,
            reason,
            waiting,
        )
        await self._tell_moderators(
            lambda _: _.ngettext(
                "⚠️ I was removed from the staff group, so the question cards cannot reach it. "
                "Nothing is lost: {count} question is waiting. Add me back to the group as an "
                "administrator and the cards follow.",
                "⚠️ I was removed from the staff group, so the question cards cannot reach it. "
                "Nothing is lost: {count} questions are waiting. Add me back to the group as an "
                "administrator and the cards follow.",
                waiting,
                count=waiting,
            )
        )

    async def _tell_moderators(self, render: Callable[[Translator], str]) -> None:
        """Write to every moderator who opened a private chat with the bot, in their language."""
        settings = self._settings
        async with self._sessionmaker.begin() as session:
            people = await moderators.reachable_in_private(
                session, settings.moderator_ids, settings.default_language
            )
        if not people:
            log.warning("no moderator has a private chat with the bot: nobody could be told")
        for person in people:
            try:
                await self._bot.send_message(
                    person.telegram_id,
                    render(translator(person.language)),
                    parse_mode=ParseMode.HTML,
                )
            except TelegramError as exc:
                log.info("could not tell moderator %s: %s", person.telegram_id, exc)

    async def _leave_topic(self, salon_id: int, thread_id: int, gone: str) -> None:
        """The salon's topic takes no cards: they go to the General chat, and the group hears
        of it once per salon."""
        log.warning(
            "the topic %s of salon %s is %s; its cards go to the General chat",
            thread_id,
            salon_id,
            gone,
        )
        async with self._sessionmaker.begin() as session:
            await salons.set_thread(session, salon_id, None)
            first = await alerts.raise_alert(session, f"salon_topic_lost:{salon_id}")
        if not first:
            return
        _ = translator(self._settings.default_language)
        number = f"#{salon_id}"
        text = (
            _(
                "⚠️ Moderators: the topic of salon {number} is closed, so its questions now "
                "come here, to the General chat.",
                number=number,
            )
            if gone == "closed"
            else _(
                "⚠️ Moderators: the topic of salon {number} was deleted, so its questions now "
                "come here, to the General chat.",
                number=number,
            )
        )
        try:
            await self._bot.send_message(self.chat_id, text, parse_mode=ParseMode.HTML)
        except TelegramError as exc:
            log.warning("could not tell the staff group about the topic: %s", exc)

    async def follow_migration(self, new_chat_id: int) -> None:
        """The group became a supergroup: its id changed and the old one refuses messages."""
        log.warning("staff group moved to %s", new_chat_id)
        async with self._sessionmaker.begin() as session:
            await staff.move_staff_chat(session, new_chat_id)
        self.chat_id = new_chat_id


def _one_place(waiting: list[Question]) -> list[Question]:
    """The oldest questions that share the first one's salon: a digest goes to one topic."""
    first = waiting[0].salon_id
    run: list[Question] = []
    for question in waiting:
        if question.salon_id != first:
            break
        run.append(question)
    return run
