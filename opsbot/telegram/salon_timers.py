"""The salon's clock: the ten-minute warning (with the questions still open), the end and
the nudges, armed from the database.

Jobs are named per salon so a restart re-arms them without duplicates, and each fires its
effect through a conditional update, so it happens once even if it is armed twice. They are
due at moments on the bot's clock (`ClockJobs`), so moving the clock brings them on.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import cast

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import TelegramError

from opsbot.db.models import Salon
from opsbot.i18n import translator
from opsbot.services import partners, report, salons
from opsbot.telegram import budget, nudges
from opsbot.telegram.clock_jobs import ClockJobs
from opsbot.telegram.context import OpsbotContext, Runtime
from opsbot.telegram.followers import note_followers
from opsbot.telegram.salon_views import render_summary

log = logging.getLogger(__name__)


def _warn_job(salon_id: int) -> str:
    return f"salon-{salon_id}-warn"


def _end_job(salon_id: int) -> str:
    return f"salon-{salon_id}-end"


def arm(timers: ClockJobs, salon: Salon) -> None:
    """Schedule the nudges, the warning and the end of a live salon (again, after a
    restart), at their moments on the bot's clock."""
    disarm(timers, salon.id)
    nudges.arm(timers, salon)
    if salon.planned_end_at is None:
        return
    if not salon.end_warning_sent:
        warn_at = salon.planned_end_at - salons.END_WARNING
        timers.run_at(warn, warn_at, name=_warn_job(salon.id), data=salon.id)
    timers.run_at(end, salon.planned_end_at, name=_end_job(salon.id), data=salon.id)


def disarm(timers: ClockJobs, salon_id: int) -> None:
    timers.cancel(_warn_job(salon_id))
    timers.cancel(_end_job(salon_id))
    nudges.disarm(timers, salon_id)


async def warn(context: OpsbotContext) -> None:
    salon_id = cast(int, context.job.data if context.job else None)
    runtime = context.runtime
    async with runtime.sessionmaker.begin() as session:
        salon = await salons.get(session, salon_id)
        if salon is None or salon.planned_end_at is None:
            return
        # Past the end already (a restart, a moved clock): the end says enough.
        if salon.planned_end_at <= runtime.clock.now():
            return
        if not await salons.claim_end_warning(session, salon_id):
            return
    _ = translator(runtime.settings.default_language)
    text = _(
        "⏰ Salon #{number} ends in 10 minutes, at {time}.",
        number=salon.id,
        time=salon.planned_end_at.astimezone(runtime.settings.zone).strftime("%H:%M"),
    )
    still_open = await nudges.render_still_open(runtime, salon_id, _)
    await context.bot.send_message(
        runtime.staff_chat_id,
        text if still_open is None else text + "\n\n" + still_open,
        parse_mode=ParseMode.HTML,
        message_thread_id=salon.thread_id,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )


async def end(context: OpsbotContext) -> None:
    salon_id = cast(int, context.job.data if context.job else None)
    await close(context.bot, context.runtime, salon_id)


async def close(
    bot: Bot,
    runtime: Runtime,
    salon_id: int,
    *,
    now: datetime | None = None,
) -> bool:
    """End the salon and post its summary; False if it had already ended."""
    async with runtime.sessionmaker.begin() as session:
        if not await salons.end(session, salon_id, now or runtime.clock.now()):
            return False
        salon = await salons.get(session, salon_id)
        summary = await salons.summary(session, salon_id)
        spend = await budget.spend_in(session, runtime, budget.this_month(runtime))
        assert salon is not None
        partner = await partners.co_host(session, salon)
        museums = (
            report.museum_split(
                await report.gather(session, salon, handle=runtime.settings.x_account)
            )
            if partner is not None
            else []
        )
    runtime.live_salon_id = None
    # One last read for questions asked in the final seconds; the next waits the idle interval.
    runtime.polls.soon()
    disarm(runtime.timers, salon_id)
    group = translator(runtime.settings.default_language)
    text = render_summary(salon, summary, group, spend, museums=museums)
    await bot.send_message(
        runtime.staff_chat_id,
        text,
        parse_mode=ParseMode.HTML,
        message_thread_id=salon.thread_id,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )
    if partner is not None and partner.chat_id is not None:
        theirs = translator(partner.language)
        try:
            await bot.send_message(
                partner.chat_id,
                render_summary(salon, summary, theirs, museums=museums, hosting=False),
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        except TelegramError as exc:
            # The salon is closed and the host's group has the summary; the partner's
            # figures stay in /report.
            log.warning("the summary of salon %s did not reach the partner: %s", salon_id, exc)
    await note_followers(runtime, salon_id, at_start=False)
    return True
