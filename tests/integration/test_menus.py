"""Telegram's command menus: curators see theirs, administrators the moderators' too, in the
person's language, the most used first; private chats get their own; elsewhere only /help."""

from __future__ import annotations

from typing import Any

import aiohttp
from telegram import (
    Bot,
    BotCommandScope,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeChatAdministrators,
    BotCommandScopeDefault,
)

from opsbot.emulators.sandbox import CURATOR_EN, CURATOR_RU, MODERATOR, STAFF_CHAT_ID, Sandbox
from opsbot.runtime import running
from opsbot.settings import Settings
from opsbot.telegram.context import OpsbotApplication

MODERATORS_ONLY = {
    "start_salon", "end_salon", "ask", "draw", "redraw", "entrants", "exclude", "include",
    "vip", "vips", "schedule", "unschedule", "reschedule", "duty", "autostart", "budget",
    "partner", "partners",
}  # fmt: skip
CURATORS = ["queue", "mine", "salon", "salons", "templates", "signature", "xhandle", "language",
            "help"]  # fmt: skip
PRIVATE = ["queue", "mine", "salon", "salons", "templates", "signature", "xhandle", "language",
           "help", "start"]  # fmt: skip
DESCRIPTIONS = {
    "ru": {
        "queue": "Неотвеченные вопросы: сначала приоритетные, затем старые",
        "draw": "Разыграть билеты",
    },
    "en": {
        "queue": "Unanswered questions: priority senders first, then the oldest",
        "draw": "Draw the tickets",
    },
}


async def menus_registered(sandbox: Sandbox, chat_id: int = STAFF_CHAT_ID) -> None:
    def done() -> bool:
        return (f"chat_administrators:{chat_id}", "en") in sandbox.telegram.commands

    done.__name__ = f"menus_registered_for_{chat_id}"
    await sandbox.telegram.wait_for(done)


async def seen_by(sandbox: Sandbox, chat_id: int, user_id: int) -> list[dict[str, str]]:
    """The menu a person's Telegram app shows, asked of the emulator over HTTP."""
    url = f"{sandbox.telegram.base_url}/control/menu?chat_id={chat_id}&user_id={user_id}"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        body = await response.json()
    assert body["ok"], body
    return body["result"]  # type: ignore[no-any-return]


async def asked(
    sandbox: Sandbox, settings: Settings, scope: BotCommandScope, language: str | None
) -> list[str]:
    """getMyCommands over HTTP, as any Bot API client would call it."""
    url = sandbox.telegram.base_url
    client = Bot(
        settings.telegram_token.get_secret_value(),
        base_url=f"{url}/bot",
        base_file_url=f"{url}/file/bot",
    )
    async with client:
        commands = await client.get_my_commands(scope=scope, language_code=language)
    return [c.command for c in commands]


def names(menu: list[dict[str, Any]]) -> list[str]:
    return [entry["command"] for entry in menu]


async def test_members_see_curators_commands_and_administrators_all(
    sandbox: Sandbox, settings: Settings, bot: OpsbotApplication
) -> None:
    await menus_registered(sandbox)
    for language in ("ru", "en"):
        members = await asked(sandbox, settings, BotCommandScopeChat(STAFF_CHAT_ID), language)
        assert members == CURATORS
        admins = await asked(
            sandbox, settings, BotCommandScopeChatAdministrators(STAFF_CHAT_ID), language
        )
        assert set(admins) >= MODERATORS_ONLY and set(CURATORS) <= set(admins)
        assert admins[:4] == ["start_salon", "end_salon", "ask", "draw"]
        assert await asked(sandbox, settings, BotCommandScopeAllPrivateChats(), language) == (
            PRIVATE
        )
        assert await asked(sandbox, settings, BotCommandScopeDefault(), language) == ["help"]
    # Without a language: the group's, for apps in any other language.
    assert await asked(sandbox, settings, BotCommandScopeChat(STAFF_CHAT_ID), None) == CURATORS
    assert await asked(sandbox, settings, BotCommandScopeAllGroupChats(), None) == []

    # What each person's app shows, in the person's language.
    boris = await seen_by(sandbox, STAFF_CHAT_ID, CURATOR_EN.user_id)
    vera = await seen_by(sandbox, STAFF_CHAT_ID, CURATOR_RU.user_id)
    anna = await seen_by(sandbox, STAFF_CHAT_ID, MODERATOR.user_id)
    assert names(boris) == names(vera) == CURATORS
    assert not MODERATORS_ONLY & set(names(boris))
    assert boris[0]["description"] == DESCRIPTIONS["en"]["queue"]
    assert vera[0]["description"] == DESCRIPTIONS["ru"]["queue"]
    assert set(names(anna)) >= MODERATORS_ONLY
    draw = next(entry for entry in anna if entry["command"] == "draw")
    assert draw["description"].startswith(DESCRIPTIONS["ru"]["draw"])
    private = await seen_by(sandbox, CURATOR_EN.user_id, CURATOR_EN.user_id)
    assert names(private) == PRIVATE
    assert private[0]["description"] == DESCRIPTIONS["en"]["queue"]


async def test_moderators_who_are_not_administrators_get_the_moderators_menu(
    sandbox: Sandbox, settings: Settings
) -> None:
    with_vera = settings.model_copy(update={"moderator_ids": [CURATOR_RU.user_id]})
    async with running(with_vera, poll_timeout=1):
        await menus_registered(sandbox)
        vera = await seen_by(sandbox, STAFF_CHAT_ID, CURATOR_RU.user_id)
        boris = await seen_by(sandbox, STAFF_CHAT_ID, CURATOR_EN.user_id)
    assert set(names(vera)) >= MODERATORS_ONLY
    assert vera[0]["description"].startswith("Открыть гостиную")
    assert not MODERATORS_ONLY & set(names(boris))


async def test_the_menus_follow_the_group_when_it_becomes_a_supergroup(
    sandbox: Sandbox, database_url: str
) -> None:
    basic = -4001
    telegram = sandbox.telegram
    telegram.add_group(basic, "Museum staff (basic)", supergroup=False)
    telegram.add_member(basic, MODERATOR.user_id, "creator")
    telegram.add_member(basic, CURATOR_EN.user_id, "member")
    telegram.add_bot_to_group(basic, MODERATOR.user_id, status="administrator")
    settings = sandbox.settings(database_url=database_url, staff_chat_id=basic)
    async with running(settings, poll_timeout=1):
        await menus_registered(sandbox, basic)
        new_id = telegram.migrate_group(basic)
        await menus_registered(sandbox, new_id)
        boris = await seen_by(sandbox, new_id, CURATOR_EN.user_id)
        anna = await seen_by(sandbox, new_id, MODERATOR.user_id)
    assert names(boris) == CURATORS
    assert set(names(anna)) >= MODERATORS_ONLY
