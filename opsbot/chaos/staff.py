"""The curators and the moderator, pressing the real buttons as people do.

A person waits a few seconds for the bot; when nothing happens (the bot was killed and is
starting again) they look at the chat again and do what it now offers: press again, answer
the bot's "send it again" after a restart, or carry on from wherever the bot got to. Each
curator answers one question at a time; the desk hands out questions so that two curators
never pick the same one.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial

from opsbot.chaos.audience import Audience, AudiencePost
from opsbot.chaos.chat import POSTING, Message, StaffChat, buttons, until
from opsbot.chaos.journal import Journal
from opsbot.emulators.sandbox import Person
from opsbot.telegram.callback_data import Action

# How long a person waits for the bot before looking again.
STEP_TIMEOUT = 8.0
QUESTION_TIMEOUT = 90.0
ANSWERS = {
    "ru": "Ответ {number}: спасибо за вопрос, подробности расскажем на экскурсии.",
    "en": "Answer {number}: thank you, the guides will tell you more on the tour.",
}


@dataclass
class CuratorAnswer:
    """One answer a curator wrote and tried to post."""

    post_id: str
    text: str
    curator: str
    # Every Post press on its preview: whether one was answered "Posting…" is read at the end,
    # since an answer can arrive after the curator stopped waiting for it.
    post_queries: list[str] = field(default_factory=list)
    preview_id: int | None = None
    # The preview left the draft state (posting, posted) even though no press was answered.
    claimed: bool = False


class Desk:
    """Which questions are taken by the run's staff, and how the answers went."""

    def __init__(self, chat: StaffChat, audience: Audience, journal: Journal) -> None:
        self.chat = chat
        self.audience = audience
        self.journal = journal
        self.picked: set[str] = set()
        self.answers: list[CuratorAnswer] = []
        self._numbers = 0

    def pick(self, rng: random.Random) -> AudiencePost | None:
        """One of the oldest carded questions that nobody has taken and X lets us answer."""
        cards = self.chat.cards()
        open_ = [
            question
            for question in self.audience.questions()
            if question.replyable
            and question.post_id not in self.picked
            and question.post_id in cards
            and Action.TAKE in buttons(cards[question.post_id][0])
        ]
        if not open_:
            return None
        question = rng.choice(open_[:5])
        self.picked.add(question.post_id)
        return question

    def answer_text(self, language: str) -> str:
        self._numbers += 1
        return ANSWERS.get(language, ANSWERS["en"]).format(number=self._numbers)

    def posted(self) -> int:
        """Answers a Post press got out of the draft state, as far as the staff can tell."""
        answers = self.chat.telegram.callback_answers
        return sum(
            1
            for answer in self.answers
            if answer.claimed
            or any((answers.get(q) or {}).get("text") in POSTING for q in answer.post_queries)
        )


