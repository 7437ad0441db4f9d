"""/start, /help and /language: each person picks the language the bot speaks to them."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, CommandHandler

from opsbot.i18n import N_, SUPPORTED_LANGUAGES, translator
from opsbot.services import audit, staff
from opsbot.telegram.commands import Command
from opsbot.telegram.context import OpsbotContext
from opsbot.telegram.handlers.common import see_user, translator_for
from opsbot.telegram.roles import Role

COMMANDS = [
    Command(
        "language",
        N_("Choose your language: /language ru or /language en"),
        Role.CURATOR,
        rank=90,
        in_private=True,
    ),
    Command(
        "help", N_("What the bot does and how to use it"), Role.CURATOR, rank=91, in_private=True
    ),
]


async def send_help(update: Update, context: OpsbotContext) -> None:
    message = update.effective_message
    if message is None:
        return
    _ = await translator_for(context, update.effective_user)
    await message.reply_text(
        _(
            "I bring the audience's questions from X to this group as cards. Press "
            "<b>Take</b> so no colleague answers twice, <b>Answer</b> to write the reply, "
            "<b>Hide</b> for spam.\n/language ru or /language en switches my language for you."
        ),
        parse_mode=ParseMode.HTML,
    )


async def choose_language(update: Update, context: OpsbotContext) -> None:
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    runtime = context.runtime
    args = [a.lower() for a in (context.args or [])]
    if len(args) != 1 or args[0] not in SUPPORTED_LANGUAGES:
        _ = await translator_for(context, user)
        await message.reply_text(
            _("Usage: /language ru or /language en"), parse_mode=ParseMode.HTML
        )
        return
    async with runtime.sessionmaker.begin() as session:
        await see_user(session, user)
        await staff.set_language(session, user.id, args[0])
        await audit.record(session, actor_id=user.id, action="language", detail=args[0])
    _ = translator(args[0])
    await message.reply_text(_("I will speak English with you."), parse_mode=ParseMode.HTML)


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler(["start", "help"], send_help))
    application.add_handler(CommandHandler("language", choose_language))
