"""Bot API methods about the bot, its updates, chats, members, commands, topics and files.

Also the checks every method makes on its chat_id (`_bot_chat`): an unknown chat, a person who
never started the bot or blocked it, a group the bot left or was kicked from, a migrated group,
each answered with Telegram's status and description. getUpdates is a long poll that a newer
call ends with 409 Conflict, as on Telegram.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from typing import Any

from opsbot.emulators.telegram.limits import LONG_POLL_MAX_TIMEOUT, MAX_DOWNLOAD_BYTES
from opsbot.emulators.telegram.wire import (
    JSON,
    ApiError,
    _as_int,
    _bad,
    _obj_int,
    _obj_str,
    _Params,
)
from opsbot.emulators.telegram.world import (
    _RESTRICTED_RIGHTS,
    _TOPIC_COLOR,
    World,
    _Chat,
    _Member,
    _Poll,
)

_UPDATE_TYPES = frozenset(
    {
        "message", "edited_message", "channel_post", "edited_channel_post", "business_connection",
        "business_message", "edited_business_message", "deleted_business_messages",
        "message_reaction", "message_reaction_count", "inline_query", "chosen_inline_result",
        "callback_query", "shipping_query", "pre_checkout_query", "purchased_paid_media", "poll",
        "poll_answer", "my_chat_member", "chat_member", "chat_join_request", "chat_boost",
        "removed_chat_boost",
    }
)  # fmt: skip
_COMMAND_SCOPES = frozenset(
    {
        "default", "all_private_chats", "all_group_chats", "all_chat_administrators", "chat",
        "chat_administrators", "chat_member",
    }
)  # fmt: skip

CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)


class Methods(World):
    """getMe, webhooks and getUpdates; commands; chats, members and topics; files."""

    async def _get_me(self, params: _Params) -> JSON:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _delete_webhook(self, params: _Params) -> bool:
        if params.boolean("drop_pending_updates"):
            self._updates.clear()
            await self.notify()
        return True

    async def _get_webhook_info(self, params: _Params) -> JSON:
        return {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._live_updates()),
        }

    async def _get_updates(self, params: _Params) -> list[JSON]:
        offset = params.integer("offset") or 0
        limit = min(max(params.integer("limit") or 100, 1), 100)
        timeout = min(max(params.integer("timeout") or 0, 0), LONG_POLL_MAX_TIMEOUT)
        self._set_allowed_updates(params.raw("allowed_updates"))
        if offset > 0:
            self._updates = [u for u in self._updates if u.update_id >= offset]
        elif offset < 0:
            self._updates = self._live_updates()[offset:]
        ready = self._live_updates()[:limit]
        if ready or timeout == 0 or self._closing:
            return [self._update_json(u) for u in ready]

        # Only a request that is about to wait takes over: the one waiting before it is
        # answered with the conflict (telegram-bot-api's abort_long_poll).
        if self._poll is not None:
            self._poll.terminated = True
            self._poll.event.set()
        poll = _Poll()
        self._poll = poll
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while True:
                ready = self._live_updates()[:limit]
                if ready or poll.terminated or self._closing:
                    break
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                poll.event.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(poll.event.wait(), remaining)
            if poll.terminated:
                raise ApiError(409, CONFLICT)
            return [self._update_json(u) for u in ready]
        finally:
            if self._poll is poll:
                self._poll = None

    def _set_allowed_updates(self, raw: Any) -> None:
        """Telegram reads allowed_updates leniently: anything unreadable keeps the old setting."""
        if raw is None:
            return
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                return
        if not isinstance(raw, list) or not all(isinstance(a, str) for a in raw):
            return
        chosen = frozenset(a.lower() for a in raw) & _UPDATE_TYPES
        # An empty or all-unknown list means the default set.
        self._allowed_updates = chosen or None

    async def _set_my_commands(self, params: _Params) -> bool:
        commands = params.json_value("commands", "can't parse commands JSON object")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("BOT_COMMANDS_TOO_MUCH")
        parsed = []
        for item in commands:
            if not isinstance(item, dict):
                raise _bad("can't parse BotCommand: BotCommand should be an Object")
            command = _obj_str(item, "command", "can't parse BotCommand", required=True)
            description = _obj_str(item, "description", "can't parse BotCommand", required=True)
            assert command is not None and description is not None
            command = command.removeprefix("/")
            if not command:
                raise _bad("command must be non-empty")
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command):
                raise _bad("BOT_COMMAND_INVALID")
            if not description.strip():
                raise _bad("command description must be non-empty")
            if len(description) > 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
            parsed.append({"command": command, "description": description})
        key = self._commands_key(params)
        if parsed:
            self.commands[key] = parsed
        else:
            self.commands.pop(key, None)
        await self.notify()
        return True

    async def _get_my_commands(self, params: _Params) -> list[JSON]:
        return [dict(c) for c in self.commands.get(self._commands_key(params), [])]

    async def _delete_my_commands(self, params: _Params) -> bool:
        self.commands.pop(self._commands_key(params), None)
        await self.notify()
        return True

    async def _get_chat(self, params: _Params) -> JSON:
        chat = self._bot_chat(self._require_chat_id(params), for_info=True)
        info: JSON = {
            **self._chat_json(chat),
            "accent_color_id": abs(chat.id) % 7,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": chat.type == "private",
                "limited_gifts": chat.type == "private",
                "unique_gifts": chat.type == "private",
                "premium_subscription": chat.type == "private",
                "gifts_from_channels": chat.type == "private",
            },
        }
        if chat.type != "private":
            info["permissions"] = {right: True for right in _RESTRICTED_RIGHTS}
            info["permissions"]["can_manage_topics"] = False
            info["permissions"]["can_edit_tag"] = False
            if chat.type == "supergroup":
                info["has_visible_history"] = True
        return info

    async def _get_chat_member(self, params: _Params) -> JSON:
        raw_chat = self._require_chat_id(params)
        user_id = params.integer("user_id", error="invalid user_id specified")
        if user_id is None:
            raise _bad("invalid user_id specified")
        chat = self._bot_chat(raw_chat, for_info=True)
        if user_id not in self.users:
            raise _bad("member not found")
        if chat.type == "private":
            if user_id not in (chat.user_id, self.bot_id):
                raise _bad("member not found")
            return self._member_json(chat, user_id, _Member("member"))
        return self._member_json(chat, user_id, chat.members.get(user_id, _Member("left")))

    async def _get_chat_administrators(self, params: _Params) -> list[JSON]:
        chat = self._bot_chat(self._require_chat_id(params), for_info=True)
        if chat.type == "private":
            raise _bad("there are no administrators in the private chat")
        return_bots = params.boolean("return_bots")
        admins = []
        for user_id, member in chat.members.items():
            if member.status not in ("creator", "administrator"):
                continue
            if self.users[user_id]["is_bot"] and user_id != self.bot_id and not return_bots:
                continue
            admins.append(self._member_json(chat, user_id, member))
        return admins

    async def _leave_chat(self, params: _Params) -> bool:
        chat = self._bot_chat(self._require_chat_id(params))
        if chat.type == "private":
            raise _bad("chat member status can't be changed in private chats")
        old = chat.members[self.bot_id]
        new = _Member("left")
        chat.members[self.bot_id] = new
        self.left_chats.add(chat.id)
        self._queue_my_chat_member(chat, self.bot_id, old, new)
        await self.notify()
        return True

    async def _create_forum_topic(self, params: _Params) -> JSON:
        chat = self._bot_chat(self._require_chat_id(params))
        name = params.string("name") or ""
        icon_color = params.integer("icon_color") or _TOPIC_COLOR
        if chat.type != "supergroup" or not chat.is_forum:
            raise _bad("the chat is not a forum")
        bot = chat.members[self.bot_id]
        if not (
            bot.status == "creator"
            or (bot.status == "administrator" and bot.rights.get("can_manage_topics", False))
        ):
            raise _bad("not enough rights to create a topic")
        if not name.strip():
            raise _bad("TOPIC_TITLE_EMPTY")
        # tdlib trims a long title to 128 characters instead of failing.
        name = name.strip()[:128]
        thread_id = self._create_topic(chat, self.bot_id, name, icon_color)
        await self.notify()
        return {"message_thread_id": thread_id, "name": name, "icon_color": icon_color}

    async def _get_file(self, params: _Params) -> JSON:
        stored = self.files.get(params.string("file_id") or "")
        if stored is None:
            raise _bad("invalid file_id")
        if len(stored.content) > MAX_DOWNLOAD_BYTES:
            raise _bad("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }

    # --- validation helpers -----------------------------------------------------------------------

    def _require_chat_id(self, params: _Params) -> Any:
        value = params.raw("chat_id")
        if value is None:
            raise _bad("chat_id is empty")
        return value

    def _lookup_chat(self, raw: Any) -> _Chat:
        chat_id = _as_int(raw)
        if chat_id is None:
            # Covers "@username" too: no chat in the emulated world has a public username.
            raise _bad("chat not found")
        chat = self.chats.get(chat_id)
        if chat is None:
            user = self.users.get(chat_id)
            if user is not None and chat_id != self.bot_id:
                if user["is_bot"]:
                    raise ApiError(403, "Forbidden: bot can't send messages to bots")
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
            raise _bad("chat not found")
        if chat.migrated_to is not None:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        return chat

    def _bot_chat(self, raw: Any, *, for_info: bool = False) -> _Chat:
        """The chat, if the bot may act in it; Telegram's error otherwise."""
        chat = self._lookup_chat(raw)
        if chat.type == "private":
            if not chat.started and not for_info:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
            if chat.blocked and not for_info:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            return chat
        member = chat.members.get(self.bot_id)
        if member is None:
            raise _bad("chat not found")
        kind = "supergroup" if chat.type == "supergroup" else "group"
        if member.status == "kicked":
            raise ApiError(403, f"Forbidden: bot was kicked from the {kind} chat")
        if member.status == "left" or (
            member.status == "restricted" and not member.rights.get("is_member", True)
        ):
            raise ApiError(403, f"Forbidden: bot is not a member of the {kind} chat")
        return chat

    def _commands_key(self, params: _Params) -> tuple[str, str]:
        language = params.string("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise _bad("invalid language code specified")
        raw = params.json_value("scope", "can't parse BotCommandScope JSON object")
        if raw is None:
            return ("default", language)
        prefix = "can't parse BotCommandScope"
        if not isinstance(raw, dict):
            raise _bad("can't parse BotCommandScope JSON object")
        kind = _obj_str(raw, "type", prefix, required=True)
        if kind not in _COMMAND_SCOPES:
            raise _bad(f"{prefix}: Unsupported type specified")
        if kind in ("chat", "chat_administrators", "chat_member"):
            if raw.get("chat_id") is None:
                raise _bad(f'{prefix}: Can\'t find field "chat_id"')
            if kind == "chat_member":
                _obj_int(raw, "user_id", prefix, required=True)
            chat = self._bot_chat(raw["chat_id"], for_info=True)
            if kind == "chat_member":
                return (f"chat_member:{chat.id}:{raw['user_id']}", language)
            return (f"{kind}:{chat.id}", language)
        assert kind is not None
        return (kind, language)
