"""The outbox worker: retries answers that wait for X and recovers those a crash interrupted.

At start every `posting` answer is taken over at once: its publisher is gone, since no other
process can run on this database (the instance lock); later only those whose publisher's lease
ran out.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from telegram import Bot

from opsbot.i18n import translator
from opsbot.services import answers, staff
from opsbot.telegram.answer_views import after_publish
from opsbot.telegram.background import BackgroundLoop
from opsbot.telegram.context import Services

log = logging.getLogger(__name__)

CHECK_SECONDS = 5.0


class Outbox(BackgroundLoop):
    name = "answer-outbox"

    def __init__(self, bot: Bot, services: Services) -> None:
        super().__init__()
        self._bot = bot
        self._services = services
        self.check_seconds = CHECK_SECONDS
        self._first_round = True

    async def _run_once(self) -> None:
        try:
            # The first round after start takes over every unfinished answer at once.
            await self.retry_due(force=self._first_round)
            self._first_round = False
        except Exception:
            log.exception("answer outbox failed; retrying")
        await self.pause(self.check_seconds)

    async def retry_due(self, *, force: bool = False) -> int:
        services = self._services
        now = datetime.now(UTC)
        async with services.sessionmaker.begin() as session:
            roots = await answers.due_roots(session, now, force=force)
        done = 0
        for root_id in roots:
            if self.stopping:
                break
            async with services.sessionmaker.begin() as session:
                token = await answers.reclaim(session, root_id, now, force=force)
            if token is None:
                continue
            result = await services.publisher.publish(root_id, token, fresh=False)
            log.info("outbox: answer %s -> %s", root_id, result.outcome)
            async with services.sessionmaker.begin() as session:
                [root, *_parts] = await answers.thread_of(session, root_id)
                language = await staff.language_of(
                    session, root.curator_id, None, services.settings.default_language
                )
            await after_publish(self._bot, services, result, translator(language))
            done += 1
        return done
