"""A local Telegram Bot API that the real python-telegram-bot talks to over HTTP.

It keeps a small world (users, groups, private chats, messages, forum topics) and answers
``/bot<token>/<method>`` as Telegram does, limits and errors included: a lenient emulator
would hide the bugs the tests are meant to find. Tests drive the people in that world through
the Python API (``add_user``, ``user_sends``, ``user_presses``, ``chat_view`` ...); the sandbox
and the demo drive it through the control API below, so a person can play the audience.

Control API
===========

Plain JSON over HTTP on the same port, no token. Every answer is
``{"ok": true, "result": ...}``, or ``{"ok": false, "description": "..."}`` with HTTP 400 when
the world refuses (an unknown user, a button that does not exist ...).

``POST /control/users``
    ``{"user_id": 42, "first_name": "Anna", "username": "anna", "last_name": null,
    "language_code": "ru", "is_bot": false}`` -> the Telegram ``User``.
``POST /control/groups``
    ``{"chat_id": -1001234567890, "title": "Staff", "supergroup": true, "forum": false}``
    -> the ``Chat``. The bot is not a member until added.
``POST /control/members``
    ``{"chat_id": -100..., "user_id": 42, "status": "member", "rights": {...}}`` sets a member
    quietly (statuses: creator, administrator, member, restricted, left, kicked). With the
    bot's id and ``"by_user_id": 42`` it adds the bot the way a person does, so the bot gets
    ``my_chat_member`` and a ``new_chat_members`` message -> ``{"chat_id", "user_id", "status"}``.
``POST /control/migrate``
    ``{"chat_id": -123}`` upgrades a basic group -> ``{"migrate_to_chat_id": -100...}``.
``POST /control/topics``
    ``{"chat_id": -100..., "name": "Questions", "by_user_id": 42}`` -> ``{"message_thread_id"}``.
``POST /control/topics/{close|reopen|delete}``
    ``{"chat_id": -100..., "message_thread_id": 7, "by_user_id": 42}`` -> ``true``, as a person
    does it (closing and reopening leave a service message in the topic). A closed topic takes
    messages only from the chat's creator and from administrators who may manage topics; anyone
    else, the bot too, gets ``400 TOPIC_CLOSED``. Deleting a topic deletes its messages with it;
    sending there then fails with ``message thread not found``.
``POST /control/messages``
    ``{"chat_id": -100... | user_id for a private chat, "user_id": 42, "text": "...",
    "reply_to_message_id": 7, "message_thread_id": null}`` -> the ``Message`` the bot receives.
``POST /control/press``
    ``{"chat_id": ..., "user_id": 42, "message_id": 7, "callback_data": "v1:take:3",
    "forge": false}`` -> ``{"query_id": "..."}``.
``POST /control/faults``
    a Fault: ``{"endpoint": "sendMessage", "status": 429, "retry_after": 3, "count": 1,
    "delay": 0, "description": null, "accept": false}`` -> ``true``.
``DELETE /control/faults``
    drops every pending fault -> ``true``.
``GET /control/chats/{chat_id}?thread_id=&include_deleted=1``
    the chat as a person sees it (``chat_view``); a document's bytes come as
    ``document.content_base64``.
``GET /control/menu?chat_id=&user_id=``
    the command menu that person sees in that chat (``menu_for``; a private chat's id is the
    user's) -> ``[{"command", "description"}]``.
``GET /control/requests``
    every Bot API call: ``[{"at", "endpoint", "params", "status"}]``.
``GET /control/state``
    ``{"violations", "callback_answers", "commands", "left_chats", "pending_updates"}``.

Bot API as served
=================

``GET|POST /bot<token>/<method>`` with parameters in the query string, a JSON body, a form or
multipart (nested objects as JSON strings, as python-telegram-bot sends them); method names are
case-insensitive. ``GET /file/bot<token>/<file_path>`` serves uploaded files (see ``getFile``).
Methods: getMe, deleteWebhook, getWebhookInfo, getUpdates, sendMessage, sendDocument,
editMessageText, editMessageReplyMarkup, deleteMessage, answerCallbackQuery, setMyCommands,
getMyCommands, deleteMyCommands, getChat, getChatMember, getChatAdministrators, leaveChat,
createForumTopic, getFile. Any other method answers 404 ``Not Found``, which PTB reports as
``InvalidToken`` or ``EndPointNotFound``: the emulator does not pretend to support what it does
not.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import logging
import math
import mimetypes
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from aiohttp import web

from opsbot.emulators import telegram_html as th
from opsbot.emulators.base import EmulatorServer, Fault, LoggedRequest

JSON = dict[str, Any]
log = logging.getLogger(__name__)

# Text limits count code points of the parsed, trimmed text, as tdlib's utf8_length does: an
# emoji outside the BMP is one character here though it takes two UTF-16 units in offsets.
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_BUTTONS = 100
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
MESSAGE_EDIT_WINDOW = 48 * 3600
PENDING_UPDATE_TTL = 24 * 3600
CALLBACK_UPDATE_TTL = 150  # telegram-bot-api drops an unfetched callback query sooner
LONG_POLL_MAX_TIMEOUT = 50

# Methods that post or change messages: Telegram's flood control counts these.
COUNTED_METHODS = frozenset(
    {"sendMessage", "sendDocument", "editMessageText", "editMessageReplyMarkup"}
)
# Without allowed_updates Telegram sends everything except these.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
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

MEMBER_STATUSES = ("creator", "administrator", "member", "restricted", "left", "kicked")
_ACTIVE_STATUSES = frozenset({"creator", "administrator", "member", "restricted"})
_ADMIN_RIGHTS = (
    "can_manage_chat", "can_delete_messages", "can_manage_video_chats", "can_restrict_members",
    "can_promote_members", "can_change_info", "can_invite_users", "can_post_stories",
    "can_edit_stories", "can_delete_stories",
)  # fmt: skip
_SUPERGROUP_ADMIN_RIGHTS = ("can_pin_messages", "can_manage_topics")
_RESTRICTED_RIGHTS = (
    "can_send_messages", "can_send_audios", "can_send_documents", "can_send_photos",
    "can_send_videos", "can_send_video_notes", "can_send_voice_notes", "can_send_polls",
    "can_send_other_messages", "can_add_web_page_previews", "can_react_to_messages",
    "can_edit_tag", "can_change_info", "can_invite_users", "can_pin_messages",
    "can_manage_topics",
)  # fmt: skip
_BUTTON_ACTIONS = (
    "url", "callback_data", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "callback_game",
    "pay", "web_app", "copy_text",
)  # fmt: skip
_COMMAND_SCOPES = frozenset(
    {
        "default", "all_private_chats", "all_group_chats", "all_chat_administrators", "chat",
        "chat_administrators", "chat_member",
    }
)  # fmt: skip
_TOPIC_COLOR = 0x6FB9F0

CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


class ApiError(Exception):
    """A Bot API failure: HTTP status, Telegram's description, optional ResponseParameters."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def _tdlib_message(message: str) -> str:
    # The Bot API lowercases tdlib's first letter unless the message is an UPPER_CASE code.
    if len(message) >= 2 and (message[1] == "_" or message[1].isupper()):
        return message
    return message[:1].lower() + message[1:]


@dataclass
class _Upload:
    filename: str
    content_type: str
    content: bytes


@dataclass
class _File:
    file_id: str
    file_unique_id: str
    file_name: str
    mime_type: str
    content: bytes
    file_path: str


@dataclass
class _Member:
    status: str
    rights: dict[str, bool] = field(default_factory=dict)
    until_date: int = 0


@dataclass
class _Message:
    message_id: int
    chat_id: int
    from_id: int
    date: int
    text: str | None = None
    entities: list[JSON] = field(default_factory=list)
    caption: str | None = None
    caption_entities: list[JSON] = field(default_factory=list)
    document: _File | None = None
    reply_markup: JSON | None = None
    reply_to: int | None = None
    thread_id: int | None = None
    is_topic_message: bool = False
    edit_date: int | None = None
    edit_history: list[str] = field(default_factory=list)
    deleted: bool = False
    service: JSON = field(default_factory=dict)
    link_preview_options: JSON | None = None


@dataclass
class _Topic:
    name: str
    icon_color: int
    created_by: int
    closed: bool = False


@dataclass
class _Chat:
    id: int
    type: str
    title: str | None = None
    is_forum: bool = False
    user_id: int | None = None
    members: dict[int, _Member] = field(default_factory=dict)
    messages: dict[int, _Message] = field(default_factory=dict)
    next_message_id: int = 1
    migrated_to: int | None = None
    started: bool = False
    blocked: bool = False
    topics: dict[int, _Topic] = field(default_factory=dict)


@dataclass
class _Query:
    id: str
    chat_id: int
    message_id: int
    user_id: int
    data: str
    created_at: float
    answered: bool = False


@dataclass
class _Update:
    update_id: int
    kind: str
    payload: JSON
    expires_at: float


