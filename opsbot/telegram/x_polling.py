"""One read of X, as the poll schedule runs it: how often, and what follows a read.

A live salon is read at the live pace; otherwise slowly, since X charges for every post read,
and slower still as the month's budget runs down (never while a salon is live). A read that
fails is logged and the schedule goes on: the next read tries again.
"""

from __future__ import annotations

import logging

from opsbot.i18n import translator
from opsbot.telegram import budget, heartbeats, x_notices
from opsbot.telegram.context import OpsbotContext, Runtime

log = logging.getLogger(__name__)


def poll_interval(runtime: Runtime) -> float:
    """Seconds between reads of X now."""
    if runtime.live_salon_id is not None:
        return runtime.settings.poll_live_seconds
    return budget.idle_interval(runtime)


async def poll_x(context: OpsbotContext) -> float:
    """One round of reading X; returns the seconds until the next, at X's pace."""
    runtime = context.runtime
    interval = poll_interval(runtime)
    delay = interval
    _ = translator(runtime.settings.default_language)
    try:
        result = await runtime.poller.poll()
        await budget.watch(context.bot, runtime)
        interval = poll_interval(runtime)
        await heartbeats.x_polled(context, result)
        if result.new_question_ids:
            runtime.cards.wake()
        for notice in x_notices.poll_notices(result, _, runtime.settings.zone):
            await x_notices.tell_staff(context.bot, runtime, notice)
        delay = runtime.poller.next_delay(result, interval)
    except Exception:
        log.exception("polling X failed")
    return delay
