"""Guards that run before every feature: only the staff group is served, and the partner
museums' own groups once the host approved them (`handlers.partners`).

Added to any other group, the bot leaves it, unless a partner museum still has no group.
Updates from the staff group refresh what the bot knows about the person (name, Telegram
language).
"""

from __future__ import annotations

import logging

from telegram import Chat, Update
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    ChatMemberHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from opsbot.services import audit, partners, staff
from opsbot.telegram import staff_groups
from opsbot.telegram.context import OpsbotContext
from opsbot.telegram.handlers import menus
from opsbot.telegram.handlers import partners as partner_handlers
from opsbot.telegram.handlers.common import (
    actor,
    answer_query,
    audit_refusal,
    see_user,
    translator_for,
)
from opsbot.telegram.roles import ANONYMOUS_ADMIN_ID

log = logging.getLogger(__name__)

GROUP_GUARD = -2
GROUP_MIGRATION = -3
GROUP_MEMBERSHIP = -4


async def follow_migration(update: Update, context: OpsbotContext) -> None:
    message = update.effective_message
    runtime = context.runtime
    if message is None:
        return
    if message.migrate_to_chat_id and message.chat_id == runtime.staff_chat_id:
        new_chat_id = message.migrate_to_chat_id
    elif (
        message.migrate_from_chat_id
        and message.migrate_from_chat_id == runtime.settings.staff_chat_id
    ):
        new_chat_id = message.chat_id
    else:
        return
    if new_chat_id == runtime.staff_chat_id:
        return  # both service messages of one migration arrive
    await runtime.cards.follow_migration(new_chat_id)
    # The group's menus belong to its old id.
    await menus.register(context.bot, runtime.settings, new_chat_id)


async def staff_group_only(update: Update, context: OpsbotContext) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    runtime = context.runtime
    if chat.type == Chat.PRIVATE:
        await staff_only_in_private(update, context)
        return
    if chat.id != runtime.staff_chat_id:
        async with runtime.sessionmaker.begin() as session:
            linked = await partners.partner_of_chat(session, chat.id)
        if linked is not None:
            # A co-host's own staff group: its curators answer the co-hosted salons' questions.
            user = update.effective_user
            if user is not None and not user.is_bot and user.id != ANONYMOUS_ADMIN_ID:
                await partner_handlers.seen_in_partner_group(context, user, linked)
            return
    if chat.id == runtime.staff_chat_id:
        message = update.effective_message
        if message is not None:
            # Ids the bot has seen are never taken for a card whose answer was lost.
            runtime.cards.known.saw(chat.id, message.message_id)
        user = update.effective_user
        if user is not None and not user.is_bot and user.id != ANONYMOUS_ADMIN_ID:
            async with runtime.sessionmaker.begin() as session:
                await see_user(session, user)
        return
    if await partner_group(update, context, chat):
        return
    log.warning("leaving chat %s: it is not the staff group", chat.id)
    async with runtime.sessionmaker.begin() as session:
        await audit.record(
            session,
            actor_id=actor(update),
            action="leave_chat",
            outcome=audit.REFUSED,
            detail=f"chat {chat.id} is not the staff group",
        )
    try:
        await context.bot.leave_chat(chat.id)
    except TelegramError as exc:
        log.info("could not leave chat %s: %s", chat.id, exc)
    raise ApplicationHandlerStop


async def partner_group(update: Update, context: OpsbotContext, chat: Chat) -> bool:
    """A partner museum's own group: served once linked; while the host has not approved it,
    every command but `/partner group` is refused with the reason. False: not a partner's.

    `/partner group` is let through from any group, since that is how a group asks."""
    runtime = context.runtime
    message = update.effective_message
    user = update.effective_user
    if partner_handlers.is_group_request(message):
        return True
    async with runtime.sessionmaker.begin() as session:
        partner = await partners.partner_of_request(session, chat.id)
        unlinked = await partners.any_without_group(session)
    if partner is None:
        if not unlinked:
            return False
        # A partner still without its group: this may be it, added a moment before its
        # administrator sends /partner group. The bot waits here without serving anyone.
        if message is not None and (message.text or "").startswith("/"):
            _ = await translator_for(context, user)
            await message.reply_text(
                _(
                    "The bot serves only the museum's staff group and its partners' groups. "
                    "An administrator links this one with /partner group @handle."
                )
            )
        raise ApplicationHandlerStop
    if partner.chat_id == chat.id:
        return True
    if message is not None and (message.text or "").startswith("/"):
        _ = await translator_for(context, user)
        await audit_refusal(context, update, "command", "partner group not approved")
        await message.reply_text(
            _(
                "This group waits for a moderator of the host museum to approve it as the "
                "staff group of @{handle}; until then the bot takes no commands here.",
                handle=partner.handle,
            )
        )
    elif update.callback_query is not None:
        _ = await translator_for(context, user)
        await answer_query(
            update.callback_query,
            _.plain("This group is not approved yet."),
            alert=True,
        )
    raise ApplicationHandlerStop


async def staff_only_in_private(update: Update, context: OpsbotContext) -> None:
    """In private, the bot talks only to members of the staff group (planned topics, duty
    rosters and the queue are the museum's internal business)."""
    user = update.effective_user
    runtime = context.runtime
    if user is None:
        return
    # A partner's administrator may not have spoken in its group yet: asked there directly.
    if await staff_groups.staff_role(
        runtime, user.id
    ) is not None or await staff_groups.partners_of(runtime, user.id):
        chat = update.effective_chat
        if chat is not None and chat.id == user.id:
            await note_private_chat(update, context)
        return
    message = update.effective_message
    _ = await translator_for(context, user)
    refusal = _("This bot works for the museum's staff group only.")
    if update.callback_query is not None:
        await answer_query(update.callback_query, refusal, alert=True)
    elif message is not None:
        await message.reply_text(refusal)
    raise ApplicationHandlerStop


async def note_private_chat(update: Update, context: OpsbotContext) -> None:
    """A member wrote or pressed in private, or blocked the bot: whether it may write there.

    Telegram lets a bot write to a person only after they have started it, and tells it with
    403 or a `my_chat_member` update when they block it; the flag follows both.
    """
    user = update.effective_user
    assert user is not None
    change = update.my_chat_member
    runtime = context.runtime
    async with runtime.sessionmaker.begin() as session:
        if change is not None and change.new_chat_member.status in (
            ChatMemberStatus.BANNED,
            ChatMemberStatus.LEFT,
        ):
            await staff.close_private_chat(session, user.id)
        elif update.effective_message is not None or change is not None:
            await see_user(session, user)
            await staff.open_private_chat(session, user.id)


async def staff_membership(update: Update, context: OpsbotContext) -> None:
    """The bot was removed from the staff group or added back: the card queue checks at once."""
    change = update.my_chat_member
    if change is not None and change.chat.id == context.runtime.staff_chat_id:
        context.runtime.cards.staff_chat_changed()


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(
        ChatMemberHandler(staff_membership, ChatMemberHandler.MY_CHAT_MEMBER),
        group=GROUP_MEMBERSHIP,
    )
    application.add_handler(
        MessageHandler(filters.StatusUpdate.MIGRATE, follow_migration), group=GROUP_MIGRATION
    )
    application.add_handler(TypeHandler(Update, staff_group_only), group=GROUP_GUARD)
