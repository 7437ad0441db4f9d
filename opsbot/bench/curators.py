"""A curator answering a question as a person does, wherever the bot leads them.

The curator presses Answer on the question's card in the staff group, then follows the bot:
when it asks for the text (a prompt in the group that mentions them, or a message in their
private chat with the bot) they send it at once, and the answer is done when a preview with a
Post button reaches them (in the group as a reply to their text, or in their private chat).
So the same curator measures the answer dialogue in the group and in a private chat.
Every time is the emulator's own clock: when a press was queued for the bot, when the
preview message was stored.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from opsbot.chaos.chat import POSTING, Message, buttons, until
from opsbot.chaos.journal import Journal
from opsbot.emulators.sandbox import Person
from opsbot.emulators.telegram import TelegramEmulator
from opsbot.telegram.callback_data import Action

POLL = 0.05


@dataclass
class Answered:
    """One answer: when Answer was pressed, when its preview appeared, how Post went."""

    post_id: str
    pressed_at: float
    preview_at: float | None = None
    preview: Message | None = None
    preview_chat: int | None = None
    # The Post press was answered "Posting…".
    posting: bool = False
    # Why it stopped short, if it did.
    why: str = ""
    sent: list[tuple[int, int]] = field(default_factory=list)

    def latency(self) -> float | None:
        return None if self.preview_at is None else self.preview_at - self.pressed_at


class Curator:
    def __init__(
        self, telegram: TelegramEmulator, person: Person, group_id: int, journal: Journal
    ) -> None:
        self.telegram = telegram
        self.person = person
        self.group_id = group_id
        self.journal = journal

    @property
    def private_id(self) -> int:
        return self.person.user_id

    def open_private_chat(self) -> None:
        """`/start` to the bot in private, as curators do to get their reminders there."""
        self.telegram.user_sends(self.private_id, self.person.user_id, "/start")

    def _newest(self, chat_id: int) -> int:
        chat = self.telegram.chats.get(chat_id)
        return chat.next_message_id - 1 if chat is not None else 0

    def _new(self, chat_id: int, after: int) -> list[Message]:
        if chat_id not in self.telegram.chats:
            return []
        return [m for m in self.telegram.chat_view(chat_id, after=after) if m["from"]["is_bot"]]

    async def answer(self, post_id: str, card: Message, text: str, timeout: float) -> Answered:
        """Answer → (the prompt → the text) → the preview; not yet Post."""
        name = self.person.first_name
        data = buttons(card).get(Action.ANSWER)
        group_after, private_after = self._newest(self.group_id), self._newest(self.private_id)
        answered = Answered(post_id, self.telegram.clock())
        if data is None:
            answered.why = "the card has no Answer button"
            return answered
        try:
            answered.pressed_at = self.telegram.clock()
            query = self.telegram.user_presses(
                self.group_id, self.person.user_id, card["message_id"], data
            )
        except ValueError as exc:
            answered.why = f"the press failed: {exc}"
            return answered
        self.journal(f"{name} presses Answer on the card of {post_id} (query {query})")
        replied = False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            in_group = self._new(self.group_id, group_after)
            in_private = self._new(self.private_id, private_after)
            found = self._preview(in_group, in_private, answered.sent)
            if found is not None:
                answered.preview_chat, answered.preview = found
                answered.preview_at = float(found[1]["sent_at"])
                self.journal(
                    f"{name} sees the preview of {post_id} after "
                    f"{answered.preview_at - answered.pressed_at:.2f}s"
                )
                return answered
            refused = self.telegram.callback_answers.get(query) or {}
            if refused.get("show_alert"):
                answered.why = f"the bot refused: {refused.get('text')!r}"
                return answered
            if not replied:
                prompt = self._prompt(in_group, in_private)
                if prompt is not None:
                    chat_id, reply_to = prompt
                    sent = self.telegram.user_sends(
                        chat_id, self.person.user_id, text, reply_to_message_id=reply_to
                    )
                    answered.sent.append((chat_id, sent["message_id"]))
                    replied = True
                    self.journal(f"{name} sends the answer to {post_id} in chat {chat_id}")
            await asyncio.sleep(POLL)
        answered.why = "no preview in time" if replied else "no prompt in time"
        return answered

    def _preview(
        self, in_group: list[Message], in_private: list[Message], sent: list[tuple[int, int]]
    ) -> tuple[int, Message] | None:
        mine = {message_id for chat_id, message_id in sent if chat_id == self.group_id}
        for message in in_private:
            if Action.POST in buttons(message):
                return self.private_id, message
        for message in in_group:
            if Action.POST in buttons(message) and message.get("reply_to_message_id") in mine:
                return self.group_id, message
        return None

    def _prompt(
        self, in_group: list[Message], in_private: list[Message]
    ) -> tuple[int, int | None] | None:
        """Where to send the text: the chat, and the message to reply to (None: just type)."""
        mention = f"tg://user?id={self.person.user_id}"
        for message in in_group:
            markup = message.get("reply_markup") or {}
            if markup.get("force_reply") and mention in str(message.get("html") or ""):
                return self.group_id, int(message["message_id"])
        if in_private:
            asking = [m for m in in_private if (m.get("reply_markup") or {}).get("force_reply")]
            return self.private_id, int(asking[-1]["message_id"]) if asking else None
        return None

    async def post(self, answered: Answered, timeout: float) -> bool:
        """Press Post on the preview; whether the bot answered "Posting…"."""
        preview, chat_id = answered.preview, answered.preview_chat
        if preview is None or chat_id is None:
            return False
        data = buttons(preview).get(Action.POST)
        if data is None:
            return False
        try:
            query = self.telegram.user_presses(
                chat_id, self.person.user_id, preview["message_id"], data
            )
        except ValueError as exc:
            answered.why = f"Post failed: {exc}"
            return False
        answers = self.telegram.callback_answers
        reply = await until(lambda: answers.get(query), timeout)
        answered.posting = reply is not None and str(reply.get("text") or "") in POSTING
        if not answered.posting:
            answered.why = f"Post answered {reply!r}"
        return answered.posting
