"""Partner museums: /partner add | remove | group | staff | connect | disconnect, /partners.

The host's moderators add and remove partners and approve a partner's own staff group; a
partner's administrators link that group, and connect its X account in a private chat with
the bot (X's PIN flow: the PIN never passes through a group). Every refusal says why, in the
sender's language; every change is in the audit log.
"""

from __future__ import annotations

import logging
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update, User
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from opsbot.db.models import Partner
from opsbot.i18n import N_, SUPPORTED_LANGUAGES, Html, Translator, translator
from opsbot.services import audit, partners
from opsbot.services.posts import normalise_handle
from opsbot.telegram import partner_connect, staff_groups
from opsbot.telegram.callback_data import Action, matches, pack
from opsbot.telegram.commands import Command
from opsbot.telegram.context import OpsbotContext
from opsbot.telegram.handlers.common import (
    answer_query,
    audit_refusal,
    clear_buttons,
    see_user,
    translator_for,
)
from opsbot.telegram.handlers.presses import Press, button
from opsbot.telegram.handlers.senders import Sent, command
from opsbot.telegram.partner_connect import Outcome
from opsbot.telegram.roles import Role

log = logging.getLogger(__name__)

# In the moderators' menus: partners are the host's moderators' business.
COMMANDS = [
    Command(
        "partner",
        N_("Partner museums: /partner add|remove|staff|group|connect|disconnect"),
        Role.MODERATOR,
        rank=70,
    ),
    Command("partners", N_("The partner museums and their state"), Role.MODERATOR, rank=71),
]

# Before the curators' answers (group 0): a PIN is not an answer. It shares its group with
# the links of answers posted by hand (`answers_by_hand`), and is registered first: a PIN
# sent as a reply to the bot is still a PIN.
GROUP_PIN = -1
_ADD = re.compile(r'^(\S+)\s+["“«]([^"”»]{1,200})["”»](?:\s+(\S+))?(?:\s+(\S+))?\s*$')
_PIN = re.compile(r"^\s*([0-9]{7})\s*$")
# X handles are 1-15 letters, digits or _.
_X_HANDLE = re.compile(r"^[a-z0-9_]{1,15}$")


def _handle(word: str) -> str | None:
    handle = normalise_handle(word)
    return handle if handle is not None and _X_HANDLE.match(handle) else None


def _args(message: Message) -> tuple[str, str]:
    """The subcommand and the rest of `/partner SUB REST`."""
    words = (message.text or "").split(None, 2)
    sub = words[1].lower() if len(words) > 1 else ""
    return sub, words[2].strip() if len(words) > 2 else ""


def _usage(_: Translator) -> Html:
    return _(
        "Usage:\n"
        '/partner add @handle "Name" [language] [time zone]\n'
        "/partner remove @handle\n"
        "/partner group @handle (in the partner's own staff group)\n"
        "/partner staff @handle|none (in reply to a person's message)\n"
        "/partner connect [@handle] and /partner disconnect [@handle] (in a private chat)\n"
        "/partners"
    )


async def partner_command(update: Update, context: OpsbotContext) -> None:
    message = update.effective_message
    if message is None:
        return
    sub, _rest = _args(message)
    handlers = {
        "add": add,
        "remove": remove,
        "staff": staff,
        "group": group,
        "connect": connect,
        "disconnect": disconnect,
    }
    await handlers.get(sub, usage)(update, context)


@command(Role.MODERATOR, "partner", partners=True)
async def usage(update: Update, context: OpsbotContext, sent: Sent) -> None:
    """An unknown or missing subcommand: how to use /partner, for those who may."""
    message, _user, _, _role = sent
    await message.reply_text(_usage(_))


async def _named(message: Message, rest: str, _: Translator) -> str | None:
    handle = _handle(rest.split()[0]) if rest.split() else None
    if handle is None:
        await message.reply_text(
            _(
                "“{text}” is not an X handle: 1-15 letters, digits or _, such as @museum.",
                text=rest.split()[0] if rest.split() else "",
            )
            if rest.split()
            else _usage(_)
        )
    return handle


