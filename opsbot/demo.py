"""`opsbot demo`: the whole story on this machine, with no tokens.

Both emulators start, the bot runs against them on a temporary SQLite database, and a scripted
audience, curator and moderator play an evening. Questions arrive as cards; a curator takes
one (the card shows who), answers, sees the preview and posts it, and the card is updated.
Then a short salon: /start_salon, /ask, two answers from the audience, /end_salon with its
summary, /draw 1, and the draw checked from its /entrants export with the verify-draw logic.

Each step is printed as it happens, as the staff chat and X show it. The demo's own lines go
through gettext like the bot's, in the chosen language. The emulators' flood limits are
scaled down so the story takes seconds, not Telegram's real minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import signal
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from opsbot import verify
from opsbot.emulators.sandbox import (
    CURATOR_EN,
    CURATOR_RU,
    MODERATOR,
    STAFF_CHAT_ID,
    Person,
    Sandbox,
    start_sandbox,
)
from opsbot.i18n import translator
from opsbot.runtime import running

AUDIENCE = [
    ("ivan_petrov", "@museum Когда был основан Исторический музей? #музейнаягостиная"),
    ("kate_reads", "@museum Which object in the collection is the oldest? #museumsalon"),
    ("masha", "Можно ли фотографировать в залах? #museumsalon"),
    ("tom_h", "@museum Are there guided tours in English? 🏛️ #museumsalon"),
    ("anon_fan", "Is <b>this</b> & that allowed? #museumsalon"),
]
ANSWERS = {
    "ru": "Музей основан в 1872 году, а первые посетители пришли в 1883-м.",
    "en": "The museum was founded in 1872 and opened to visitors in 1883.",
}
SALON = {
    "ru": ("Новогодние традиции 30m", "Какую ёлочную игрушку вы помните с детства?"),
    "en": ("New Year traditions 30m", "Which Christmas tree ornament do you remember?"),
}
REPLIES = [
    ("nina_k", "A1: Стеклянную шишку с блёстками #музейнаягостиная"),
    ("sam_w", "A1: A paper lantern my grandmother made #museumsalon"),
]
STEP_TIMEOUT = 30.0
# 20 messages to a group per 5 s instead of Telegram's 60 s: a story, not a wait.
PACE = {"group_limit": (20, 5.0)}
BOT_PACE = {"telegram_group_rate": 20, "telegram_group_period": 5.0}

Message = dict[str, Any]


def _buttons(message: Message) -> list[str]:
    markup = message.get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


class Story:
    """The scripted people, and how each step is shown."""

    def __init__(self, sandbox: Sandbox, language: str, folder: Path) -> None:
        self.sandbox = sandbox
        self.telegram = sandbox.telegram
        self.language = language
        self.folder = folder
        self._ = translator(language)
        self.curator = CURATOR_RU if language == "ru" else CURATOR_EN
        self.moderator = MODERATOR
        self.steps = 0

    # --- showing ---

    def step(self, title: str) -> None:
        self.steps += 1
        print(f"\n{self.steps}. {title}", flush=True)

    def show(self, message: Message) -> None:
        sender = message["from"]
        print(f"  {'opsbot' if sender['is_bot'] else sender['first_name']}:")
        for line in str(message["text"]).splitlines():
            print(f"  │ {line}")
        labels = _buttons(message)
        if labels:
            print("  │ " + " ".join(f"[{label}]" for label in labels))
        if message.get("document"):
            print(f"  │ 📎 {message['document']['filename']}")
        print(end="", flush=True)

    def show_post(self, post: dict[str, Any], handle: str) -> None:
        print(f"  X · @{handle}: {post['text']}")
        print(f"  │ https://x.com/{handle}/status/{post['id']}", flush=True)

    # --- looking ---

    def chat(self) -> list[Message]:
        return self.telegram.chat_view(STAFF_CHAT_ID)

    def cards(self) -> list[Message]:
        return [
            m
            for m in self.chat()
            if m["from"]["is_bot"]
            and "/status/" in str(m.get("html") or "")
            and "<blockquote>" in str(m.get("html") or "")
        ]

    def message(self, message_id: int) -> Message:
        return next(m for m in self.chat() if m["message_id"] == message_id)

    def newest_id(self) -> int:
        return max((m["message_id"] for m in self.chat()), default=0)

    async def wait(self, found: Callable[[], Any]) -> Any:
        return await self.telegram.wait_for(found, STEP_TIMEOUT)

    async def bot_says(self, after: int, fits: Callable[[Message], Any]) -> Message:
        def said() -> Message | None:
            return next(
                (
                    m
                    for m in self.chat()
                    if m["message_id"] > after and m["from"]["is_bot"] and fits(m)
                ),
                None,
            )

        return await self.wait(said)  # type: ignore[no-any-return]

    # --- acting ---

    async def press(self, person: Person, message: Message, label: str) -> None:
        markup = message["reply_markup"]["inline_keyboard"]
        data = next(b["callback_data"] for row in markup for b in row if b["text"] == label)
        query = self.telegram.user_presses(
            STAFF_CHAT_ID, person.user_id, message["message_id"], data
        )
        await self.wait(lambda: query in self.telegram.callback_answers)

    def says(self, person: Person, text: str, reply_to: int | None = None) -> Message:
        sent = self.telegram.user_sends(
            STAFF_CHAT_ID, person.user_id, text, reply_to_message_id=reply_to
        )
        self.show(self.message(sent["message_id"]))
        return sent

    async def command(self, person: Person, text: str, replies: int = 1) -> list[Message]:
        """A command, then the bot's next `replies` messages after it."""
        sent = self.says(person, text)

        def answered() -> list[Message] | None:
            found = [
                m
                for m in self.chat()
                if m["message_id"] > sent["message_id"] and m["from"]["is_bot"]
            ]
            return found[:replies] if len(found) >= replies else None

        shown: list[Message] = await self.wait(answered)
        for message in shown:
            self.show(message)
        return shown

    # --- the story ---

    async def answer_a_question(self) -> None:
        _, curator = self._, self.curator
        self.step(_.plain("Visitors ask on X, with the salon hashtag or tagging the museum:"))
        for handle, text in AUDIENCE:
            self.show_post(self.sandbox.x.visitor_posts(handle, text), handle)

        self.step(_.plain("Each question arrives in the staff group as a card:"))
        await self.wait(lambda: len(self.cards()) >= len(AUDIENCE))
        for card in self.cards():
            self.show(card)

        card = next(c for c in self.cards() if "ivan_petrov" in c["text"])
        take = _.plain("Take")
        self.step(
            _.plain(
                "{curator} presses “{take}”: the card shows who took it.",
                curator=curator.first_name,
                take=take,
            )
        )
        await self.press(curator, card, take)
        card = await self.wait(
            lambda: next(
                (c for c in self.cards() if c["message_id"] == card["message_id"] and c["edited"]),
                None,
            )
        )
        self.show(card)

        answer = _.plain("Answer")
        self.step(
            _.plain(
                "{curator} presses “{answer}” and replies with the answer:",
                curator=curator.first_name,
                answer=answer,
            )
        )
        newest = self.newest_id()
        await self.press(curator, card, answer)
        prompt = await self.bot_says(
            newest, lambda m: (m.get("reply_markup") or {}).get("force_reply")
        )
        self.show(prompt)
        sent = self.says(curator, ANSWERS[self.language], reply_to=prompt["message_id"])

        self.step(_.plain("The preview: the exact post, its length, and the buttons:"))
        preview = await self.bot_says(
            sent["message_id"], lambda m: m.get("reply_to_message_id") == sent["message_id"]
        )
        self.show(preview)

        post = _.plain("Post")
        self.step(
            _.plain(
                "{curator} presses “{post}”: the reply is on X.",
                curator=curator.first_name,
                post=post,
            )
        )
        await self.press(curator, preview, post)
        reply = await self.wait(
            lambda: next(
                (p for p in self.sandbox.x.museum_posts() if p.get("in_reply_to_tweet_id")), None
            )
        )
        self.show_post(reply, "museum")

        self.step(_.plain("The card is updated: who answered, and the link."))
        card = await self.wait(
            lambda: next(
                (
                    c
                    for c in self.cards()
                    if c["message_id"] == card["message_id"]
                    and _buttons(c) == [_.plain("Delete on X")]
                ),
                None,
            )
        )
        self.show(card)

    async def run_a_salon(self) -> None:
        _, moderator = self._, self.moderator
        name = moderator.first_name
        topic, prompt = SALON[self.language]
        self.step(
            _.plain(
                "{moderator} opens a salon: the bot publishes the lottery commitment "
                "and offers an announcement for X.",
                moderator=name,
            )
        )
        await self.command(moderator, f"/start_salon {topic}", replies=2)

        self.step(
            _.plain("{moderator} asks the audience a numbered question on X:", moderator=name)
        )
        await self.command(moderator, f"/ask {prompt}")
        question = next(p for p in self.sandbox.x.museum_posts() if p["text"].startswith("Q1:"))
        self.show_post(question, "museum")

        self.step(_.plain("Two visitors answer on X; their answers arrive as cards:"))
        before = len(self.cards())
        for handle, text in REPLIES:
            self.show_post(
                self.sandbox.x.visitor_posts(handle, text, reply_to=question["id"]), handle
            )
        await self.wait(lambda: len(self.cards()) >= before + len(REPLIES))
        for card in self.cards()[before:]:
            self.show(card)

        self.step(_.plain("{moderator} closes the salon; the bot sums it up:", moderator=name))
        await self.command(moderator, "/end_salon")

        self.step(
            _.plain("{moderator} draws one ticket among the salon’s participants:", moderator=name)
        )
        await self.command(moderator, "/draw 1")

        self.step(
            _.plain("Anyone can check the draw: the export from /entrants, and verify-draw on it:")
        )
        [export] = await self.command(moderator, "/entrants")
        document = export["document"]
        path = self.folder / document["filename"]
        path.write_bytes(document["content"])
        print(f"  $ opsbot verify-draw {document['filename']}")
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            verified = verify.main([str(path)])
        for line in output.getvalue().splitlines():
            print(f"  │ {line}")
        if verified != 0:
            raise RuntimeError("the draw did not verify")

    def museum_on_x(self) -> None:
        print("\n" + self._.plain("The museum’s posts on X:"))
        for post in self.sandbox.x.museum_posts():
            self.show_post(post, "museum")