class StaffMember:
    def __init__(
        self,
        person: Person,
        desk: Desk,
        rng: random.Random,
        *,
        on_post: Callable[[], None],
    ) -> None:
        self.person = person
        self.desk = desk
        self.chat = desk.chat
        self.rng = rng
        self.on_post = on_post
        self.journal = desk.journal

    # --- what a person can do ---

    def say(self, text: str, reply_to: int | None = None) -> Message:
        sent = self.chat.telegram.user_sends(
            self.chat.chat_id, self.person.user_id, text, reply_to_message_id=reply_to
        )
        self.journal(f"{self.person.first_name} says {text!r} (message {sent['message_id']})")
        return sent

    def tap(self, message: Message, action: Action) -> str | None:
        """Press a button; the callback query's id, or None when the button is gone."""
        data = buttons(message).get(action)
        if data is None:
            return None
        try:
            query = self.chat.telegram.user_presses(
                self.chat.chat_id, self.person.user_id, message["message_id"], data
            )
        except ValueError:
            return None  # the message changed under the finger
        self.journal(
            f"{self.person.first_name} presses {action.name} on message {message['message_id']}"
            f" (query {query})"
        )
        return query

    async def answer_of(self, query: str) -> str | None:
        """The bot's answer to a press, or None if it did not come in time."""
        answers = self.chat.telegram.callback_answers
        answered = await until(lambda: answers.get(query), STEP_TIMEOUT)
        if answered is None:
            self.journal(f"{self.person.first_name}: no answer to query {query}")
            return None
        return str(answered.get("text") or "")

    async def command(self, text: str, done: Callable[[], Awaitable[bool]], timeout: float) -> bool:
        """Send a command until the bot has carried it out (it may have been down)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.say(text)
            waited = time.monotonic() + STEP_TIMEOUT * 1.5
            while time.monotonic() < min(waited, deadline):
                if await done():
                    return True
                await asyncio.sleep(0.3)
        return False

    # --- answering one question ---

    async def answer(self, question: AudiencePost) -> CuratorAnswer | None:
        deadline = time.monotonic() + QUESTION_TIMEOUT
        name = self.person.first_name
        self.journal(f"{name} picks the question {question.post_id} by @{question.handle}")
        if not await self._take(question, deadline):
            self.journal(f"{name} gives up taking {question.post_id}")
            return None
        answer = CuratorAnswer(
            question.post_id, self.desk.answer_text(self.person.language_code), name
        )
        sent = await self._write(question, answer.text, deadline)
        if not sent:
            self.journal(f"{name} gives up answering {question.post_id}")
            return None
        self.desk.answers.append(answer)
        await self._post(answer, sent, deadline)
        return answer

    async def _take(self, question: AudiencePost, deadline: float) -> bool:
        while time.monotonic() < deadline:
            card = self.chat.card(question.post_id)
            if card is None:
                return False
            actions = buttons(card)
            if Action.RELEASE in actions:
                return True
            if Action.TAKE not in actions:
                return False
            query = self.tap(card, Action.TAKE)
            if query is None:
                await asyncio.sleep(0.3)
            elif await self.answer_of(query) is not None:
                # The toast said so; the card follows at Telegram's pace.
                return True
        return False

    async def _write(self, question: AudiencePost, text: str, deadline: float) -> list[int]:
        """Answer -> the prompt -> the text as a reply; the ids of every message sent."""
        sent: list[int] = []
        uid = self.person.user_id
        while time.monotonic() < deadline:
            card = self.chat.card(question.post_id)
            if card is None or Action.ANSWER not in buttons(card):
                return sent if self._preview(sent) else []
            newest = self.chat.newest_id()
            if self.tap(card, Action.ANSWER) is None:
                await asyncio.sleep(0.5)
                continue
            prompt = await until(
                partial(self.chat.prompt_for, uid, question.handle, newest), STEP_TIMEOUT
            )
            while prompt is not None and time.monotonic() < deadline:
                message = self.say(text, reply_to=prompt["message_id"])
                sent.append(message["message_id"])
                if await until(lambda: self._preview(sent), STEP_TIMEOUT):
                    return sent
                # Lost in a restart? The bot asks again for answers that may not have arrived.
                prompt = await until(
                    partial(self.chat.prompt_for, uid, question.handle, message["message_id"]),
                    STEP_TIMEOUT,
                )
            if self._preview(sent):
                return sent
        return sent if self._preview(sent) else []

    def _preview(self, sent: list[int]) -> Message | None:
        """The newest preview of this answer: the bot's latest draft is the one that counts."""
        previews = [p for s in sent if (p := self.chat.preview_of(s)) is not None]
        return max(previews, key=lambda m: m["message_id"]) if previews else None

    async def _post(self, answer: CuratorAnswer, sent: list[int], deadline: float) -> None:
        name = self.person.first_name
        for _attempt in range(6):
            if time.monotonic() >= deadline:
                break
            preview = self._preview(sent)
            if preview is None:
                break
            answer.preview_id = preview["message_id"]
            if Action.POST not in buttons(preview):
                # Not a draft any more: it went out, is going out, or was refused.
                answer.claimed = "✅" in preview["text"] or "⏳" in preview["text"]
                return
            query = self.tap(preview, Action.POST)
            if query is None:
                await asyncio.sleep(0.3)
                continue
            answer.post_queries.append(query)
            self.on_post()
            reply = await self.answer_of(query)
            if reply is None:
                continue
            self.journal(f"{name}'s Post press {query} answered {reply!r}")
            if reply in POSTING:
                return
            # Refused (already posting, already on X, replaced): look at the preview again.
            await asyncio.sleep(0.5)
        self.journal(f"{name} stops trying to post the answer to {answer.post_id}")

    async def work(self, done: Callable[[], bool], think: tuple[float, float]) -> None:
        """Answer questions one after another until the run has enough."""
        while not done():
            question = self.desk.pick(self.rng)
            if question is None:
                await asyncio.sleep(0.5)
                continue
            await self.answer(question)
            await until(lambda: done() or None, self.rng.uniform(*think))