class _Poll:
    """One pending getUpdates; a newer one terminates it, as on Telegram."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.terminated = False


class _Params:
    """Request parameters as Telegram reads them: strings from forms, native values from JSON."""

    def __init__(self, values: dict[str, Any], files: dict[str, _Upload]) -> None:
        self.values = values
        self.files = files

    def raw(self, name: str) -> Any:
        value = self.values.get(name)
        return None if value is None or value == "" else value

    def has(self, name: str) -> bool:
        return self.raw(name) is not None

    def string(self, name: str) -> str | None:
        value = self.raw(name)
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return str(value)
        if isinstance(value, str):
            return value
        return json.dumps(value)

    def integer(self, name: str, *, error: str | None = None) -> int | None:
        value = self.raw(name)
        if value is None:
            return None
        parsed = _as_int(value)
        if parsed is None:
            raise _bad(error or f"invalid {name} specified")
        return parsed

    def boolean(self, name: str) -> bool:
        # Top-level flags are read leniently: only "true"/"1" mean yes.
        value = self.raw(name)
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)):
            return value == 1
        return isinstance(value, str) and value.lower() in ("true", "1")

    def json_value(self, name: str, error: str) -> Any:
        value = self.raw(name)
        if value is None or not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise _bad(error) from None


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d{1,20}\s*", value):
        return int(value)
    return None


def _field_error(prefix: str, message: str) -> ApiError:
    # Inside a named object Telegram keeps tdlib's capital ("Can't find field"); a top-level
    # field's message is lowercased like any other.
    if prefix:
        return _bad(f"{prefix}: {message}")
    return _bad(_tdlib_message(message))


def _obj_bool(obj: JSON, name: str, prefix: str = "") -> bool | None:
    if name not in obj or obj[name] is None:
        return None
    if not isinstance(obj[name], bool):
        raise _field_error(prefix, f'Field "{name}" must be of type Boolean')
    return bool(obj[name])


def _obj_str(obj: JSON, name: str, prefix: str = "", *, required: bool = False) -> str | None:
    if name not in obj or obj[name] is None:
        if required:
            raise _field_error(prefix, f'Can\'t find field "{name}"')
        return None
    if not isinstance(obj[name], str):
        raise _field_error(prefix, f'Field "{name}" must be of type String')
    return str(obj[name])


def _obj_int(obj: JSON, name: str, prefix: str = "", *, required: bool = False) -> int | None:
    if name not in obj or obj[name] is None:
        if required:
            raise _field_error(prefix, f'Can\'t find field "{name}"')
        return None
    value = _as_int(obj[name])
    if value is None:
        raise _field_error(prefix, f'Field "{name}" must be a valid Number')
    return value


Handler = Callable[[_Params], Awaitable[Any]]


class TelegramEmulator(EmulatorServer):
    """The Telegram Bot API and the people around the bot, in one process.

    `group_limit` and `global_limit` are (messages, seconds) sliding windows for sendMessage,
    sendDocument, editMessageText and editMessageReplyMarkup: per group chat, and over all
    chats. `callback_timeout` is how long a callback query may wait for its answer.
    `privacy_mode` (on by default, as for a new bot) lets a bot that is a plain member of a
    group see only commands, replies to its messages and service messages; an administrator
    sees everything. `clock` drives dates, windows and timeouts, so tests can move time.
    """

    def __init__(
        self,
        *,
        token: str,
        bot_id: int = 7000000001,
        bot_username: str = "opsbot_test_bot",
        bot_first_name: str = "Opsbot",
        group_limit: tuple[int, float] = (20, 60.0),
        global_limit: tuple[int, float] = (30, 1.0),
        callback_timeout: float = 15.0,
        privacy_mode: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(clock=clock)
        self._token = token
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.group_limit = group_limit
        self.global_limit = global_limit
        self.callback_timeout = callback_timeout
        self.privacy_mode = privacy_mode

        self.users: dict[int, JSON] = {}
        self.chats: dict[int, _Chat] = {}
        self.files: dict[str, _File] = {}
        self.callback_queries: dict[str, _Query] = {}
        self.callback_answers: dict[str, JSON] = {}
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.violations: list[str] = []
        self.left_chats: set[int] = set()

        self._updates: list[_Update] = []
        self._next_update_id = 100_000_001
        self._allowed_updates: frozenset[str] | None = None
        self._poll: _Poll | None = None
        self._closing = False
        self._windows: dict[int | None, deque[float]] = {}
        self._penalties: dict[int | None, float] = {}
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()

        self.bot_user: JSON = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.users[bot_id] = self.bot_user

        self._methods: dict[str, tuple[str, Handler]] = {}
        for name, handler in (
            ("getMe", self._get_me),
            ("deleteWebhook", self._delete_webhook),
            ("getWebhookInfo", self._get_webhook_info),
            ("getUpdates", self._get_updates),
            ("sendMessage", self._send_message),
            ("sendDocument", self._send_document),
            ("editMessageText", self._edit_message_text),
            ("editMessageReplyMarkup", self._edit_message_reply_markup),
            ("deleteMessage", self._delete_message),
            ("answerCallbackQuery", self._answer_callback_query),
            ("setMyCommands", self._set_my_commands),
            ("getMyCommands", self._get_my_commands),
            ("deleteMyCommands", self._delete_my_commands),
            ("getChat", self._get_chat),
            ("getChatMember", self._get_chat_member),
            ("getChatAdministrators", self._get_chat_administrators),
            ("leaveChat", self._leave_chat),
            ("createForumTopic", self._create_forum_topic),
            ("getFile", self._get_file),
        ):
            self._methods[name.lower()] = (name, handler)

        router = self.app.router
        router.add_route("*", r"/bot{token}/{method}", self._serve_api)
        router.add_get(r"/file/bot{token}/{path:.+}", self._serve_file)
        router.add_post("/control/users", self._control_users)
        router.add_post("/control/groups", self._control_groups)
        router.add_post("/control/members", self._control_members)
        router.add_post("/control/migrate", self._control_migrate)
        router.add_post("/control/topics", self._control_topics)
        router.add_post(r"/control/topics/{action:close|reopen|delete}", self._control_topic)
        router.add_post("/control/messages", self._control_messages)
        router.add_post("/control/press", self._control_press)
        router.add_post("/control/faults", self._control_add_fault)
        router.add_delete("/control/faults", self._control_clear_faults)
        router.add_get(r"/control/chats/{chat_id}", self._control_chat)
        router.add_get("/control/menu", self._control_menu)
        router.add_get("/control/requests", self._control_requests)
        router.add_get("/control/state", self._control_state)

    def __repr__(self) -> str:
        # The token must never surface in logs or tracebacks.
        return f"TelegramEmulator(bot=@{self.bot_username}, chats={len(self.chats)})"

    async def stop(self) -> None:
        # A pending long poll would hold the server's shutdown for its whole timeout.
        self._closing = True
        if self._poll is not None:
            self._poll.event.set()
        await super().stop()

    # --- the world, for tests -----------------------------------------------------------------

    def add_user(
        self,
        user_id: int,
        first_name: str,
        *,
        username: str | None = None,
        last_name: str | None = None,
        language_code: str | None = "ru",
        is_bot: bool = False,
    ) -> JSON:
        if user_id <= 0:
            raise ValueError("a user id is a positive integer")
        if user_id == self.bot_id:
            raise ValueError("that id is the bot's own")
        user: JSON = {"id": user_id, "is_bot": is_bot, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code and not is_bot:
            user["language_code"] = language_code
        self.users[user_id] = user
        self._touch()
        return dict(user)

    def add_group(
        self, chat_id: int, title: str, *, supergroup: bool = True, forum: bool = False
    ) -> JSON:
        if chat_id >= 0:
            raise ValueError("a group id is negative")
        if supergroup and not str(chat_id).startswith("-100"):
            raise ValueError("a supergroup id looks like -100xxxxxxxxxx")
        if not supergroup and str(chat_id).startswith("-100"):
            raise ValueError("a basic group id does not start with -100")
        if forum and not supergroup:
            raise ValueError("only a supergroup can be a forum")
        if chat_id in self.chats:
            raise ValueError(f"chat {chat_id} exists")
        chat = _Chat(id=chat_id, type="supergroup" if supergroup else "group", title=title,
                     is_forum=forum)  # fmt: skip
        self.chats[chat_id] = chat
        self._touch()
        return self._chat_json(chat)

    def add_member(
        self,
        chat_id: int,
        user_id: int,
        status: str = "member",
        *,
        rights: dict[str, bool] | None = None,
    ) -> None:
        """Set a member's status quietly, as if it had always been so (no update is sent)."""
        chat = self._group(chat_id)
        self._user(user_id)
        if status not in MEMBER_STATUSES:
            raise ValueError(f"status must be one of {', '.join(MEMBER_STATUSES)}")
        chat.members[user_id] = self._member(chat, status, rights)
        if user_id == self.bot_id and status in _ACTIVE_STATUSES:
            self.left_chats.discard(chat_id)
        self._touch()

    def add_bot_to_group(
        self, chat_id: int, by_user_id: int, *, status: str = "administrator"
    ) -> JSON:
        """A person adds the bot: my_chat_member, then the new_chat_members service message."""
        chat = self._group(chat_id)
        adder = self._active_member(chat, by_user_id)
        if status not in ("administrator", "member"):
            raise ValueError("a bot joins as administrator or member")
        if adder.status not in ("creator", "administrator") and status == "administrator":
            raise ValueError("only an administrator can add the bot as an administrator")
        old = chat.members.get(self.bot_id, _Member("left"))
        new = self._member(chat, status, None)
        chat.members[self.bot_id] = new
        self.left_chats.discard(chat_id)
        self._queue_my_chat_member(chat, by_user_id, old, new)
        message = self._store(chat, by_user_id, service={"new_chat_members": [self.bot_user]})
        self._queue("message", self._message_json(message))
        return self._chat_json(chat)

    def remove_bot_from_group(self, chat_id: int, by_user_id: int, *, ban: bool = True) -> None:
        """A person removes the bot (kicked, or left when `ban` is false)."""
        chat = self._group(chat_id)
        self._active_member(chat, by_user_id)
        old = chat.members.get(self.bot_id, _Member("left"))
        new = _Member("kicked" if ban else "left")
        chat.members[self.bot_id] = new
        self._queue_my_chat_member(chat, by_user_id, old, new)
        self._touch()

    def change_member(self, chat_id: int, user_id: int, status: str, *, by_user_id: int) -> None:
        """An administrator removes, bans, restores or promotes a person.

        As on Telegram, an administrator bot that asked for ``chat_member`` updates hears of it.
        """
        chat = self._group(chat_id)
        self._user(user_id)
        self._active_member(chat, by_user_id)
        if status not in MEMBER_STATUSES:
            raise ValueError(f"status must be one of {', '.join(MEMBER_STATUSES)}")
        old = chat.members.get(user_id, _Member("left"))
        new = self._member(chat, status, None)
        chat.members[user_id] = new
        bot = chat.members.get(self.bot_id)
        if bot is not None and bot.status == "administrator":
            self._queue(
                "chat_member",
                {
                    "chat": self._chat_json(chat),
                    "from": dict(self.users[by_user_id]),
                    "date": int(self.clock()),
                    "old_chat_member": self._member_json(chat, user_id, old),
                    "new_chat_member": self._member_json(chat, user_id, new),
                },
            )
        self._touch()

    def user_blocks_bot(self, user_id: int) -> None:
        chat = self.chats.get(user_id)
        if chat is None:
            raise ValueError("the user has no private chat with the bot")
        chat.blocked = True
        self._queue_my_chat_member(chat, user_id, _Member("member"), _Member("kicked"))

    def migrate_group(self, chat_id: int, *, by_user_id: int | None = None) -> int:
        """Upgrade a basic group to a supergroup; returns the new id."""
        old = self._group(chat_id)
        if old.type != "group":
            raise ValueError("only a basic group can be upgraded")
        if old.migrated_to is not None:
            raise ValueError("the group was upgraded already")
        actor = by_user_id
        if actor is None:
            actor = next((u for u, m in old.members.items() if m.status == "creator"), None)
        if actor is None:
            raise ValueError("who upgrades the group? pass by_user_id or add a creator")
        new_id = -(10**12 + abs(chat_id))
        new = _Chat(id=new_id, type="supergroup", title=old.title)
        for user_id, member in old.members.items():
            new.members[user_id] = self._member(new, member.status, dict(member.rights))
        self.chats[new_id] = new
        old.migrated_to = new_id
        bot_in = old.members.get(self.bot_id, _Member("left")).status in _ACTIVE_STATUSES
        note = self._store(old, actor, service={"migrate_to_chat_id": new_id})
        if bot_in:
            self._queue("message", self._message_json(note))
        note = self._store(new, actor, service={"migrate_from_chat_id": chat_id})
        if bot_in:
            self._queue("message", self._message_json(note))
        self._touch()
        return new_id

    def add_topic(self, chat_id: int, name: str, *, by_user_id: int) -> int:
        """A person creates a forum topic; returns its message_thread_id."""
        chat = self._group(chat_id)
        self._active_member(chat, by_user_id)
        if not chat.is_forum:
            raise ValueError("the chat is not a forum")
        return self._create_topic(chat, by_user_id, name, _TOPIC_COLOR)

    def close_topic(self, chat_id: int, thread_id: int, *, by_user_id: int) -> None:
        """A person closes a forum topic: only those who may manage topics write there now."""
        self._toggle_topic(chat_id, thread_id, by_user_id, closed=True)

    def reopen_topic(self, chat_id: int, thread_id: int, *, by_user_id: int) -> None:
        self._toggle_topic(chat_id, thread_id, by_user_id, closed=False)

    def delete_topic(self, chat_id: int, thread_id: int, *, by_user_id: int) -> None:
        """A person deletes a forum topic, and every message in it with the topic."""
        chat = self._group(chat_id)
        self._topic_manager(chat, thread_id, by_user_id)
        del chat.topics[thread_id]
        for message in chat.messages.values():
            if message.thread_id == thread_id:
                message.deleted = True
        self._touch()

    def _toggle_topic(self, chat_id: int, thread_id: int, by_user_id: int, *, closed: bool) -> None:
        chat = self._group(chat_id)
        topic = self._topic_manager(chat, thread_id, by_user_id)
        if topic.closed == closed:
            raise ValueError("TOPIC_NOT_MODIFIED")
        topic.closed = closed
        kind = "forum_topic_closed" if closed else "forum_topic_reopened"
        note = self._store(chat, by_user_id, service={kind: {}}, thread_id=thread_id,
                           is_topic=True)  # fmt: skip
        if self._bot_receives(chat, note):
            self._queue("message", self._message_json(note))
        else:
            self._touch()

    def _topic_manager(self, chat: _Chat, thread_id: int, user_id: int) -> _Topic:
        """The topic, if `user_id` may close or delete it (its creator or a topic manager)."""
        topic = chat.topics.get(thread_id)
        if topic is None:
            raise ValueError(f"no topic {thread_id} in chat {chat.id}")
        if user_id != topic.created_by and not self._manages_topics(chat, user_id):
            raise ValueError(f"user {user_id} may not manage topics in chat {chat.id}")
        return topic

    def _manages_topics(self, chat: _Chat, user_id: int) -> bool:
        member = chat.members.get(user_id)
        return member is not None and (
            member.status == "creator"
            or (member.status == "administrator" and member.rights.get("can_manage_topics", False))
        )

    def user_sends(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
    ) -> JSON:
        """A person posts a text message; returns the Message (as the bot would receive it)."""
        user = self._user(user_id)
        if user["is_bot"]:
            raise ValueError("bots do not type messages")
        if chat_id == user_id:
            chat = self._private_chat(user_id)
            chat.started = True
            chat.blocked = False
        else:
            chat = self._group(chat_id)
            if chat.migrated_to is not None:
                raise ValueError(f"the group moved to {chat.migrated_to}")
            member = self._active_member(chat, user_id)
            if member.status == "restricted" and not member.rights.get("can_send_messages"):
                raise ValueError("the user may not send messages here")
        plain, entities = th.normalize(text, [])
        if len(plain) > MAX_TEXT_LENGTH:
            raise ValueError("a client splits messages longer than 4096 characters")
        thread_id, is_topic = self._thread_for(chat, reply_to_message_id, message_thread_id)
        if self._topic_closed_to(chat, thread_id, user_id):
            raise ValueError("the topic is closed")
        message = self._store(
            chat, user_id, text=plain, entities=entities, reply_to=reply_to_message_id,
            thread_id=thread_id, is_topic=is_topic,
        )  # fmt: skip
        api = self._message_json(message)
        if self._bot_receives(chat, message):
            self._queue("message", api)
        else:
            self._touch()
        return api

    def user_presses(
        self,
        chat_id: int,
        user_id: int,
        message_id: int,
        callback_data: str,
        *,
        forge: bool = False,
    ) -> str:
        """A person presses an inline button; returns the callback query id."""
        self._user(user_id)
        chat = self.chats.get(chat_id)
        if chat is None:
            raise ValueError(f"no chat {chat_id}")
        # A modified client can send any data for any message, even from outside the chat;
        # only Telegram's own checks (the chat and the user exist) still apply.
        if not forge:
            if chat.type != "private":
                self._active_member(chat, user_id)
            elif chat.user_id != user_id:
                raise ValueError("a private chat is seen only by its user")
        message = chat.messages.get(message_id)
        if not forge:
            if message is None or message.deleted:
                raise ValueError(f"no message {message_id} in chat {chat_id}")
            buttons = (message.reply_markup or {}).get("inline_keyboard", [])
            datas = [b.get("callback_data") for row in buttons for b in row]
            if callback_data not in datas:
                raise ValueError(
                    f"message {message_id} has no button with callback_data {callback_data!r}"
                )
        query_id = str(4_000_000_000_000_000 + next(self._ids) * 7919)
        self.callback_queries[query_id] = _Query(
            id=query_id, chat_id=chat_id, message_id=message_id, user_id=user_id,
            data=callback_data, created_at=self.clock(),
        )  # fmt: skip
        payload: JSON = {
            "id": query_id,
            "from": dict(self.users[user_id]),
            "chat_instance": str(abs(chat_id * 1_000_003 + 17) % 10**19),
            "data": callback_data,
        }
        if message is not None and not message.deleted:
            payload["message"] = self._message_json(message)
        else:
            payload["message"] = {"chat": self._chat_json(chat), "message_id": message_id,
                                  "date": 0}  # fmt: skip
        self._queue("callback_query", payload)
        return query_id

    def menu_for(self, chat_id: int, user_id: int) -> list[JSON]:
        """The command menu a person's app shows in a chat: the first list set along the Bot
        API's "Determining list of commands", for the person's app language."""
        user = self._user(user_id)
        language = str(user.get("language_code") or "").split("-")[0].lower()
        chat = self.chats.get(chat_id)
        if chat_id == user_id:
            keys = [f"chat:{chat_id}", "all_private_chats"]
        elif chat is not None and chat.type != "private":
            member = chat.members.get(user_id)
            admin = member is not None and member.status in ("creator", "administrator")
            keys = [
                f"chat_member:{chat_id}:{user_id}",
                *([f"chat_administrators:{chat_id}"] if admin else []),
                f"chat:{chat_id}",
                *(["all_chat_administrators"] if admin else []),
                "all_group_chats",
            ]
        else:
            raise ValueError(f"no chat {chat_id}")
        codes = [language, ""] if language else [""]
        for key in [*keys, "default"]:
            for code in codes:
                found = self.commands.get((key, code))
                if found:
                    return [dict(c) for c in found]
        return []

    def chat_view(
        self, chat_id: int, *, thread_id: int | None = None, include_deleted: bool = False
    ) -> list[JSON]:
        """The chat as a person sees it, oldest first.

        Each entry: message_id, from, date, text (the visible text: a caption for a document,
        what a client writes for a service message, never None), entities, html (the text
        rendered back to Telegram HTML), reply_markup (as sent, ForceReply included),
        reply_to_message_id, message_thread_id, edited, edit_history (earlier texts), deleted,
        document ({filename, mime_type, size, content}) and service (the raw service fields).
        """
        chat = self.chats.get(chat_id)
        if chat is None:
            raise ValueError(f"no chat {chat_id}")
        view = []
        for message in sorted(chat.messages.values(), key=lambda m: m.message_id):
            if message.deleted and not include_deleted:
                continue
            if thread_id is not None and message.thread_id != thread_id:
                continue
            if message.service:
                text, entities = self._service_text(message), []
            elif message.text is not None:
                text, entities = message.text, message.entities
            else:
                text, entities = message.caption or "", message.caption_entities
            document = None
            if message.document is not None:
                document = {
                    "filename": message.document.file_name,
                    "mime_type": message.document.mime_type,
                    "size": len(message.document.content),
                    "content": message.document.content,
                }
            view.append(
                {
                    "message_id": message.message_id,
                    "from": dict(self.users[message.from_id]),
                    "date": message.date,
                    "text": text,
                    "entities": [dict(e) for e in entities],
                    "html": th.entities_to_html(text, entities),
                    "reply_markup": message.reply_markup,
                    "reply_to_message_id": message.reply_to,
                    "message_thread_id": message.thread_id,
                    "edited": message.edit_date is not None,
                    "edit_history": list(message.edit_history),
                    "deleted": message.deleted,
                    "document": document,
                    "service": dict(message.service) or None,
                }
            )
        return view

    def _service_text(self, message: _Message) -> str:
        """What a Telegram client writes in place of a service message."""
        actor = self.users[message.from_id]["first_name"]
        service = message.service
        if "new_chat_members" in service:
            names = ", ".join(u["first_name"] for u in service["new_chat_members"])
            return f"{actor} added {names}"
        if "left_chat_member" in service:
            return f"{actor} removed {service['left_chat_member']['first_name']}"
        if "migrate_to_chat_id" in service:
            return "The group was upgraded to a supergroup"
        if "migrate_from_chat_id" in service:
            return f"{actor} upgraded the group to a supergroup"
        if "forum_topic_created" in service:
            return f"{actor} created the topic «{service['forum_topic_created']['name']}»"
        if "forum_topic_closed" in service:
            return f"{actor} closed the topic"
        if "forum_topic_reopened" in service:
            return f"{actor} reopened the topic"
        return ""

    def pending_updates(self) -> list[JSON]:
        """Updates Telegram holds for the bot, not yet confirmed by an offset."""
        return [self._update_json(u) for u in self._live_updates()]

    # --- HTTP: the Bot API ----------------------------------------------------------------------

    async def _serve_api(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        name = request.match_info["method"]
        entry = self._methods.get(name.lower())
        endpoint = entry[0] if entry else name
        if token != self._token:
            if re.fullmatch(r"\d+:[\w-]+", token):
                return self._reply(ApiError(401, "Unauthorized"), endpoint, {})
            return self._reply(ApiError(404, "Not Found"), endpoint, {})
        try:
            params = await self._read_params(request)
        except ApiError as error:
            return self._reply(error, endpoint, {})
        logged = LoggedRequest(at=self.clock(), endpoint=endpoint, params=_loggable(params))
        self.requests.append(logged)
        if entry is None:
            return self._finish(logged, ApiError(404, "Not Found"))
        canonical, handler = entry
        if canonical in COUNTED_METHODS:
            try:
                self._check_penalty(canonical, params.raw("chat_id"))
            except ApiError as error:
                return self._finish(logged, error)

        fault = self.faults.take(canonical)
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.status and not fault.accept:
            return self._finish(logged, self._fault_error(fault, canonical))
        try:
            result = await handler(params)
        except ApiError as error:
            return self._finish(logged, error)
        except Exception:
            # The bot sees what Telegram shows when it breaks; the traceback names the method
            # only, never the URL, which carries the token.
            log.exception("the Telegram emulator failed on %s", canonical)
            return self._finish(logged, ApiError(500, "Internal Server Error"))
        if fault is not None and fault.status:
            return self._finish(logged, self._fault_error(fault, canonical))
        return self._finish(logged, result)

    def _finish(self, logged: LoggedRequest, outcome: Any) -> web.StreamResponse:
        response = self._reply(outcome, logged.endpoint, logged.params)
        logged.status = response.status
        return response

    def _reply(self, outcome: Any, endpoint: str, params: JSON) -> web.StreamResponse:
        if isinstance(outcome, web.StreamResponse):
            return outcome
        if isinstance(outcome, ApiError):
            body: JSON = {
                "ok": False,
                "error_code": outcome.status,
                "description": outcome.description,
            }
            if outcome.parameters:
                body["parameters"] = outcome.parameters
            return web.json_response(body, status=outcome.status, dumps=_dumps)
        return web.json_response({"ok": True, "result": outcome}, dumps=_dumps)

    def _fault_error(self, fault: Fault, method: str) -> ApiError | web.Response:
        status = fault.status
        if status == 429:
            retry_after = max(1, int(fault.retry_after or 1))
            if method in COUNTED_METHODS:
                # A real 429 binds the whole bot: later counted calls are violations too.
                until = self.clock() + retry_after
                self._penalties[None] = max(self._penalties.get(None, 0.0), until)
            return ApiError(
                429,
                fault.description or f"Too Many Requests: retry after {retry_after}",
                {"retry_after": retry_after},
            )
        if status in (502, 503, 504) and not fault.description:
            # Telegram's front end answers these with an nginx page, not JSON.
            phrase = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Time-out"}
            html = (
                f"<html>\r\n<head><title>{status} {phrase[status]}</title></head>\r\n<body>\r\n"
                f"<center><h1>{status} {phrase[status]}</h1></center>\r\n"
                "<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n"
            )
            return web.Response(status=status, text=html, content_type="text/html")
        default = {
            400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            409: "Conflict", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable", 504: "Gateway Timeout",
        }  # fmt: skip
        description = fault.description or default.get(status, "Error")
        parameters = {"retry_after": fault.retry_after} if fault.retry_after else None
        return ApiError(status, description, parameters)

    async def _read_params(self, request: web.Request) -> _Params:
        values: dict[str, Any] = dict(request.query)
        files: dict[str, _Upload] = {}
        if request.method == "POST" and request.can_read_body:
            content_type = request.content_type
            if content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise _bad("can't parse JSON encoded request") from None
                if not isinstance(body, dict):
                    raise _bad("can't parse JSON encoded request")
                values.update(body)
            elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                try:
                    form = await request.post()
                except web.HTTPRequestEntityTooLarge:
                    raise ApiError(413, "Request Entity Too Large") from None
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        content = value.file.read()
                        files[key] = _Upload(value.filename, value.content_type, content)
                        values[key] = f"attach://{key}"
                    else:
                        values[key] = value
        return _Params(values, files)

    async def _serve_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self._token:
            return web.Response(status=404, text="Not Found")
        path = request.match_info["path"]
        for stored in self.files.values():
            if stored.file_path == path:
                return web.Response(body=stored.content, content_type=stored.mime_type)
        return web.Response(status=404, text="Not Found")

    # --- Bot API methods ------------------------------------------------------------------------

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

    async def _send_message(self, params: _Params) -> JSON:
        raw_chat = self._require_chat_id(params)
        text_raw = params.string("text")
        if text_raw is None:
            raise _bad("message text is empty")
        text, entities = self._formatted(params, text_raw, "parse_mode", "entities")
        markup = self._reply_markup(params, inline_only=False)
        preview = self._link_preview(params)
        chat = self._sendable_chat(raw_chat, "text messages")
        if len(text) > MAX_TEXT_LENGTH:
            raise _bad("message is too long")
        reply_to, thread_id, is_topic = self._reply_target(params, chat)
        self._rate_gate(chat.id)
        message = self._store(
            chat, self.bot_id, text=text, entities=entities, reply_markup=markup,
            reply_to=reply_to, thread_id=thread_id, is_topic=is_topic,
        )  # fmt: skip
        message.link_preview_options = preview
        await self.notify()
        return self._message_json(message)

    async def _send_document(self, params: _Params) -> JSON:
        raw_chat = self._require_chat_id(params)
        reference = params.string("document")
        if reference is None:
            raise _bad("there is no document in the request")
        caption: str | None = None
        caption_entities: list[JSON] = []
        caption_raw = params.string("caption")
        if caption_raw:
            caption, caption_entities = self._formatted(
                params, caption_raw, "parse_mode", "caption_entities", allow_empty=True
            )
        markup = self._reply_markup(params, inline_only=False)
        chat = self._sendable_chat(raw_chat, "documents")
        if caption is not None and len(caption) > MAX_CAPTION_LENGTH:
            raise _bad("message caption is too long")
        stored = self._document(params, reference)
        reply_to, thread_id, is_topic = self._reply_target(params, chat)
        self._rate_gate(chat.id)
        message = self._store(
            chat, self.bot_id, document=stored, caption=caption or None,
            caption_entities=caption_entities if caption else [], reply_markup=markup,
            reply_to=reply_to, thread_id=thread_id, is_topic=is_topic,
        )  # fmt: skip
        await self.notify()
        return self._message_json(message)

    async def _edit_message_text(self, params: _Params) -> JSON:
        chat, message = self._editable_message(params)
        text_raw = params.string("text")
        if text_raw is None:
            raise _bad("message text is empty")
        text, entities = self._formatted(params, text_raw, "parse_mode", "entities")
        # Telegram drops the keyboard of a message edited without reply_markup.
        markup = self._reply_markup(params, inline_only=True)
        if message.text is None:
            raise _bad("there is no text in the message to edit")
        if len(text) > MAX_TEXT_LENGTH:
            raise _bad("message is too long")
        if (
            text == message.text
            and entities == message.entities
            and markup == _inline(message.reply_markup)
        ):
            raise ApiError(400, NOT_MODIFIED)
        self._rate_gate(chat.id)
        message.edit_history.append(message.text)
        message.text, message.entities = text, entities
        message.reply_markup = markup
        message.edit_date = int(self.clock())
        if params.has("link_preview_options"):
            message.link_preview_options = self._link_preview(params)
        await self.notify()
        return self._message_json(message)

    async def _edit_message_reply_markup(self, params: _Params) -> JSON:
        chat, message = self._editable_message(params)
        markup = self._reply_markup(params, inline_only=True)
        if markup == _inline(message.reply_markup):
            raise ApiError(400, NOT_MODIFIED)
        self._rate_gate(chat.id)
        message.reply_markup = markup
        message.edit_date = int(self.clock())
        await self.notify()
        return self._message_json(message)

    async def _delete_message(self, params: _Params) -> bool:
        raw_chat = self._require_chat_id(params)
        message_id = params.integer("message_id", error="message identifier is not specified")
        chat = self._bot_chat(raw_chat)
        message = chat.messages.get(message_id or 0)
        if message is None or message.deleted:
            raise _bad("message to delete not found")
        if "forum_topic_created" in message.service or "migrate_from_chat_id" in message.service:
            raise _bad("message can't be deleted")
        if self.clock() - message.date > MESSAGE_EDIT_WINDOW:
            raise _bad("message can't be deleted")
        if message.from_id != self.bot_id and chat.type != "private":
            bot = chat.members[self.bot_id]
            may = bot.status == "creator" or (
                bot.status == "administrator"
                and (chat.type == "group" or bot.rights.get("can_delete_messages", False))
            )
            if not may:
                raise _bad("message can't be deleted")
        message.deleted = True
        await self.notify()
        return True

    async def _answer_callback_query(self, params: _Params) -> bool:
        query_id = params.string("callback_query_id")
        text = params.string("text")
        if text is not None and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise _bad("MESSAGE_TOO_LONG")
        url = params.string("url")
        if url is not None and not re.fullmatch(
            rf"(https?://)?t\.me/{re.escape(self.bot_username)}\?start=[\w-]{{0,64}}",
            url,
            flags=re.IGNORECASE,
        ):
            raise _bad("URL_INVALID")
        query = self.callback_queries.get(query_id or "")
        now = self.clock()
        if query is None or query.answered or now - query.created_at > self.callback_timeout:
            raise ApiError(400, QUERY_TOO_OLD)
        query.answered = True
        self.callback_answers[query.id] = {
            "text": text,
            "show_alert": params.boolean("show_alert"),
            "url": url,
            "cache_time": params.integer("cache_time") or 0,
            "answered_at": now,
        }
        await self.notify()
        return True

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

    def _sendable_chat(self, raw: Any, what: str) -> _Chat:
        chat = self._bot_chat(raw)
        member = chat.members.get(self.bot_id)
        if member is not None and member.status == "restricted":
            right = "can_send_documents" if what == "documents" else "can_send_messages"
            if not member.rights.get(right, False):
                raise _bad(f"not enough rights to send {what} to the chat")
        return chat

    def _editable_message(self, params: _Params) -> tuple[_Chat, _Message]:
        if params.has("inline_message_id"):
            raise _bad("MESSAGE_ID_INVALID")
        raw_chat = self._require_chat_id(params)
        message_id = params.integer("message_id", error="message identifier is not specified")
        if message_id is None:
            raise _bad("message identifier is not specified")
        chat = self._bot_chat(raw_chat)
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise _bad("message to edit not found")
        if message.from_id != self.bot_id or message.service:
            raise _bad("message can't be edited")
        return chat, message

    def _formatted(
        self,
        params: _Params,
        raw_text: str,
        mode_param: str,
        entities_param: str,
        *,
        allow_empty: bool = False,
    ) -> tuple[str, list[JSON]]:
        mode = (params.string(mode_param) or "").lower()
        try:
            if mode == "html":
                text, entities = th.parse_html(raw_text, resolve_user=self._mention_user)
            elif mode in ("", "none"):
                text = raw_text
                entities = self._explicit_entities(params, entities_param)
            elif mode in ("markdown", "markdownv2"):
                # Honest refusal: opsbot formats with HTML, so Markdown is not emulated.
                raise _bad("unsupported parse_mode (the emulator implements only HTML)")
            else:
                raise _bad("unsupported parse_mode")
            return th.normalize(text, entities, allow_empty=allow_empty)
        except th.ParseError as error:
            raise ApiError(400, error.description) from None
        except th.TextError as error:
            raise _bad(_tdlib_message(error.message)) from None

    def _mention_user(self, user_id: int) -> JSON | None:
        user = self.users.get(user_id)
        return dict(user) if user is not None else None

    def _explicit_entities(self, params: _Params, name: str) -> list[JSON]:
        raw = params.json_value(name, "can't parse entities JSON object")
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise _bad("can't parse entities JSON object")
        prefix = "can't parse MessageEntity"
        entities = []
        for item in raw:
            if not isinstance(item, dict):
                raise _bad(f"{prefix}: MessageEntity should be an Object")
            kind = _obj_str(item, "type", prefix, required=True)
            offset = _obj_int(item, "offset", prefix, required=True)
            length = _obj_int(item, "length", prefix, required=True)
            if kind not in th.ENTITY_TYPES:
                raise _bad(f"{prefix}: Unsupported type specified")
            assert offset is not None and length is not None
            entity: JSON = {"type": kind, "offset": offset, "length": length}
            if kind == "text_link":
                url = _obj_str(item, "url", prefix, required=True) or ""
                checked, reason = th.check_link(url)
                if checked is None:
                    raise _bad(f"entity URL '{url}' is invalid: {reason}")
                entity["url"] = checked
            elif kind == "text_mention":
                user = item.get("user")
                if not isinstance(user, dict):
                    raise _bad(f'{prefix}: Can\'t find field "user"')
                known = self.users.get(_as_int(user.get("id")) or 0)
                if known is None:
                    raise _bad("user not found")
                entity["user"] = dict(known)
            elif kind == "custom_emoji":
                emoji_id = _obj_str(item, "custom_emoji_id", prefix, required=True) or ""
                if not re.fullmatch(r"\d{1,19}", emoji_id) or int(emoji_id) > 2**63 - 1:
                    raise _bad(f'{prefix}: Field "custom_emoji_id" must be a valid Number')
                entity["custom_emoji_id"] = emoji_id
            elif kind == "pre":
                language = _obj_str(item, "language", prefix)
                if language:
                    entity["language"] = language
            if kind in th.USER_ENTITY_TYPES:
                # Telegram finds url, mention, hashtag... itself and ignores the sender's.
                entities.append(entity)
        return entities

    def _link_preview(self, params: _Params) -> JSON | None:
        raw = params.json_value(
            "link_preview_options", "can't parse link preview options JSON object"
        )
        if raw is None:
            if params.boolean("disable_web_page_preview"):
                return {"is_disabled": True}
            return None
        if not isinstance(raw, dict):
            raise _bad("can't parse link preview options JSON object")
        options: JSON = {}
        for name in ("is_disabled", "prefer_small_media", "prefer_large_media", "show_above_text"):
            value = _obj_bool(raw, name)
            if value:
                options[name] = True
        url = _obj_str(raw, "url")
        if url:
            checked, _reason = th.check_link(url)
            if checked is None:
                raise _bad("WEBPAGE_URL_INVALID")
            options["url"] = url
        return options or None

    def _reply_markup(self, params: _Params, *, inline_only: bool) -> JSON | None:
        error = "can't parse reply keyboard markup JSON object"
        raw = params.json_value("reply_markup", error)
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise _bad(error)
        if "inline_keyboard" in raw:
            return self._inline_keyboard(raw["inline_keyboard"])
        if not raw.keys() & {"keyboard", "force_reply", "remove_keyboard"}:
            # An object without a known markup is no markup (PTB sends an empty keyboard so).
            return None
        if inline_only:
            raise _bad("inline keyboard expected")
        if "keyboard" in raw:
            rows = raw["keyboard"]
            if not isinstance(rows, list):
                raise _bad('field "keyboard" must be of type Array')
            for row in rows:
                if not isinstance(row, list):
                    raise _bad('field "keyboard" of the ReplyKeyboardMarkup should be an Array '
                               "of Arrays")  # fmt: skip
                for button in row:
                    if isinstance(button, dict):
                        _obj_str(button, "text", "can't parse keyboard button", required=True)
                    elif not isinstance(button, str):
                        raise _bad("can't parse keyboard button: KeyboardButton should be a "
                                   "String or an Object")  # fmt: skip
            for name in ("is_persistent", "resize_keyboard", "one_time_keyboard", "selective"):
                _obj_bool(raw, name)
            return dict(raw)
        if "force_reply" in raw:
            _obj_bool(raw, "force_reply")
            markup: JSON = {"force_reply": True}
            if _obj_bool(raw, "selective"):
                markup["selective"] = True
            placeholder = _obj_str(raw, "input_field_placeholder")
            if placeholder:
                # tdlib cuts a long placeholder to 64 characters rather than failing.
                markup["input_field_placeholder"] = placeholder[:64]
            return markup
        _obj_bool(raw, "remove_keyboard")
        markup = {"remove_keyboard": True}
        if _obj_bool(raw, "selective"):
            markup["selective"] = True
        return markup

    def _inline_keyboard(self, rows: Any) -> JSON | None:
        prefix = "can't parse inline keyboard button"
        if not isinstance(rows, list):
            raise _bad('field "inline_keyboard" must be of type Array')
        parsed_rows = []
        count = 0
        for row in rows:
            if not isinstance(row, list):
                raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup should be an '
                           "Array of Arrays")  # fmt: skip
            parsed_row = []
            for button in row:
                if not isinstance(button, dict):
                    raise _bad(f"{prefix}: InlineKeyboardButton should be an Object")
                parsed_row.append(self._inline_button(button, prefix))
                count += 1
            if parsed_row:
                parsed_rows.append(parsed_row)
        if count > MAX_INLINE_BUTTONS:
            raise _bad("reply markup is too long")
        # An empty keyboard is no keyboard: that is how a bot removes one.
        return {"inline_keyboard": parsed_rows} if parsed_rows else None

    def _inline_button(self, button: JSON, prefix: str) -> JSON:
        text = _obj_str(button, "text", prefix, required=True)
        action = next((a for a in _BUTTON_ACTIONS if button.get(a) not in (None, "", False)), None)
        if action is None:
            raise _bad(f"{prefix}: Text buttons are unallowed in the inline keyboard")
        value = button[action]
        result: JSON = {"text": text}
        if action == "callback_data":
            data = _obj_str(button, "callback_data", prefix) or ""
            if not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
                raise _bad("BUTTON_DATA_INVALID")
            result["callback_data"] = data
        elif action == "url":
            url = _obj_str(button, "url", prefix) or ""
            checked, reason = th.check_link(url)
            if checked is None:
                raise _bad(f"inline keyboard button URL '{url}' is invalid: {reason}")
            result["url"] = checked
        elif action in ("callback_game", "pay"):
            raise _bad("BUTTON_TYPE_INVALID")
        elif action == "login_url":
            raise _bad("BOT_DOMAIN_INVALID")
        elif action == "web_app":
            url = value.get("url", "") if isinstance(value, dict) else ""
            if not str(url).lower().startswith("https://"):
                raise _bad(
                    f"inline keyboard button Web App URL '{url}' is invalid: Only HTTPS links "
                    "are allowed"
                )
            result["web_app"] = {"url": url}
        elif action == "copy_text":
            copied = value.get("text") if isinstance(value, dict) else None
            if not isinstance(copied, str) or not 1 <= len(copied) <= 256:
                raise _bad("BUTTON_COPY_TEXT_INVALID")
            result["copy_text"] = {"text": copied}
        else:
            result[action] = value
        return result

    def _reply_target(self, params: _Params, chat: _Chat) -> tuple[int | None, int | None, bool]:
        """(reply_to, message_thread_id, is_topic_message) for a message the bot sends."""
        reply_to: int | None = None
        allow_without = params.boolean("allow_sending_without_reply")
        raw = params.json_value("reply_parameters", "can't parse reply parameters JSON object")
        if raw is not None:
            if not isinstance(raw, dict):
                raise _bad("can't parse reply parameters JSON object")
            reply_to = _obj_int(raw, "message_id", required=True)
            target_chat = raw.get("chat_id")
            if target_chat is not None and _as_int(target_chat) != chat.id:
                raise _bad("message to be replied not found")
            allow_without = bool(_obj_bool(raw, "allow_sending_without_reply"))
        elif params.has("reply_to_message_id"):
            reply_to = params.integer("reply_to_message_id")
        if reply_to is not None:
            target = chat.messages.get(reply_to)
            if target is None or target.deleted:
                if not allow_without:
                    raise _bad("message to be replied not found")
                reply_to = None
        requested = params.integer("message_thread_id")
        try:
            thread_id, is_topic = self._thread_for(chat, reply_to, requested)
        except ValueError:
            raise _bad("message thread not found") from None
        if self._topic_closed_to(chat, thread_id, self.bot_id):
            raise _bad("TOPIC_CLOSED")
        return reply_to, thread_id, is_topic

    def _topic_closed_to(self, chat: _Chat, thread_id: int | None, user_id: int) -> bool:
        topic = chat.topics.get(thread_id) if thread_id is not None else None
        return topic is not None and topic.closed and not self._manages_topics(chat, user_id)

    def _thread_for(
        self, chat: _Chat, reply_to: int | None, requested: int | None
    ) -> tuple[int | None, bool]:
        target = chat.messages.get(reply_to) if reply_to is not None else None
        if reply_to is not None and (target is None or target.deleted):
            raise ValueError(f"no message {reply_to} in chat {chat.id}")
        if chat.is_forum:
            thread = requested
            if thread is None and target is not None:
                thread = target.thread_id
            if thread is None:
                return None, False  # the General topic
            if thread not in chat.topics:
                raise ValueError(f"no topic {thread} in chat {chat.id}")
            if target is not None and target.thread_id != thread:
                raise ValueError("the replied message is in another topic")
            return thread, True
        if requested is not None:
            if chat.type != "supergroup" or requested not in chat.messages:
                raise ValueError(f"no thread {requested} in chat {chat.id}")
            return requested, False
        if chat.type == "supergroup" and target is not None:
            # Replies in a supergroup belong to the thread of the message they answer.
            return target.thread_id or target.message_id, False
        return None, False

    def _document(self, params: _Params, reference: str) -> _File:
        if reference.startswith("attach://"):
            upload = params.files.get(reference.removeprefix("attach://"))
            if upload is None:
                raise _bad("there is no document in the request")
            if not upload.content:
                raise _bad("file must be non-empty")
            if len(upload.content) > MAX_UPLOAD_BYTES:
                raise ApiError(413, "Request Entity Too Large")
            number = next(self._ids)
            name = upload.filename or f"file_{number}"
            mime = (
                mimetypes.guess_type(name)[0] or upload.content_type or "application/octet-stream"
            )
            extension = name.rsplit(".", 1)[-1] if "." in name else "bin"
            stored = _File(
                file_id=f"BQACAgIAAxkBAAI{number:06d}" + base64.b32encode(
                    number.to_bytes(5, "big")).decode().lower(),
                file_unique_id=f"AgAD{number:06d}",
                file_name=name,
                mime_type=mime,
                content=upload.content,
                file_path=f"documents/file_{number}.{extension}",
            )  # fmt: skip
            self.files[stored.file_id] = stored
            return stored
        if reference in self.files:
            return self.files[reference]
        if re.match(r"https?://", reference, flags=re.IGNORECASE):
            # The emulator has no network: fetching a URL fails as an unreachable host would.
            raise _bad("failed to get HTTP URL content")
        raise _bad("wrong file identifier/HTTP URL specified")

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

    # --- rate limits ----------------------------------------------------------------------------

    def _check_penalty(self, method: str, raw_chat_id: Any) -> None:
        """Refuse, and record, a counted call made while a retry_after binds its scope.

        Runs before any validation: a request sent during the pause is a violation whatever
        it carries, as Telegram punishes the attempt, not the message.
        """
        now = self.clock()
        chat_id = _as_int(raw_chat_id)
        scopes: list[int | None] = [None]
        if chat_id is not None and chat_id < 0:
            scopes.append(chat_id)
        for scope in scopes:
            until = self._penalties.get(scope, 0.0)
            if now < until:
                wait = max(1, math.ceil(until - now))
                where = "all chats" if scope is None else f"chat {scope}"
                self.violations.append(
                    f"{method} to chat {raw_chat_id} at {now:.3f}: {until - now:.3f}s left of "
                    f"the retry_after for {where}"
                )
                raise ApiError(429, f"Too Many Requests: retry after {wait}",
                               {"retry_after": wait})  # fmt: skip

    def _rate_gate(self, chat_id: int) -> None:
        """Count a message about to be sent or changed; 429 when a window is full."""
        now = self.clock()
        scopes: list[tuple[int | None, tuple[int, float]]] = [(None, self.global_limit)]
        if chat_id < 0:
            scopes.append((chat_id, self.group_limit))
        for scope, (limit, window) in scopes:
            sent = self._windows.setdefault(scope, deque())
            while sent and sent[0] <= now - window:
                sent.popleft()
            if len(sent) >= limit:
                wait = max(1, math.ceil(sent[0] + window - now))
                self._penalties[scope] = now + wait
                raise ApiError(429, f"Too Many Requests: retry after {wait}",
                               {"retry_after": wait})  # fmt: skip
        for scope, _limit in scopes:
            self._windows.setdefault(scope, deque()).append(now)

    # --- the world's plumbing -------------------------------------------------------------------

    def _user(self, user_id: int) -> JSON:
        user = self.users.get(user_id)
        if user is None:
            raise ValueError(f"no user {user_id}: add_user first")
        return user

    def _group(self, chat_id: int) -> _Chat:
        chat = self.chats.get(chat_id)
        if chat is None or chat.type == "private":
            raise ValueError(f"no group {chat_id}: add_group first")
        return chat

    def _active_member(self, chat: _Chat, user_id: int) -> _Member:
        self._user(user_id)
        member = chat.members.get(user_id)
        if member is None or member.status not in _ACTIVE_STATUSES:
            raise ValueError(f"user {user_id} is not a member of chat {chat.id}")
        if member.status == "restricted" and not member.rights.get("is_member", True):
            raise ValueError(f"user {user_id} is not a member of chat {chat.id}")
        return member

    def _private_chat(self, user_id: int) -> _Chat:
        chat = self.chats.get(user_id)
        if chat is None:
            chat = _Chat(id=user_id, type="private", user_id=user_id)
            self.chats[user_id] = chat
        return chat

    def _member(self, chat: _Chat, status: str, rights: dict[str, bool] | None) -> _Member:
        granted: dict[str, bool] = {}
        if status == "administrator":
            granted = {right: right != "can_promote_members" for right in _ADMIN_RIGHTS}
            if chat.type == "supergroup":
                granted.update({right: True for right in _SUPERGROUP_ADMIN_RIGHTS})
                granted["can_manage_topics"] = chat.is_forum
        elif status == "restricted":
            granted = {right: False for right in _RESTRICTED_RIGHTS}
            granted["is_member"] = True
        granted.update(rights or {})
        return _Member(status, granted)

    def _create_topic(self, chat: _Chat, creator: int, name: str, color: int) -> int:
        note = self._store(chat, creator, service={"forum_topic_created": {"name": name,
                           "icon_color": color}})  # fmt: skip
        note.thread_id = note.message_id
        note.is_topic_message = True
        chat.topics[note.message_id] = _Topic(name, color, creator)
        if creator != self.bot_id and self._bot_receives(chat, note):
            self._queue("message", self._message_json(note))
        else:
            self._touch()
        return note.message_id

    def _store(
        self,
        chat: _Chat,
        from_id: int,
        *,
        text: str | None = None,
        entities: list[JSON] | None = None,
        caption: str | None = None,
        caption_entities: list[JSON] | None = None,
        document: _File | None = None,
        reply_markup: JSON | None = None,
        reply_to: int | None = None,
        thread_id: int | None = None,
        is_topic: bool = False,
        service: JSON | None = None,
    ) -> _Message:
        message = _Message(
            message_id=chat.next_message_id, chat_id=chat.id, from_id=from_id,
            date=int(self.clock()), text=text, entities=list(entities or []), caption=caption,
            caption_entities=list(caption_entities or []), document=document,
            reply_markup=reply_markup, reply_to=reply_to, thread_id=thread_id,
            is_topic_message=is_topic, service=dict(service or {}),
        )  # fmt: skip
        chat.next_message_id += 1
        chat.messages[message.message_id] = message
        return message

    def _bot_receives(self, chat: _Chat, message: _Message) -> bool:
        if chat.type == "private":
            return not chat.blocked
        bot = chat.members.get(self.bot_id)
        if bot is None or bot.status not in _ACTIVE_STATUSES:
            return False
        if message.service or not self.privacy_mode or bot.status in ("creator", "administrator"):
            return True
        # Privacy mode: commands, and replies to the bot's own messages.
        if message.reply_to is not None:
            target = chat.messages.get(message.reply_to)
            if target is not None and target.from_id == self.bot_id:
                return True
        text = message.text or ""
        command = next(
            (e for e in message.entities if e["type"] == "bot_command" and e["offset"] == 0), None
        )
        if command is None:
            return False
        addressed = text[: command["length"]].partition("@")[2]
        return not addressed or addressed.lower() == self.bot_username.lower()

    def _queue(self, kind: str, payload: JSON) -> None:
        allowed = self._allowed_updates
        if allowed is None:
            if kind in _OPT_IN_UPDATES:
                return self._touch()
        elif kind not in allowed:
            return self._touch()
        ttl = CALLBACK_UPDATE_TTL if kind == "callback_query" else PENDING_UPDATE_TTL
        self._updates.append(_Update(self._next_update_id, kind, payload, self.clock() + ttl))
        self._next_update_id += 1
        self._touch()
        return None

    def _queue_my_chat_member(self, chat: _Chat, by: int, old: _Member, new: _Member) -> None:
        self._queue(
            "my_chat_member",
            {
                "chat": self._chat_json(chat),
                "from": dict(self.users[by]),
                "date": int(self.clock()),
                "old_chat_member": self._member_json(chat, self.bot_id, old),
                "new_chat_member": self._member_json(chat, self.bot_id, new),
            },
        )

    def _live_updates(self) -> list[_Update]:
        now = self.clock()
        return [u for u in self._updates if u.expires_at > now]

    def _update_json(self, update: _Update) -> JSON:
        return {"update_id": update.update_id, update.kind: update.payload}

    def _touch(self) -> None:
        """Wake the long poll and everyone in wait_for (also from synchronous world methods)."""
        if self._poll is not None:
            self._poll.event.set()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = loop.create_task(self.notify())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- JSON shapes ----------------------------------------------------------------------------

    def _chat_json(self, chat: _Chat) -> JSON:
        if chat.type == "private":
            user = self.users[chat.user_id or chat.id]
            result: JSON = {"id": chat.id, "type": "private", "first_name": user["first_name"]}
            for name in ("last_name", "username"):
                if name in user:
                    result[name] = user[name]
            return result
        result = {"id": chat.id, "type": chat.type, "title": chat.title}
        if chat.is_forum:
            result["is_forum"] = True
        return result

    def _message_json(self, message: _Message, *, nested: bool = False) -> JSON:
        chat = self.chats[message.chat_id]
        result: JSON = {
            "message_id": message.message_id,
            "from": dict(self.users[message.from_id]),
            "chat": self._chat_json(chat),
            "date": message.date,
        }
        if message.thread_id is not None:
            result["message_thread_id"] = message.thread_id
        if message.is_topic_message:
            result["is_topic_message"] = True
        if not nested:
            replied = message.reply_to
            if replied is None and message.is_topic_message and not message.service:
                # A topic message without an explicit reply answers the topic's first message.
                replied = message.thread_id
            target = chat.messages.get(replied) if replied is not None else None
            if target is not None and not target.deleted:
                result["reply_to_message"] = self._message_json(target, nested=True)
        if message.edit_date is not None:
            result["edit_date"] = message.edit_date
        if message.text is not None:
            result["text"] = message.text
            if message.entities:
                result["entities"] = [dict(e) for e in message.entities]
            if message.link_preview_options:
                result["link_preview_options"] = dict(message.link_preview_options)
        if message.document is not None:
            result["document"] = {
                "file_id": message.document.file_id,
                "file_unique_id": message.document.file_unique_id,
                "file_name": message.document.file_name,
                "mime_type": message.document.mime_type,
                "file_size": len(message.document.content),
            }
        if message.caption is not None:
            result["caption"] = message.caption
            if message.caption_entities:
                result["caption_entities"] = [dict(e) for e in message.caption_entities]
        result.update(json.loads(json.dumps(message.service)))
        inline = _inline(message.reply_markup)
        if inline is not None:
            result["reply_markup"] = json.loads(json.dumps(inline))
        return result

    def _member_json(self, chat: _Chat, user_id: int, member: _Member) -> JSON:
        result: JSON = {"status": member.status, "user": dict(self.users[user_id])}
        rights = member.rights
        if member.status == "creator":
            result["is_anonymous"] = False
        elif member.status == "administrator":
            result["can_be_edited"] = False
            result["is_anonymous"] = False
            for right in _ADMIN_RIGHTS:
                result[right] = rights.get(right, False)
            if chat.type == "supergroup":
                for right in _SUPERGROUP_ADMIN_RIGHTS:
                    result[right] = rights.get(right, False)
            else:
                result["can_pin_messages"] = rights.get("can_pin_messages", True)
        elif member.status == "restricted":
            result["is_member"] = rights.get("is_member", True)
            for right in _RESTRICTED_RIGHTS:
                result[right] = rights.get(right, False)
            result["until_date"] = member.until_date
        elif member.status == "kicked":
            result["until_date"] = member.until_date
        return result

    # --- HTTP: the control API ------------------------------------------------------------------

    async def _control(self, request: web.Request, action: Callable[[JSON], Any]) -> web.Response:
        try:
            body = await request.json() if request.can_read_body else {}
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            result = action(body)
        except (ValueError, KeyError, TypeError) as error:
            message = str(error) if not isinstance(error, KeyError) else f"missing {error}"
            return web.json_response({"ok": False, "description": message}, status=400,
                                     dumps=_dumps)  # fmt: skip
        return web.json_response({"ok": True, "result": result}, dumps=_dumps)

    async def _control_users(self, request: web.Request) -> web.Response:
        return await self._control(
            request,
            lambda b: self.add_user(
                int(b["user_id"]), str(b["first_name"]), username=b.get("username"),
                last_name=b.get("last_name"), language_code=b.get("language_code", "ru"),
                is_bot=bool(b.get("is_bot", False)),
            ),
        )  # fmt: skip

    async def _control_groups(self, request: web.Request) -> web.Response:
        return await self._control(
            request,
            lambda b: self.add_group(
                int(b["chat_id"]), str(b["title"]), supergroup=bool(b.get("supergroup", True)),
                forum=bool(b.get("forum", False)),
            ),
        )  # fmt: skip

    async def _control_members(self, request: web.Request) -> web.Response:
        def act(body: JSON) -> JSON:
            chat_id, user_id = int(body["chat_id"]), int(body["user_id"])
            status = str(body.get("status", "member"))
            if user_id == self.bot_id and body.get("by_user_id") is not None:
                self.add_bot_to_group(chat_id, int(body["by_user_id"]), status=status)
            else:
                self.add_member(chat_id, user_id, status, rights=body.get("rights"))
            return {"chat_id": chat_id, "user_id": user_id, "status": status}

        return await self._control(request, act)

    async def _control_migrate(self, request: web.Request) -> web.Response:
        return await self._control(
            request,
            lambda b: {"migrate_to_chat_id": self.migrate_group(
                int(b["chat_id"]), by_user_id=b.get("by_user_id"))},
        )  # fmt: skip

    async def _control_topics(self, request: web.Request) -> web.Response:
        return await self._control(
            request,
            lambda b: {"message_thread_id": self.add_topic(
                int(b["chat_id"]), str(b["name"]), by_user_id=int(b["by_user_id"]))},
        )  # fmt: skip

    async def _control_topic(self, request: web.Request) -> web.Response:
        change = {
            "close": self.close_topic, "reopen": self.reopen_topic, "delete": self.delete_topic,
        }[request.match_info["action"]]  # fmt: skip

        def act(body: JSON) -> bool:
            change(int(body["chat_id"]), int(body["message_thread_id"]),
                   by_user_id=int(body["by_user_id"]))  # fmt: skip
            return True

        return await self._control(request, act)

    async def _control_messages(self, request: web.Request) -> web.Response:
        return await self._control(
            request,
            lambda b: self.user_sends(
                int(b["chat_id"]), int(b["user_id"]), str(b["text"]),
                reply_to_message_id=b.get("reply_to_message_id"),
                message_thread_id=b.get("message_thread_id"),
            ),
        )  # fmt: skip

    async def _control_press(self, request: web.Request) -> web.Response:
        return await self._control(
            request,
            lambda b: {"query_id": self.user_presses(
                int(b["chat_id"]), int(b["user_id"]), int(b["message_id"]),
                str(b["callback_data"]), forge=bool(b.get("forge", False)))},
        )  # fmt: skip

    async def _control_add_fault(self, request: web.Request) -> web.Response:
        def act(body: JSON) -> bool:
            self.inject_fault(Fault(**body))
            return True

        return await self._control(request, act)

    async def _control_clear_faults(self, request: web.Request) -> web.Response:
        self.faults.clear()
        return web.json_response({"ok": True, "result": True})

    async def _control_chat(self, request: web.Request) -> web.Response:
        def act(_body: JSON) -> list[JSON]:
            thread = request.query.get("thread_id")
            view = self.chat_view(
                int(request.match_info["chat_id"]),
                thread_id=int(thread) if thread else None,
                include_deleted=request.query.get("include_deleted", "") in ("1", "true"),
            )
            for entry in view:
                document = entry["document"]
                if document is not None:
                    content = document.pop("content")
                    document["content_base64"] = base64.b64encode(content).decode()
            return view

        return await self._control(request, act)

    async def _control_menu(self, request: web.Request) -> web.Response:
        def act(_body: JSON) -> list[JSON]:
            try:
                chat_id = int(request.query["chat_id"])
                user_id = int(request.query["user_id"])
            except (KeyError, ValueError):
                raise ValueError("chat_id and user_id are required integers") from None
            return self.menu_for(chat_id, user_id)

        return await self._control(request, act)

    async def _control_requests(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"ok": True, "result": [asdict(r) for r in self.requests]}, dumps=_dumps
        )

    async def _control_state(self, request: web.Request) -> web.Response:
        state = {
            "violations": self.violations,
            "callback_answers": self.callback_answers,
            "commands": [
                {"scope": scope, "language_code": lang, "commands": commands}
                for (scope, lang), commands in self.commands.items()
            ],
            "left_chats": sorted(self.left_chats),
            "pending_updates": self.pending_updates(),
        }
        return web.json_response({"ok": True, "result": state}, dumps=_dumps)


def _inline(markup: JSON | None) -> JSON | None:
    if markup is not None and "inline_keyboard" in markup:
        return markup
    return None


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _loggable(params: _Params) -> JSON:
    logged: JSON = {}
    for key, value in params.values.items():
        if (
            isinstance(value, str)
            and value.startswith("attach://")
            and (upload := params.files.get(value.removeprefix("attach://")))
        ):
            logged[key] = {"filename": upload.filename, "size": len(upload.content)}
        elif isinstance(value, str) and value[:1] in ("{", "["):
            try:
                logged[key] = json.loads(value)
            except ValueError:
                logged[key] = value
        else:
            logged[key] = value
    return logged
