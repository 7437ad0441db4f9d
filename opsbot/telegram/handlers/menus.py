"""The command menus Telegram shows: per place and role, in each language, most used first.

In the staff group, members (curators) see the curators' commands; its administrators and the
moderators of OPSBOT_MODERATOR_IDS see the moderators' commands too. Private chats get the
commands meant for them; anywhere else (the bot leaves other groups) only /help. Every menu is
registered in Russian and in English, and once more without a language, in the group's
language, for people whose app speaks neither. A menu only guides: handlers check roles.

Telegram picks the first menu set for the narrowest scope that fits the person (the Bot API's
"Determining list of commands"), so each scope here is complete on its own.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from enum import StrEnum

from telegram import (
    Bot,
    BotCommand,
    BotCommandScope,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeChatAdministrators,
    BotCommandScopeChatMember,
    BotCommandScopeDefault,
)
from telegram.error import TelegramError

from opsbot.i18n import SUPPORTED_LANGUAGES, translator
from opsbot.settings import Settings
from opsbot.telegram.commands import Command
from opsbot.telegram.handlers import (
    approvals,
    budget_report,
    curators,
    draws,
    partners,
    planning,
    priority,
    reports,
    salons,
)
from opsbot.telegram.handlers import settings as settings_handlers
from opsbot.telegram.roles import Role

log = logging.getLogger(__name__)

# The feature modules that declare commands.
SOURCES = (
    settings_handlers,
    curators,
    salons,
    draws,
    priority,
    reports,
    planning,
    budget_report,
    approvals,
    partners,
)
DEFAULT_COMMANDS = ("help",)


class Menu(StrEnum):
    MEMBERS = "members"
    MODERATORS = "moderators"
    PRIVATE = "private"
    DEFAULT = "default"


def all_commands() -> list[Command]:
    return [command for feature in SOURCES for command in feature.COMMANDS]


def commands_in(menu: Menu) -> list[Command]:
    """The commands `menu` offers, the most used first."""

    def offered(command: Command) -> bool:
        if menu == Menu.MEMBERS:
            return command.in_group and command.role == Role.CURATOR
        if menu == Menu.MODERATORS:
            return command.in_group
        if menu == Menu.PRIVATE:
            return command.in_private
        return command.name in DEFAULT_COMMANDS

    return sorted(filter(offered, all_commands()), key=lambda command: command.rank)


def bot_commands(menu: Menu, language: str) -> list[BotCommand]:
    _ = translator(language)
    return [BotCommand(c.name, _.plain(c.description)) for c in commands_in(menu)]


def scopes(staff_chat_id: int, moderator_ids: Iterable[int]) -> list[tuple[BotCommandScope, Menu]]:
    return [
        (BotCommandScopeDefault(), Menu.DEFAULT),
        (BotCommandScopeAllPrivateChats(), Menu.PRIVATE),
        (BotCommandScopeChat(staff_chat_id), Menu.MEMBERS),
        (BotCommandScopeChatAdministrators(staff_chat_id), Menu.MODERATORS),
        # Moderators who are not administrators. Someone later removed from the setting keeps
        # this menu until Telegram forgets it; the handlers refuse them all the same.
        *(
            (BotCommandScopeChatMember(staff_chat_id, user_id), Menu.MODERATORS)
            for user_id in moderator_ids
        ),
    ]


async def register(bot: Bot, settings: Settings, staff_chat_id: int) -> None:
    """Set every menu; a scope Telegram refuses is logged and the others still go through."""
    # Earlier versions offered every command in every group: take that menu away.
    for language in ("", *SUPPORTED_LANGUAGES):
        try:
            await bot.delete_my_commands(BotCommandScopeAllGroupChats(), language or None)
        except TelegramError as exc:
            log.warning("could not remove the old group menu: %s", exc)
    for scope, menu in scopes(staff_chat_id, settings.moderator_ids):
        try:
            await bot.set_my_commands(bot_commands(menu, settings.default_language), scope=scope)
            for language in SUPPORTED_LANGUAGES:
                await bot.set_my_commands(
                    bot_commands(menu, language), scope=scope, language_code=language
                )
        except TelegramError as exc:
            log.warning("could not register the %s command menu: %s", menu, exc)
