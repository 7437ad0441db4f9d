"""The salon's audience on X: questions at a lively pace, in Russian and English.

Most questions tag the museum and carry the hashtag (X returns them from both the mentions
timeline and the search); some only tag the museum, some only carry the hashtag (X will not
let the museum reply to those); a few repeat another visitor's words word for word (a separate
question all the same); a few reply to one of the museum's answers; now and then someone
retweets an earlier question (a retweet is not a question). Sometimes several arrive at once.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass

from opsbot.chaos.journal import Journal
from opsbot.emulators.x import XEmulator

NAMES = (
    "ivan", "masha", "kate", "tom", "olga", "sam", "nina", "petr", "lena", "alex", "dima",
    "anya", "max", "sveta", "yuri", "zoe", "leo", "ira", "gleb", "vika", "roma", "liza",
    "oleg", "tanya", "boris", "jack", "emma",
)  # fmt: skip
TAGS = ("#museumsalon", "#музейнаягостиная")
QUESTIONS_RU = (
    "Когда был основан музей",
    "Какой экспонат самый старый",
    "Можно ли фотографировать в залах",
    "Есть ли экскурсии для детей",
    "Где хранятся берестяные грамоты",
    "Сколько залов в главном здании",
    "Кто расписывал потолки",
    "Будет ли выставка о Новом годе",
    "Как попасть в запасники",
    "Почему здание красное",
)
QUESTIONS_EN = (
    "When was the museum founded",
    "Which object is the oldest",
    "Are there guided tours in English",
    "How many halls are there",
    "Who painted the ceilings",
    "Can I bring a camera",
    "Is there an audio guide",
    "What is the rarest coin in the collection",
    "Where do the birch bark letters come from",
    "Is the museum open on Mondays",
)
FOLLOW_UPS = ("Спасибо! А можно подробнее?", "Thanks! And what about the second floor?")
# kind -> weight; "follow-up" needs an answer on X to reply to, else it becomes "mention+tag".
KINDS = {
    "mention+tag": 62,
    "mention": 10,
    "tag": 18,
    "same-words": 5,
    "follow-up": 5,
}


@dataclass(frozen=True)
class AudiencePost:
    post_id: str
    handle: str
    text: str
    kind: str
    # X lets the museum reply: the visitor tagged it, or replied to it.
    replyable: bool
    question: bool


class Audience:
    def __init__(
        self,
        x: XEmulator,
        rng: random.Random,
        journal: Journal,
        *,
        museum_replies: Callable[[], list[str]],
    ) -> None:
        self._x = x
        self._rng = rng
        self._journal = journal
        self._museum_replies = museum_replies
        self._said: set[tuple[str, str]] = set()
        self.posts: list[AudiencePost] = []

    def questions(self) -> list[AudiencePost]:
        return [post for post in self.posts if post.question]

    def retweets(self) -> list[AudiencePost]:
        return [post for post in self.posts if not post.question]

    async def play(self, count: int, interval: float) -> None:
        """Post `count` questions, about `interval` seconds apart on average."""
        asked = 0
        while asked < count:
            burst = self._rng.randint(3, 6) if self._rng.random() < 0.06 else 1
            for _ in range(min(burst, count - asked)):
                self.ask(asked)
                asked += 1
            if self._rng.random() < 0.05 and self.questions():
                self._retweet()
            await asyncio.sleep(interval * burst * self._rng.uniform(0.3, 1.7))

    def ask(self, number: int) -> AudiencePost:
        """Post question number `number` (from 0) at once."""
        rng = self._rng
        # Every choice is drawn each time, used or not, so that the sequence of questions does
        # not depend on what X holds by then (the museum's replies come at the bot's pace).
        kind = rng.choices(list(KINDS), weights=list(KINDS.values()))[0]
        words = rng.choice(QUESTIONS_RU + QUESTIONS_EN)
        tag = rng.choice(TAGS)
        follow_up = rng.choice(FOLLOW_UPS)
        pick = rng.random()
        replies = self._museum_replies()
        earlier = [p for p in self.questions() if p.kind in ("mention+tag", "mention")]
        if (kind == "follow-up" and not replies) or (kind == "same-words" and not earlier):
            kind = "mention+tag"
        reply_to = None
        if kind == "follow-up":
            reply_to = replies[int(pick * len(replies))]
            text = f"{follow_up} {tag}"
        elif kind == "same-words":
            text = earlier[int(pick * len(earlier))].text
        else:
            text = {
                "mention+tag": f"@museum {words}? {tag}",
                "mention": f"@museum {words}?",
                "tag": f"{words}? {tag}",
            }[kind]
        handle = self._handle(text)
        post = self._x.visitor_posts(handle, text, reply_to=reply_to)
        self._said.add((handle, text))
        asked = AudiencePost(post["id"], handle, text, kind, kind != "tag", question=True)
        self._record(asked, number)
        return asked

    def _retweet(self) -> None:
        original = self._rng.choice(self.questions())
        handle = self._handle(f"RT {original.post_id}")
        post = self._x.visitor_posts(handle, "", retweet_of=original.post_id)
        self._said.add((handle, f"RT {original.post_id}"))
        self._record(
            AudiencePost(post["id"], handle, post["text"], "retweet", False, question=False), None
        )

    def _handle(self, text: str) -> str:
        """A visitor who has not said exactly this yet (X refuses a duplicate from one author)."""
        while True:
            handle = f"{self._rng.choice(NAMES)}_{self._rng.randint(1, 40)}"
            if (handle, text) not in self._said:
                return handle

    def _record(self, post: AudiencePost, number: int | None) -> None:
        self.posts.append(post)
        label = f"question {number + 1}" if number is not None else "not a question"
        self._journal(f"X post {post.post_id} by @{post.handle} ({post.kind}, {label})")