async def _partner(
    context: OpsbotContext, message: Message, handle: str, _: Translator
) -> Partner | None:
    async with context.runtime.sessionmaker.begin() as session:
        partner = await partners.partner_by_handle(session, handle)
    if partner is None:
        await message.reply_text(
            _(
                "No partner @{handle}. A moderator of the host museum adds it with "
                '/partner add @{handle} "Name".',
                handle=handle,
            )
        )
    return partner


@command(Role.MODERATOR, "partner_add")
async def add(update: Update, context: OpsbotContext, sent: Sent) -> None:
    message, user, _, _role = sent
    runtime = context.runtime
    settings = runtime.settings
    _sub, rest = _args(message)
    match = _ADD.match(rest)
    if match is None:
        await message.reply_text(_usage(_))
        return
    handle = await _named(message, match.group(1), _)
    if handle is None:
        return
    name = match.group(2).strip()
    language = (match.group(3) or "en").lower()
    zone = match.group(4) or settings.timezone
    if handle == settings.x_account.lower():
        await message.reply_text(_("@{handle} is the museum's own account.", handle=handle))
        return
    if language not in SUPPORTED_LANGUAGES:
        await message.reply_text(
            _(
                "“{language}” is not a language the bot speaks: use one of {languages}.",
                language=language,
                languages=", ".join(SUPPORTED_LANGUAGES),
            )
        )
        return
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        await message.reply_text(
            _(
                "Unknown time zone “{zone}”: use a name such as Europe/Berlin.",
                zone=zone,
            )
        )
        return
    async with runtime.sessionmaker.begin() as session:
        added = await partners.add(
            session,
            handle=handle,
            name=name,
            language=language,
            timezone=zone,
            added_by=user.id,
            now=runtime.clock.now(),
        )
        await audit.record(
            session,
            actor_id=user.id,
            action="partner_add",
            outcome=audit.OK if added else audit.REFUSED,
            detail=f"@{handle}" if added else f"@{handle} exists",
        )
    if not added:
        await message.reply_text(_("@{handle} is already a partner.", handle=handle))
        return
    await message.reply_text(
        _(
            "✅ Partner added: {name} (@{handle}), language {language}, time zone {zone}.\n"
            "Next: in its own staff group (with the bot added) an administrator sends "
            "/partner group @{handle}; or mark its curators here with /partner staff @{handle} "
            "in reply to their messages. One of its administrators sends me /partner connect "
            "in a private chat to let the bot post as @{handle}.",
            name=name,
            handle=handle,
            language=language,
            zone=zone,
        )
    )


@command(Role.MODERATOR, "partners")
async def list_partners(update: Update, context: OpsbotContext, sent: Sent) -> None:
    message, _user, _, _role = sent
    async with context.runtime.sessionmaker.begin() as session:
        every = await partners.all_partners(session)
    if not every:
        await message.reply_text(
            _('No partners yet. A moderator adds one with /partner add @handle "Name".')
        )
        return
    lines = [_("Partner museums:")]
    for partner in every:
        group = (
            _("linked")
            if partner.chat_id is not None
            else _("waiting for approval")
            if partner.requested_chat_id is not None
            else _("none, its curators are in this group")
        )
        lines.append(
            _(
                "@{handle} — {name}; language {language}, time zone {zone}; group: {group}; "
                "posts as itself on X: {connected}",
                handle=partner.handle,
                name=partner.name,
                language=partner.language,
                zone=partner.timezone,
                group=group,
                connected=_("yes") if partner.access_token is not None else _("no"),
            )
        )
    await message.reply_text("\n".join(lines))


@command(Role.MODERATOR, "partner_remove")
async def remove(update: Update, context: OpsbotContext, sent: Sent) -> None:
    message, user, _, _role = sent
    runtime = context.runtime
    handle = await _named(message, _args(message)[1], _)
    if handle is None:
        return
    partner = await _partner(context, message, handle, _)
    if partner is None:
        return
    async with runtime.sessionmaker.begin() as session:
        removed = await partners.remove(session, partner.id)
        await audit.record(
            session,
            actor_id=user.id,
            action="partner_remove",
            outcome=audit.OK if removed else audit.REFUSED,
            detail=f"@{handle}",
        )
    await runtime.partner_accounts.drop(partner.id)
    await message.reply_text(
        _("Partner @{handle} removed; its X tokens are deleted.", handle=handle)
        if removed
        else _("No partner @{handle}.", handle=handle)
    )


