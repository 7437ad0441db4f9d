"""Telegram's limits: the sizes and counts it enforces, and its flood control.

Flood control counts the calls that post or change messages (`COUNTED_METHODS`) in sliding
windows, per group chat, per private chat (about one message a second, Telegram's advice for a
chat with a person) and over all chats; a full window answers 429 with retry_after and binds
that scope until it passes. A counted call made while a retry_after binds is refused again and
recorded in `violations`: a bot must wait a 429 out, not retry into it.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

from opsbot.emulators.base import EmulatorServer
from opsbot.emulators.telegram.wire import ApiError, _as_int

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


class FloodControl(EmulatorServer):
    """Sliding windows of counted calls and the retry_after penalties they set, per scope.

    The scope is a chat's id, or None for all chats together. `TelegramEmulator.__init__`
    sets the attributes.
    """

    group_limit: tuple[int, float]
    private_limit: tuple[int, float]
    global_limit: tuple[int, float]
    violations: list[str]
    _windows: dict[int | None, deque[float]]
    _penalties: dict[int | None, float]

    def _check_penalty(self, method: str, raw_chat_id: Any) -> None:
        """Refuse, and record, a counted call made while a retry_after binds its scope.

        Runs before any validation: a request sent during the pause is a violation whatever
        it carries, as Telegram punishes the attempt, not the message.
        """
        now = self.clock()
        chat_id = _as_int(raw_chat_id)
        scopes: list[int | None] = [None]
        if chat_id is not None:
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
        scopes.append((chat_id, self.group_limit if chat_id < 0 else self.private_limit))
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
