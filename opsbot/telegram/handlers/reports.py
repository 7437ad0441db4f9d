"""After the salon: /report (figures for the Ministry, as files) and /archive (the public page).

Thin: parse the arguments, let `opsbot.reports` make the documents, send them to the group.
The documents follow the asker's language. They go to the staff group whichever chat asked:
the figures and the unpublished answers are the staff's, not for a private chat that may be
forwarded; a moderator asking in private is told where they went.
"""

from __future__ import annotations

import io
import logging

from telegram import InputFile, Message, ReplyParameters, Update
from telegram.constants import ParseMode
from telegram.ext import Application, CommandHandler

from opsbot.i18n import N_, Translator
from opsbot.reports import archive as archive_pages
from opsbot.reports import periods
from opsbot.reports.make import (
    Document,
    Format,
    Lookup,
    formats,
    period_document,
    period_figures,
    salon_document,
    salon_figures,
)
from opsbot.services import salons
from opsbot.services.x_facts import PostLookup
from opsbot.telegram.commands import Command
from opsbot.telegram.context import OpsbotContext
from opsbot.telegram.handlers.common import number
from opsbot.telegram.handlers.senders import Sent, command
from opsbot.telegram.roles import Role
from opsbot.x import facts

log = logging.getLogger(__name__)

COMMANDS = [
    Command(
        "report",
        N_("The salon's figures as files: /report [N], /report month 2026-12"),
        Role.MODERATOR,
        rank=32,
    ),
    Command(
        "archive",
        N_("The salon's public archive page as a file: /archive [N] [ru|en|both]"),
        Role.MODERATOR,
        rank=33,
    ),
]

SALON_FILES = (Format.XLSX, Format.CSV, Format.PNG, Format.JSON)
PERIOD_FILES = (Format.XLSX, Format.CSV, Format.JSON)


def _lookup(context: OpsbotContext) -> Lookup:
    gateway = context.runtime.gateway

    async def lookup(ids: list[str]) -> PostLookup:
        return await facts.lookup_posts(gateway, ids)

    return lookup


async def _send(
    message: Message,
    context: OpsbotContext,
    _: Translator,
    documents: list[Document],
    caption: str,
) -> None:
    staff_chat_id = context.runtime.staff_chat_id
    in_group = message.chat_id == staff_chat_id
    for n, document in enumerate(documents):
        await context.bot.send_document(
            staff_chat_id,
            InputFile(io.BytesIO(document.content), filename=document.filename),
            caption=caption if n == 0 else None,
            parse_mode=ParseMode.HTML,
            # Under the command in the group (and so in its topic, if the group has topics).
            reply_parameters=ReplyParameters(message.message_id, allow_sending_without_reply=True)
            if in_group
            else None,
        )
    if not in_group:
        await message.reply_text(_("The files are in the staff group."))


@command(Role.MODERATOR, "report")
async def report(update: Update, context: OpsbotContext, sent: Sent) -> None:
    message, _user, _, _role = sent
    args = context.args or []
    if args and args[0].lower() in ("month", "quarter"):
        await _period_report(message, context, _, args)
        return
    salon_id = number(args[0].lstrip("#")) if args else None
    if len(args) > 1 or (args and salon_id is None):
        await message.reply_text(_usage(_))
        return
    settings = context.runtime.settings
    figures = await salon_figures(
        context.runtime.sessionmaker,
        salon_id,
        handle=settings.x_account,
        lookup=_lookup(context),
        prices=settings.x_prices,
    )
    if figures is None:
        await message.reply_text(
            _("There is no salon #{number}.", number=salon_id)
            if salon_id is not None
            else _("There has been no salon yet: nothing to report.")
        )
        return
    fmt = formats(_.language, settings.zone)
    caption = _(
        "Salon #{number}: {questions} questions, {answered} answered, {participants} participants.",
        number=figures.salon_id,
        questions=figures.questions,
        answered=figures.answered,
        participants=figures.participants,
    )
    await _send(
        message, context, _, [salon_document(figures, f, fmt) for f in SALON_FILES], caption
    )


def _usage(_: Translator) -> str:
    return _("Usage: /report [salon number], /report month 2026-12 or /report quarter 2026-Q4")


async def _period_report(
    message: Message, context: OpsbotContext, _: Translator, args: list[str]
) -> None:
    settings = context.runtime.settings
    period = periods.parse(args[0].lower(), args[1], settings.zone) if len(args) == 2 else None
    if period is None:
        await message.reply_text(_usage(_))
        return
    total, each = await period_figures(
        context.runtime.sessionmaker,
        period,
        handle=settings.x_account,
        lookup=_lookup(context),
        prices=settings.x_prices,
    )
    if not each:
        await message.reply_text(_("No salon took place in {period}.", period=period.name))
        return
    fmt = formats(_.language, settings.zone)
    caption = _.ngettext(
        "{period}: {count} salon, {questions} questions, {answered} answered.",
        "{period}: {count} salons, {questions} questions, {answered} answered.",
        len(each),
        period=period.name,
        count=len(each),
        questions=total.questions,
        answered=total.answered,
    )
    await _send(
        message,
        context,
        _,
        [period_document(period, total, each, f, fmt) for f in PERIOD_FILES],
        caption,
    )


@command(Role.MODERATOR, "archive")
async def archive(update: Update, context: OpsbotContext, sent: Sent) -> None:
    message, _user, _, _role = sent
    args = [a.lower() for a in context.args or []]
    language = args.pop() if args and args[-1] in salons.ARCHIVE_LANGUAGES else None
    salon_id = number(args[0].lstrip("#")) if args else None
    if len(args) > 1 or (args and salon_id is None):
        await message.reply_text(_("Usage: /archive [salon number] [ru|en|both]"))
        return
    runtime = context.runtime
    if language is not None:
        async with runtime.sessionmaker.begin() as session:
            salon = await (
                salons.get(session, salon_id) if salon_id is not None else salons.latest(session)
            )
            if salon is not None:
                await salons.set_archive_language(session, salon.id, language)
    built = await archive_pages.salon_page(
        runtime.sessionmaker,
        salon_id,
        settings=archive_pages.ArchiveSettings(
            handle=runtime.settings.x_account,
            default_language=runtime.settings.default_language,
            zone=runtime.settings.zone,
        ),
        lookup=_lookup(context),
    )
    if built is None:
        await message.reply_text(
            _("There is no salon #{number}.", number=salon_id)
            if salon_id is not None
            else _("There has been no salon yet: nothing to archive.")
        )
        return
    caption = _(
        "The public page of salon #{number}, for the web team to publish. Left out: {hidden} "
        "hidden, {withdrawn} deleted or protected on X.",
        number=built.salon_id,
        hidden=built.hidden,
        withdrawn=built.withdrawn,
    )
    if not built.checked:
        caption = _(
            "{caption} X could not be asked which posts were taken back: build it again later.",
            caption=caption,
        )
    await _send(message, context, _, [Document(built.filename, built.content)], caption)


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("report", report))
    application.add_handler(CommandHandler("archive", archive))