@command(Role.MODERATOR, "partner_staff")
async def staff(update: Update, context: OpsbotContext, sent: Sent) -> None:
    message, user, _, _role = sent
    runtime = context.runtime
    target = message.reply_to_message.from_user if message.reply_to_message else None
    if message.chat.id != runtime.staff_chat_id or target is None or target.is_bot:
        await message.reply_text(
            _(
                "Send /partner staff @handle in the staff group, in reply to a message of the "
                "person who answers for the partner (/partner staff none: for this museum)."
            )
        )
        return
    rest = _args(message)[1]
    partner: Partner | None = None
    if rest.lower() != "none":
        handle = await _named(message, rest, _)
        if handle is None:
            return
        partner = await _partner(context, message, handle, _)
        if partner is None:
            return
    async with runtime.sessionmaker.begin() as session:
        await see_user(session, target)
        await partners.mark_staff(session, target.id, partner.id if partner else None)
        await audit.record(
            session,
            actor_id=user.id,
            action="partner_staff",
            detail=f"{target.id}: @{partner.handle}" if partner else f"{target.id}: host",
        )
    await message.reply_text(
        _(
            "{person} now answers for {name} (@{handle}).",
            person=target.full_name,
            name=partner.name,
            handle=partner.handle,
        )
        if partner is not None
        else _("{person} now answers for this museum.", person=target.full_name)
    )


async def group(update: Update, context: OpsbotContext) -> None:
    """In the partner's own group, by one of its administrators: ask the host to link it."""
    message = update.effective_message
    user = update.effective_user
    chat = update.effective_chat
    if message is None or user is None or chat is None:
        return
    _ = await translator_for(context, user)
    runtime = context.runtime
    if chat.type == ChatType.PRIVATE or chat.id == runtime.staff_chat_id:
        await audit_refusal(context, update, "partner_group", "wrong chat")
        await message.reply_text(
            _(
                "Send /partner group @handle in the partner museum's own staff group, after "
                "adding the bot there."
            )
        )
        return
    if await runtime.roles.role_of(chat.id, user.id) != Role.MODERATOR:
        await audit_refusal(context, update, "partner_group", "not an administrator")
        await message.reply_text(_("Only an administrator of this group can link it."))
        return
    handle = await _named(message, _args(message)[1], _)
    if handle is None:
        return
    partner = await _partner(context, message, handle, _)
    if partner is None:
        return
    if partner.chat_id == chat.id:
        await message.reply_text(
            _("This group is already the staff group of @{handle}.", handle=handle)
        )
        return
    async with runtime.sessionmaker.begin() as session:
        asked = await partners.request_group(session, partner.id, chat.id)
        await audit.record(
            session,
            actor_id=user.id,
            action="partner_group",
            outcome=audit.OK if asked else audit.REFUSED,
            detail=f"@{handle}: chat {chat.id}",
        )
    if not asked:
        await message.reply_text(_("@{handle} already has a staff group linked.", handle=handle))
        return
    host = translator(runtime.settings.default_language)
    await context.bot.send_message(
        runtime.staff_chat_id,
        host(
            N_(
                "🤝 The group “{title}” asks to be the staff group of {name} (@{handle}); "
                "asked by {person}. A moderator approves or refuses:"
            ),
            title=chat.title or str(chat.id),
            name=partner.name,
            handle=handle,
            person=user.full_name,
        ),
        reply_markup=InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        host.plain("Approve"),
                        callback_data=pack(Action.PARTNER_APPROVE, partner.id, _check(chat.id)),
                    ),
                    InlineKeyboardButton(
                        host.plain("Refuse"),
                        callback_data=pack(Action.PARTNER_REFUSE, partner.id, _check(chat.id)),
                    ),
                ]
            ]
        ),
    )
    await message.reply_text(
        _(
            "Asked: a moderator of the host museum will approve the link. Until then the bot "
            "takes no other command here."
        )
    )


