"""`TelegramEmulator`: the concerns of this package composed into one server, with its state.

Every attribute is set here, in `__init__`; each mixin declares the ones it uses. The Bot API's
method table and the HTTP routes are built here too: the one list of what the emulator serves.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import Callable

from opsbot.emulators.telegram.bot_api import BotApi, Handler
from opsbot.emulators.telegram.control import ControlApi
from opsbot.emulators.telegram.wire import JSON
from opsbot.emulators.telegram.world import _Chat, _File, _Poll, _Query, _Update


class TelegramEmulator(ControlApi, BotApi):
    """The Telegram Bot API and the people around the bot, in one process.

    `group_limit`, `private_limit` and `global_limit` are (messages, seconds) sliding windows
    for sendMessage, sendDocument, editMessageText and editMessageReplyMarkup: per group chat,
    per private chat, and over all chats. `callback_timeout` is how long a callback query may
    wait for its answer.
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
        private_limit: tuple[int, float] = (1, 1.0),
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
        self.private_limit = private_limit
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
