"""Guards that run before every feature: only the staff group is served.

Added to any other group, the bot leaves it. Updates from the staff group refresh what the
bot knows about the person (name, Telegram language).
"""

from __future__ import annotations

import logging

from telegram import Chat, Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    ChatMemberHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from opsbot.services import audit
from opsbot.telegram import menus
from opsbot.telegram.context import OpsbotContext
from opsbot.telegram.handlers.common import actor, see_user, translator_for
from opsbot.telegram.roles import ANONYMOUS_ADMIN_ID

log = logging.getLogger(__name__)

GROUP_GUARD = -2
GROUP_MIGRATION = -3
GROUP_MEMBERSHIP = -4


async def follow_migration(update: Update, context: OpsbotContext) -> None:
    message = update.effective_message
    services = context.services
    if message is None:
        return
    if message.migrate_to_chat_id and message.chat_id == services.staff_chat_id:
        new_chat_id = message.migrate_to_chat_id
    elif (
        message.migrate_from_chat_id
        and message.migrate_from_chat_id == services.settings.staff_chat_id
    ):
        new_chat_id = message.chat_id
    else:
        return
    if new_chat_id == services.staff_chat_id:
        return  # both service messages of one migration arrive
    await services.cards.follow_migration(new_chat_id)
    # The group's menus belong to its old id.
    await menus.register(context.bot, services.settings, new_chat_id)


async def staff_group_only(update: Update, context: OpsbotContext) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    services = context.services
    if chat.type == Chat.PRIVATE:
        await staff_only_in_private(update, context)
        return
    if chat.id == services.staff_chat_id:
        message = update.effective_message
        if message is not None:
            # Ids the bot has seen are never taken for a card whose answer was lost.
            services.cards.known.saw(chat.id, message.message_id)
        user = update.effective_user
        if user is not None and not user.is_bot and user.id != ANONYMOUS_ADMIN_ID:
            async with services.sessionmaker.begin() as session:
                await see_user(session, user)
        return
    log.warning("leaving chat %s: it is not the staff group", chat.id)
    async with services.sessionmaker.begin() as session:
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


async def staff_only_in_private(update: Update, context: OpsbotContext) -> None:
    """In private, the bot talks only to members of the staff group (planned topics, duty
    rosters and the queue are the museum's internal business)."""
    user = update.effective_user
    services = context.services
    if user is None or await services.roles.role_of(services.staff_chat_id, user.id) is not None:
        return
    message = update.effective_message
    if message is not None:
        _ = await translator_for(context, user)
        await message.reply_text(_("This bot works for the museum's staff group only."))
    raise ApplicationHandlerStop


async def staff_membership(update: Update, context: OpsbotContext) -> None:
    """The bot was removed from the staff group or added back: the card queue checks at once."""
    change = update.my_chat_member
    if change is not None and change.chat.id == context.services.staff_chat_id:
        context.services.cards.staff_chat_changed()


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(
        ChatMemberHandler(staff_membership, ChatMemberHandler.MY_CHAT_MEMBER),
        group=GROUP_MEMBERSHIP,
    )
    application.add_handler(
        MessageHandler(filters.StatusUpdate.MIGRATE, follow_migration), group=GROUP_MIGRATION
    )
    application.add_handler(TypeHandler(Update, staff_group_only), group=GROUP_GUARD)