def _check(chat_id: int) -> int:
    """Part of the asking group's id in the button, so a press acts on the request it shows."""
    return abs(chat_id) % 1_000_000_000


@button(moderators_only=True)
async def on_group_request(update: Update, context: OpsbotContext, press: Press) -> None:
    query, _, callback, _role = press
    runtime = context.runtime
    approve = callback.action == Action.PARTNER_APPROVE
    async with runtime.sessionmaker.begin() as session:
        partner = await session.get(Partner, callback.target)
        chat_id = partner.requested_chat_id if partner is not None else None
        done = False
        if partner is not None and chat_id is not None and _check(chat_id) == callback.extra:
            done = (
                await partners.approve_group(session, partner.id, chat_id)
                if approve
                else await partners.refuse_group(session, partner.id, chat_id)
            )
        await audit.record(
            session,
            actor_id=query.from_user.id,
            action="partner_group_approve" if approve else "partner_group_refuse",
            outcome=audit.OK if done else audit.REFUSED,
            detail=f"partner {callback.target}",
        )
    if not done or partner is None or chat_id is None:
        await answer_query(query, _.plain("This request was already handled."), alert=True)
        await clear_buttons(query)
        return
    await clear_buttons(query)
    await answer_query(query, _.plain("Linked.") if approve else _.plain("Refused."))
    theirs = translator(partner.language)
    try:
        await context.bot.send_message(
            chat_id,
            theirs(
                N_("✅ This group is now the staff group of {name} (@{handle})."),
                name=partner.name,
                handle=partner.handle,
            )
            if approve
            else theirs(N_("The host museum did not link this group.")),
        )
    except TelegramError as exc:
        log.info("could not tell partner group %s: %s", chat_id, exc)


async def _their_partner(
    update: Update, context: OpsbotContext, _: Translator, action: str
) -> Partner | None:
    """The partner this administrator acts for (named, or the only one); refusals answered."""
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None
    runtime = context.runtime
    rest = _args(message)[1]
    handle = _handle(rest.split()[0]) if rest.split() else None
    if rest.split() and handle is None:
        await _named(message, rest, _)
        return None
    theirs = [
        partner
        for partner, role in await staff_groups.partners_of(runtime, user.id)
        if role == Role.MODERATOR and (handle is None or partner.handle == handle)
    ]
    if not theirs:
        await audit_refusal(context, update, action, "not a partner's administrator")
        await message.reply_text(
            _("Only an administrator of the partner museum's staff can do this.")
        )
        return None
    if len(theirs) > 1:
        await message.reply_text(_("Say which partner: /partner connect @handle."))
        return None
    return theirs[0]


async def connect(update: Update, context: OpsbotContext) -> None:
    message = update.effective_message
    user = update.effective_user
    chat = update.effective_chat
    if message is None or user is None or chat is None:
        return
    _ = await translator_for(context, user)
    runtime = context.runtime
    if chat.type != ChatType.PRIVATE:
        await audit_refusal(context, update, "partner_connect", "not in private")
        await message.reply_text(
            _(
                "Send /partner connect to me in a private chat: the PIN from X must not be "
                "shown in a group."
            )
        )
        return
    if runtime.settings.secret_key is None:
        await audit_refusal(context, update, "partner_connect", "no secret key")
        await message.reply_text(
            _(
                "The bot cannot store X tokens safely: OPSBOT_SECRET_KEY is not set. Ask "
                "whoever runs the bot to set it."
            )
        )
        return
    partner = await _their_partner(update, context, _, "partner_connect")
    if partner is None:
        return
    url = await partner_connect.start(runtime, user.id, partner)
    if url is None:
        await message.reply_text(
            _("X did not start the authorisation. Try /partner connect again later.")
        )
        return
    await message.reply_text(
        _(
            "1. Open {url}\n2. Sign in to X as @{handle} and allow the app.\n"
            "3. Send me the PIN X shows (7 digits), within 15 minutes.",
            url=url,
            handle=partner.handle,
        )
    )


