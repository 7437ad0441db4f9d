"""/budget: the month's X reads, posts and estimated spend against the budget (moderators)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler

from opsbot.i18n import N_
from opsbot.telegram import budget
from opsbot.telegram.budget_views import render_budget
from opsbot.telegram.commands import Command
from opsbot.telegram.context import OpsbotContext
from opsbot.telegram.handlers.senders import Sent, command
from opsbot.telegram.roles import Role

COMMANDS = [
    Command(
        "budget",
        N_("The month's X reads, posts and spend against the budget"),
        Role.MODERATOR,
        rank=40,
    ),
]


@command(Role.MODERATOR, "budget")
async def show_budget(update: Update, context: OpsbotContext, sent: Sent) -> None:
    message, _ = sent.message, sent.translator
    runtime = context.runtime
    # X's own count first, when it answers in time; the bot's ledger otherwise.
    await budget.reconcile(runtime)
    spend = await budget.watch(context.bot, runtime)
    await message.reply_text(render_budget(spend, budget.this_month(runtime), _))


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("budget", show_budget))
