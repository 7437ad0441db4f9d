"""The salon's clock: the ten-minute warning and the end, armed from the database.

Jobs are named per salon so a restart re-arms them without duplicates, and each fires its
effect through a conditional update, so it happens once even if it is armed twice.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import cast

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import JobQueue

from opsbot.db.base import utcnow
from opsbot.db.models import Salon
from opsbot.i18n import translator
from opsbot.services import salons
from opsbot.telegram.context import OpsbotContext, Services
from opsbot.telegram.salon_views import render_summary

log = logging.getLogger(__name__)


def _jobs(context: OpsbotContext) -> JobQueue[OpsbotContext]:
    jobs = cast("JobQueue[OpsbotContext] | None", context.job_queue)
    assert jobs is not None
    return jobs


def arm(jobs: JobQueue[OpsbotContext], salon: Salon) -> None:
    """Schedule the warning and the end of a live salon (again, after a restart)."""
    disarm(jobs, salon.id)
    if salon.planned_end_at is None:
        return
    now = utcnow()
    warn_at = salon.planned_end_at - salons.END_WARNING
    if not salon.end_warning_sent and salon.planned_end_at > now:
        jobs.run_once(warn, when=max(warn_at, now), name=f"salon-{salon.id}-warn", data=salon.id)
    jobs.run_once(
        end, when=max(salon.planned_end_at, now), name=f"salon-{salon.id}-end", data=salon.id
    )


def disarm(jobs: JobQueue[OpsbotContext], salon_id: int) -> None:
    for name in (f"salon-{salon_id}-warn", f"salon-{salon_id}-end"):
        for job in jobs.get_jobs_by_name(name):
            job.schedule_removal()


async def warn(context: OpsbotContext) -> None:
    salon_id = cast(int, context.job.data if context.job else None)
    services = context.services
    async with services.sessionmaker.begin() as session:
        if not await salons.claim_end_warning(session, salon_id):
            return
        salon = await salons.get(session, salon_id)
    assert salon is not None and salon.planned_end_at is not None
    _ = translator(services.settings.default_language)
    await context.bot.send_message(
        services.staff_chat_id,
        _(
            "⏰ Salon #{number} ends in 10 minutes, at {time}.",
            number=salon.id,
            time=salon.planned_end_at.astimezone(services.settings.zone).strftime("%H:%M"),
        ),
        parse_mode=ParseMode.HTML,
        message_thread_id=salon.thread_id,
    )


async def end(context: OpsbotContext) -> None:
    salon_id = cast(int, context.job.data if context.job else None)
    await close(context.bot, context.services, _jobs(context), salon_id)


async def close(
    bot: Bot,
    services: Services,
    jobs: JobQueue[OpsbotContext],
    salon_id: int,
    *,
    now: datetime | None = None,
) -> bool:
    """End the salon and post its summary; False if it had already ended."""
    async with services.sessionmaker.begin() as session:
        if not await salons.end(session, salon_id, now or utcnow()):
            return False
        salon = await salons.get(session, salon_id)
        summary = await salons.summary(session, salon_id)
    assert salon is not None
    services.live_salon_id = None
    # One last read for questions asked in the final seconds; the next waits the idle interval.
    services.polls.soon()
    disarm(jobs, salon_id)
    text = render_summary(salon, summary, translator(services.settings.default_language))
    await bot.send_message(
        services.staff_chat_id,
        text,
        parse_mode=ParseMode.HTML,
        message_thread_id=salon.thread_id,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )
    return True
