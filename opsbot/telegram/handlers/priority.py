"""Priority senders, kept by the moderators: /vip @handle [note], /vip remove @handle, /vips."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, CommandHandler

from opsbot.i18n import N_, Html
from opsbot.services import audit, priority
from opsbot.telegram.cards import shorten
from opsbot.telegram.commands import Command
from opsbot.telegram.context import OpsbotContext
from opsbot.telegram.handlers.senders import Sent, command
from opsbot.telegram.roles import Role

COMMANDS = [
    Command(
        "vip",
        N_("Mark an X account as a priority sender: /vip @handle note; /vip remove @handle"),
        Role.MODERATOR,
        rank=62,
    ),
    Command("vips", N_("The priority senders"), Role.MODERATOR, rank=63),
]
# Thirty lines of at most about 100 characters stay well inside Telegram's 4096.
MAX_LISTED = 30
NOTE_SHOWN = 60


@command(Role.MODERATOR, "vip")
async def change(update: Update, context: OpsbotContext, sent: Sent) -> None:
    message, user, _, _role = sent
    args = context.args or []
    removing = bool(args) and args[0].lower() == "remove"
    if removing:
        args = args[1:]
    if not args or (removing and len(args) != 1):
        await message.reply_text(
            _("Usage: /vip @handle note, or /vip remove @handle"), parse_mode=ParseMode.HTML
        )
        return
    handle = priority.parse_handle(args[0])
    if handle is None:
        await message.reply_text(
            _(
                "“{text}” is not an X account: letters, digits and _, at most 15, "
                "as in /vip @handle note.",
                text=shorten(args[0], 40),
            ),
            parse_mode=ParseMode.HTML,
        )
        return
    note = " ".join(args[1:])
    if len(note) > priority.MAX_NOTE:
        await message.reply_text(
            _("The note is too long: at most {limit} characters.", limit=priority.MAX_NOTE),
            parse_mode=ParseMode.HTML,
        )
        return
    runtime = context.runtime
    async with runtime.sessionmaker.begin() as session:
        if removing:
            changed = await priority.remove(session, handle)
        else:
            changed = await priority.add(session, handle, note, user.id, runtime.clock.now())
        await audit.record(
            session,
            actor_id=user.id,
            action="vip_remove" if removing else "vip",
            detail=f"@{handle} {note}".strip(),
        )
    if removing:
        text = (
            _("@{handle} is no longer a priority sender.", handle=handle)
            if changed
            else _("@{handle} was not a priority sender.", handle=handle)
        )
    else:
        text = (
            _("⭐ @{handle} is a priority sender now.", handle=handle)
            if changed
            else _("⭐ @{handle} was listed already; its note is updated.", handle=handle)
        )
    await message.reply_text(text, parse_mode=ParseMode.HTML)


@command(Role.MODERATOR, "vips")
async def show(update: Update, context: OpsbotContext, sent: Sent) -> None:
    message, _user, _, _role = sent
    runtime = context.runtime
    async with runtime.sessionmaker.begin() as session:
        found = await priority.listed(session)
    threshold = runtime.settings.vip_followers
    followers = _.ngettext(
        "Accounts with more than {count} follower on X count as priority senders too.",
        "Accounts with more than {count} followers on X count as priority senders too.",
        threshold,
        count=threshold,
    )
    if not found:
        lines = [_("No priority senders are listed: /vip @handle note"), followers]
    else:
        lines = [
            _.ngettext(
                "⭐ {count} priority sender:",
                "⭐ {count} priority senders:",
                len(found),
                count=len(found),
            )
        ]
        for sender in found[:MAX_LISTED]:
            note = shorten(sender.note, NOTE_SHOWN)
            lines.append(
                _("• @{handle} — {note}", handle=sender.handle, note=note)
                if note
                else _("• @{handle}", handle=sender.handle)
            )
        if len(found) > MAX_LISTED:
            lines.append(_("…and {count} more.", count=len(found) - MAX_LISTED))
        lines.append(followers)
    await message.reply_text(Html("\n".join(lines)), parse_mode=ParseMode.HTML)


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("vip", change))
    application.add_handler(CommandHandler("vips", show))
