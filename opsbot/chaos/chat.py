"""The staff group as the people in it see it: cards, prompts, previews and buttons.

Reading the emulator's chat renders every message, so the view is shared and refreshed at
most a few times a second, however many people are looking.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from opsbot.emulators.base import LoggedRequest
from opsbot.emulators.telegram import TelegramEmulator
from opsbot.i18n import SUPPORTED_LANGUAGES, translator
from opsbot.telegram.callback_data import Action, unpack

Message = dict[str, Any]
T = TypeVar("T")

FRESH_FOR = 0.15
POLL = 0.1
POST_LINK = re.compile(r'href="https://x\.com/([A-Za-z0-9_]+)/status/(\d+)"')


def _all_languages(message: str) -> frozenset[str]:
    return frozenset(translator(language).plain(message) for language in SUPPORTED_LANGUAGES)


# What a curator reads in the callback answer when the bot took the answer to publish it.
POSTING = _all_languages("Posting…")
# The preview's status when X refused the answer, or when it waits for X: either way the
# curator has been told it is not out yet.
FAILED_PREFIX = "❌"
QUEUED_PREFIXES = frozenset(
    translator(language)
    .plain("⏳ Queued: X asked to wait. It will be posted at {time}.", time="")
    .split(":")[0]
    for language in SUPPORTED_LANGUAGES
)


def buttons(message: Message) -> dict[Action, str]:
    """The message's buttons by action (callback data carries no user text, only ids)."""
    found: dict[Action, str] = {}
    markup = message.get("reply_markup") or {}
    for row in markup.get("inline_keyboard", []):
        for button in row:
            callback = unpack(button.get("callback_data"))
            if callback is not None:
                found.setdefault(callback.action, button["callback_data"])
    return found


def card_post_id(message: Message, museum: str) -> str | None:
    """The visitor's post a card is about, or None when the message is not a card."""
    html = str(message.get("html") or "")
    if not message["from"]["is_bot"] or "❓" not in message["text"] or "<blockquote>" not in html:
        return None
    for handle, post_id in POST_LINK.findall(html):
        if str(handle).lower() != museum.lower():
            return str(post_id)
    return None


def cards_by_post(messages: list[Message], museum: str) -> dict[str, list[Message]]:
    """Card messages by the visitor post they show, oldest first."""
    found: dict[str, list[Message]] = {}
    for message in messages:
        post_id = card_post_id(message, museum)
        if post_id is not None:
            found.setdefault(post_id, []).append(message)
    return found


def digests_by_post(messages: list[Message], museum: str) -> dict[str, list[Message]]:
    """Digest messages (ten questions, each with a numbered button to its card) by the
    visitor posts they list."""
    found: dict[str, list[Message]] = {}
    for message in messages:
        if not message["from"]["is_bot"] or not str(message["text"]).startswith("📥"):
            continue
        for handle, post_id in POST_LINK.findall(str(message.get("html") or "")):
            if str(handle).lower() != museum.lower():
                found.setdefault(str(post_id), []).append(message)
    return found


def card_sends(requests: Sequence[LoggedRequest], museum: str) -> dict[str, list[float]]:
    """When the bot asked Telegram to send a card, by the visitor post it shows."""
    sends: dict[str, list[float]] = {}
    for request in requests:
        text = str(request.params.get("text") or "")
        if request.endpoint != "sendMessage" or "❓" not in text:
            continue
        for handle, post_id in POST_LINK.findall(text):
            if str(handle).lower() != museum.lower():
                sends.setdefault(str(post_id), []).append(request.at)
                break
    return sends


def shows_answer(card: Message, reply_id: str) -> bool:
    """The card links the museum's reply and offers only to take it back."""
    return f"/status/{reply_id}" in str(card.get("html") or "") and set(buttons(card)) == {
        Action.DELETE
    }


def shows_failed_or_queued(preview: Message) -> bool:
    for line in str(preview["text"]).splitlines():
        if line.startswith(FAILED_PREFIX) or any(line.startswith(p) for p in QUEUED_PREFIXES):
            return True
    return False


class StaffChat:
    def __init__(self, telegram: TelegramEmulator, chat_id: int, museum: str) -> None:
        self.telegram = telegram
        self.chat_id = chat_id
        self.museum = museum
        self._view: list[Message] = []
        self._by_id: dict[int, Message] = {}
        self._taken_at = -1.0

    def view(self) -> list[Message]:
        now = time.monotonic()
        if now - self._taken_at > FRESH_FOR:
            self._view = self.telegram.chat_view(self.chat_id)
            self._by_id = {m["message_id"]: m for m in self._view}
            self._taken_at = now
        return self._view

    def message(self, message_id: int) -> Message | None:
        self.view()
        return self._by_id.get(message_id)

    def newest_id(self) -> int:
        return max((m["message_id"] for m in self.view()), default=0)

    def cards(self) -> dict[str, list[Message]]:
        return cards_by_post(self.view(), self.museum)

    def shown(self) -> set[str]:
        """The visitor posts the group has seen: on a card of their own or in a digest."""
        view = self.view()
        return set(cards_by_post(view, self.museum)) | set(digests_by_post(view, self.museum))

    def card(self, post_id: str) -> Message | None:
        cards = self.cards().get(post_id)
        return cards[0] if cards else None

    def prompt_for(self, user_id: int, handle: str, after: int) -> Message | None:
        """The bot's newest "reply to this message" to this person about this visitor: the
        first prompt, or the one that asks again after a restart."""
        mention = f"tg://user?id={user_id}"
        for message in reversed(self.view()):
            if message["message_id"] <= after:
                break
            markup = message.get("reply_markup") or {}
            if (
                message["from"]["is_bot"]
                and markup.get("force_reply")
                and mention in str(message.get("html") or "")
                and f"@{handle}" in message["text"]
            ):
                return message
        return None

    def preview_of(self, sent_id: int) -> Message | None:
        """The bot's preview of the answer the person sent as message `sent_id`."""
        for message in self.view():
            if (
                message["from"]["is_bot"]
                and message.get("reply_to_message_id") == sent_id
                and "📝" in message["text"]
            ):
                return message
        return None

    def signature(self) -> int:
        """Changes whenever a message is added, edited or deleted."""
        view = self.telegram.chat_view(self.chat_id, include_deleted=True)
        return hash(
            tuple((m["message_id"], m["text"], repr(m["reply_markup"]), m["deleted"]) for m in view)
        )


async def until(found: Callable[[], T | None], timeout: float) -> T | None:
    """What `found` returns once it returns something, or None after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = found()
        if result is not None and result is not False:
            return result
        if time.monotonic() >= deadline:
            return None
        await asyncio.sleep(POLL)