async def on_pin(update: Update, context: OpsbotContext) -> None:
    """A person asked for a PIN sends one: exchange it, check the account, store it sealed."""
    message = update.effective_message
    user = update.effective_user
    runtime = context.runtime
    if message is None or user is None or runtime.pin_flow.waiting_for(user.id) is None:
        return
    match = _PIN.match(message.text or "")
    if match is None:
        return
    _ = await translator_for(context, user)
    done = await partner_connect.finish(runtime, user.id, match.group(1))
    partner = done.partner
    texts = {
        Outcome.PIN_REFUSED: _("X did not accept this PIN. Start again with /partner connect."),
        Outcome.X_UNREACHABLE: _(
            "X could not be reached. Start again with /partner connect later."
        ),
        Outcome.PARTNER_GONE: _("This partner was removed meanwhile: nothing was stored."),
    }
    if done.outcome == Outcome.NOT_ASKED:
        return
    if done.outcome in texts:
        await message.reply_text(texts[done.outcome])
    elif partner is not None and done.outcome == Outcome.WRONG_ACCOUNT:
        await message.reply_text(
            _(
                "You allowed the app as @{account}, not @{handle}: nothing was stored. Start "
                "again with /partner connect and sign in to X as @{handle}.",
                account=done.account,
                handle=partner.handle,
            )
        )
    elif partner is not None:
        await message.reply_text(
            _(
                "✅ Connected: the answers of {name}'s curators now go out from @{handle}. "
                "/partner disconnect deletes the tokens.",
                name=partner.name,
                handle=partner.handle,
            )
        )
    raise ApplicationHandlerStop


async def disconnect(update: Update, context: OpsbotContext) -> None:
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    _ = await translator_for(context, user)
    runtime = context.runtime
    rest = _args(message)[1]
    partner: Partner | None = None
    host_role = await runtime.roles.role_of(runtime.staff_chat_id, user.id)
    if host_role == Role.MODERATOR and rest.split():
        # The host's moderators may cut a partner's access too.
        handle = await _named(message, rest, _)
        if handle is None:
            return
        partner = await _partner(context, message, handle, _)
    else:
        partner = await _their_partner(update, context, _, "partner_disconnect")
    if partner is None:
        return
    async with runtime.sessionmaker.begin() as session:
        done = await partners.disconnect(session, partner.id)
        await audit.record(
            session,
            actor_id=user.id,
            action="partner_disconnect",
            outcome=audit.OK if done else audit.REFUSED,
            detail=f"@{partner.handle}",
        )
    await runtime.partner_accounts.drop(partner.id)
    await message.reply_text(
        _(
            "Disconnected: the X tokens of @{handle} are deleted. Its curators answer by hand "
            "until it connects again.",
            handle=partner.handle,
        )
        if done
        else _("@{handle} was not connected.", handle=partner.handle)
    )


def is_group_request(message: Message | None) -> bool:
    """`/partner group …`: the one command a group the bot does not serve yet may send."""
    words = (message.text or "").split() if message is not None else []
    return len(words) >= 2 and words[0].split("@")[0] == "/partner" and words[1] == "group"


async def seen_in_partner_group(context: OpsbotContext, user: User, partner: Partner) -> None:
    """Whoever writes in a partner's linked group works for that partner, and answers from
    its account; not the host museum's own people, who may sit in the partner's group too."""
    runtime = context.runtime
    host_staff = await runtime.roles.role_of(runtime.staff_chat_id, user.id) is not None
    async with runtime.sessionmaker.begin() as session:
        await see_user(session, user)
        if not host_staff:
            await partners.mark_staff(session, user.id, partner.id)


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("partner", partner_command))
    application.add_handler(CommandHandler("partners", list_partners))
    application.add_handler(
        CallbackQueryHandler(
            on_group_request, pattern=matches(Action.PARTNER_APPROVE, Action.PARTNER_REFUSE)
        )
    )
    application.add_handler(
        MessageHandler(filters.ChatType.PRIVATE & filters.Regex(_PIN), on_pin),
        group=GROUP_PIN,
    )
