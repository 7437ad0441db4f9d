"""The loop that drives the outbox: every post to X that must happen once goes out from here.

Each round claims what is due (a conditional UPDATE with a fencing token), hands it to the
publisher, and shows the outcome in the staff group; then it tells any final outcome the
staff have not heard yet (a stop between recording it and telling it). Handlers only queue
(`services.outbox`) and wake this loop.

At start every `sending` row is taken over at once: its sender is gone, since no other
process can run on this database (the instance lock); later only rows whose lease ran out.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable

from telegram import Bot
from telegram.error import TelegramError

from opsbot.db.models import Delivery, DeliveryKind
from opsbot.i18n import translator
from opsbot.services import outbox
from opsbot.services.outbox import Delivered, Outcome
from opsbot.telegram import announcements, answer_views, deletion_views
from opsbot.telegram.background import BackgroundLoop
from opsbot.telegram.context import Runtime
from opsbot.telegram.ratelimit import BotStopping
from opsbot.telegram.x_notices import refused_notice
from opsbot.x.gateway import Access

log = logging.getLogger(__name__)

CHECK_SECONDS = 5.0


class Outbox(BackgroundLoop):
    name = "outbox"

    def __init__(self, bot: Bot, runtime: Runtime) -> None:
        super().__init__(runtime.clock)
        self._bot = bot
        self._services = runtime
        self.check_seconds = CHECK_SECONDS
        self._first_round = True

    async def _run_once(self) -> None:
        try:
            # The first round after start takes over every unfinished delivery at once.
            await self.deliver_due(force=self._first_round)
            self._first_round = False
            await self.tell_untold()
        except Exception:
            log.exception("the outbox failed; retrying")
        await self.pause(self.check_seconds)

    async def deliver_due(self, *, force: bool = False) -> int:
        """Deliver everything due; again at once while posts go out, since the next part of a
        thread is due as soon as the one before it is on X."""
        sessionmaker = self._services.sessionmaker
        done = 0
        progressed = True
        while progressed and not self.stopping:
            progressed = False
            now = self._clock.now()
            async with sessionmaker.begin() as session:
                due = await outbox.due(session, now, force=force)
            for delivery_id in due:
                if self.stopping:
                    break
                async with sessionmaker.begin() as session:
                    row = await outbox.claim(session, delivery_id, now, force=force)
                if row is None:
                    continue
                result = await self._services.publisher.deliver(row)
                done += 1
                progressed = progressed or result.outcome in (Outcome.POSTED, Outcome.ADOPTED)
                await self._show(result)
            force = False
        return done

    async def settled(self) -> bool:
        """Nothing in hand and nothing left to post or to tell, whenever it is due."""
        if not self.resting:
            return False
        async with self._services.sessionmaker.begin() as session:
            return await outbox.unsettled(session) == 0 and self.resting

    async def tell_untold(self) -> None:
        async with self._services.sessionmaker.begin() as session:
            rows = await outbox.untold(session)
        for row in rows:
            await self._tell(row)

    async def _show(self, result: Delivered) -> None:
        runtime = self._services
        row = result.delivery
        if result.outcome == Outcome.TAKEN_OVER:
            return
        if result.alert_raised and row.waiting_for is not None:
            group = translator(runtime.settings.default_language)
            await self._say(refused_notice(Access(row.waiting_for.value), group, posting=True))
        if result.outcome in (Outcome.WAITING, Outcome.RETRYING):
            if row.kind == DeliveryKind.ANSWER:
                await self._safely(answer_views.show_progress(self._bot, runtime, row))
            return
        await self._tell(row)

    async def _tell(self, row: Delivery) -> None:
        """The final outcome, once: on X with its link, or not posted and why."""
        async with self._services.sessionmaker.begin() as session:
            first = await outbox.mark_told(session, row.id, self._clock.now())
        if not first:
            return
        if row.kind == DeliveryKind.ANSWER:
            telling = answer_views.tell_outcome(self._bot, self._services, row)
        elif row.kind == DeliveryKind.DELETION:
            telling = deletion_views.tell_outcome(self._bot, self._services, row)
        else:
            telling = announcements.tell_outcome(self._bot, self._services, row)
        try:
            await telling
        except BotStopping:
            async with self._services.sessionmaker.begin() as session:
                await outbox.unmark_told(session, row.id)
        except TelegramError as exc:
            log.warning("could not show an outbox outcome in the staff group: %s", exc)

    async def _say(self, text: str) -> None:
        await self._safely(self._bot.send_message(self._services.staff_chat_id, text))

    async def _safely(self, telling: Awaitable[object]) -> None:
        try:
            await telling
        except TelegramError as exc:
            log.warning("could not show an outbox outcome in the staff group: %s", exc)