async def run_demo(*, language: str, keep_running: bool) -> int:
    _ = translator(language)
    sandbox = await start_sandbox(telegram_options=PACE)
    try:
        for person in (MODERATOR, CURATOR_RU, CURATOR_EN):
            if person.language_code != language:
                # The story's people speak the demo's language, so its replies are in it too.
                sandbox.telegram.add_user(
                    person.user_id,
                    person.first_name,
                    username=person.username,
                    language_code=language,
                )
        with tempfile.TemporaryDirectory(prefix="opsbot-demo-") as folder:
            settings = sandbox.settings(
                database_url=f"sqlite:///{Path(folder) / 'demo.sqlite3'}",
                default_language=language,
                poll_idle_seconds=1.0,
                poll_live_seconds=1.0,
                **BOT_PACE,
            )
            async with running(settings, poll_timeout=1):
                print(
                    _.plain(
                        "opsbot demo: the Telegram emulator at {telegram}, the X emulator at {x}.",
                        telegram=sandbox.telegram.base_url,
                        x=sandbox.x.base_url,
                    ),
                    flush=True,
                )
                story = Story(sandbox, language, Path(folder))
                await story.answer_a_question()
                await story.run_a_salon()
                story.museum_on_x()
                if keep_running:
                    await _serve_until_stopped(sandbox, language)
    finally:
        await sandbox.stop()
    return 0


async def _serve_until_stopped(sandbox: Sandbox, language: str) -> None:
    _ = translator(language)
    print("", flush=True)
    print(_.plain("The bot keeps running. Play with it through the control APIs:"))
    print(f"  curl -s {sandbox.telegram.base_url}/control/chats/{STAFF_CHAT_ID}")
    print(
        f"  curl -s -XPOST {sandbox.x.base_url}/control/posts -H 'Content-Type: application/json' "
        """-d '{"username": "visitor", "text": "@museum Hello! #museumsalon"}'"""
    )
    print(_.plain("Press Ctrl-C to stop."), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
