"""Mend what a stop at the wrong moment can leave behind, at start and every few minutes.

Each step of answering is recorded as it happens, but a process killed between two records
leaves them apart: an answer on X whose question still shows "taken", or a card that was
never edited to show the answer. Both are derived again from what the database knows; cards
are compared by what they show, so a card already right costs no message.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import Bot
from telegram.error import TelegramError
from telegram.ext import JobQueue

from opsbot.services import answers
from opsbot.telegram.card_updates import refresh_card
from opsbot.telegram.context import OpsbotContext, Runtime

log = logging.getLogger(__name__)

AT_START = timedelta(days=7)
PERIODIC = timedelta(days=1)
EVERY_SECONDS = 300.0


async def reconcile(bot: Bot, runtime: Runtime, *, since: timedelta) -> int:
    """Bring questions and cards in line with the answers on X; how many cards changed."""
    async with runtime.sessionmaker.begin() as session:
        stuck = await answers.answered_on_x_but_open(session)
        for question_id, curator_id in stuck:
            await answers.mark_answered(session, question_id, curator_id)
        recent = await answers.answered_since(session, runtime.clock.now() - since)
    if stuck:
        log.warning("%d answered question(s) were still open; marked answered", len(stuck))
    changed = 0
    for question_id in recent:
        try:
            changed += await refresh_card(bot, runtime, question_id, only_known=True)
        except TelegramError as exc:
            log.warning("could not bring the card of question %s up to date: %s", question_id, exc)
    return changed


async def reconcile_job(context: OpsbotContext) -> None:
    """One round; the job's data is how far back to look."""
    since = context.job.data if context.job is not None else None
    try:
        await reconcile(
            context.bot,
            context.runtime,
            since=since if isinstance(since, timedelta) else PERIODIC,
        )
    except Exception:
        log.exception("reconciling answers and cards failed; trying again later")


def schedule(jobs: JobQueue[OpsbotContext]) -> None:
    jobs.run_once(reconcile_job, when=0, data=AT_START, name="reconcile-at-start")
    jobs.run_repeating(
        reconcile_job, interval=EVERY_SECONDS, first=EVERY_SECONDS, data=PERIODIC, name="reconcile"
    )
