"""Keeps the month's X spending in view: the estimate, the warnings, X's own usage report.

After each read of X the estimate is refreshed (the idle polling slows with it) and, when
80 % of the budget is crossed and again when it is all spent, the moderators hear once per
month: each notice is a conditional update of its own alert row, so however many reads cross
the line at once, one of them tells. X's usage report (`GET /2/usage/tweets`) is asked on
/budget and once a day; when X cannot answer it, the bot's own count stands.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from telegram.error import TelegramError

from opsbot.i18n import translator
from opsbot.services import alerts, usage
from opsbot.services.budget import Spend, estimate, idle_slowdown
from opsbot.telegram.budget_views import render_warning
from opsbot.x.gateway import XError, month_days

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession
    from telegram import Bot
    from telegram.ext import JobQueue

    from opsbot.telegram.context import OpsbotContext, Runtime

log = logging.getLogger(__name__)

RECONCILE_JOB = "x-usage-report"
RECONCILE_EVERY = 24 * 3600.0
# The first report waits a while after start: /budget asks at once when someone wants it.
RECONCILE_FIRST = 600.0
# Stretched idle polling stays under `opsbot health`'s default 15 minutes without X: a
# spent budget must not look like an outage (a longer OPSBOT_POLL_IDLE_SECONDS still applies).
IDLE_CEILING = 840.0
# /budget waits this long for X's report before answering with the bot's own count.
REPORT_WAIT = 5.0


def this_month(runtime: Runtime) -> str:
    return usage.month_of(runtime.clock.now())


async def spend_in(session: AsyncSession, runtime: Runtime, month: str) -> Spend:
    settings = runtime.settings
    counts = await usage.of_month(session, month)
    return estimate(counts, settings.x_prices, settings.x_monthly_budget)


async def current(runtime: Runtime) -> Spend:
    async with runtime.sessionmaker.begin() as session:
        return await spend_in(session, runtime, this_month(runtime))


def idle_interval(runtime: Runtime) -> float:
    """The idle polling interval, stretched as the month's budget runs down."""
    idle = runtime.settings.poll_idle_seconds
    return max(idle, min(idle * idle_slowdown(runtime.budget_fraction), IDLE_CEILING))


async def watch(bot: Bot, runtime: Runtime) -> Spend:
    """Refresh the estimate and tell the moderators of a line crossed for the first time."""
    month = this_month(runtime)
    async with runtime.sessionmaker.begin() as session:
        spend = await spend_in(session, runtime, month)
        tell = spend.needs_warning and await alerts.raise_alert(
            session, f"x-budget-{'spent' if spend.exhausted else '80'}-{month}"
        )
        if tell and spend.exhausted:
            # Whoever learns it is all spent need not hear of 80 % afterwards.
            await alerts.raise_alert(session, f"x-budget-80-{month}")
    runtime.budget_fraction = spend.fraction
    if tell:
        _ = translator(runtime.settings.default_language)
        try:
            await bot.send_message(runtime.staff_chat_id, render_warning(spend, _))
        except TelegramError as exc:
            log.warning("could not warn the moderators about the X budget: %s", exc)
    return spend


async def reconcile(runtime: Runtime) -> bool:
    """Ask X how many posts it billed this month; False when X did not say."""
    now = runtime.clock.now()
    try:
        report = await asyncio.wait_for(runtime.gateway.usage(month_days(now)), REPORT_WAIT)
    except (XError, TimeoutError) as exc:
        log.info("X's usage report is unavailable, the bot's own count stands: %s", exc)
        return False
    month = usage.month_of(now)
    async with runtime.sessionmaker.begin() as session:
        await usage.report(session, month, report.in_month(month))
    return True


async def reconcile_daily(context: OpsbotContext) -> None:
    if await reconcile(context.runtime):
        await watch(context.bot, context.runtime)


def schedule(jobs: JobQueue[OpsbotContext]) -> None:
    jobs.run_repeating(
        reconcile_daily, interval=RECONCILE_EVERY, first=RECONCILE_FIRST, name=RECONCILE_JOB
    )
