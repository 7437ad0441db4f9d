"""`opsbot demo`: the whole loop on this machine, with no tokens.

Both emulators start, the bot runs against them on a temporary SQLite database, a scripted
audience asks on X, a scripted curator takes one question, answers and posts it. Then the
staff chat and the museum's replies are printed as a person would read them.
"""

from __future__ import annotations

import asyncio
import signal
import tempfile
from pathlib import Path
from typing import Any

from opsbot.emulators.sandbox import CURATOR_EN, CURATOR_RU, STAFF_CHAT_ID, Sandbox, start_sandbox
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
STEP_TIMEOUT = 60.0


def _buttons(message: dict[str, Any]) -> list[str]:
    markup = message.get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


def _cards(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [
        m
        for m in sandbox.telegram.chat_view(STAFF_CHAT_ID)
        if m["from"]["is_bot"]
        and "/status/" in str(m.get("html") or "")
        and "<blockquote>" in str(m.get("html") or "")
    ]


async def _press(sandbox: Sandbox, user_id: int, message: dict[str, Any], index: int) -> None:
    markup = message["reply_markup"]["inline_keyboard"]
    data = [b["callback_data"] for row in markup for b in row][index]
    query = sandbox.telegram.user_presses(STAFF_CHAT_ID, user_id, message["message_id"], data)
    await sandbox.telegram.wait_for(
        lambda: query in sandbox.telegram.callback_answers, STEP_TIMEOUT
    )


def _latest_bot_message(sandbox: Sandbox, after: int, predicate: Any) -> dict[str, Any] | None:
    for message in sandbox.telegram.chat_view(STAFF_CHAT_ID):
        if message["message_id"] > after and message["from"]["is_bot"] and predicate(message):
            return message
    return None


async def play(sandbox: Sandbox, language: str) -> None:
    """The audience asks; a curator answers the first question the museum may reply to."""
    for handle, text in AUDIENCE:
        sandbox.x.visitor_posts(handle, text)
    await sandbox.telegram.wait_for(lambda: len(_cards(sandbox)) >= len(AUDIENCE), STEP_TIMEOUT)
    curator = CURATOR_RU if language == "ru" else CURATOR_EN
    card = next(c for c in _cards(sandbox) if "ivan_petrov" in c["text"])
    await _press(sandbox, curator.user_id, card, 0)  # Take
    newest = max(m["message_id"] for m in sandbox.telegram.chat_view(STAFF_CHAT_ID))
    card = next(c for c in _cards(sandbox) if c["message_id"] == card["message_id"])
    await _press(sandbox, curator.user_id, card, 1)  # Answer
    prompt = await sandbox.telegram.wait_for(
        lambda: _latest_bot_message(
            sandbox, newest, lambda m: (m.get("reply_markup") or {}).get("force_reply")
        ),
        STEP_TIMEOUT,
    )
    sent = sandbox.telegram.user_sends(
        STAFF_CHAT_ID, curator.user_id, ANSWERS[language], reply_to_message_id=prompt["message_id"]
    )
    preview = await sandbox.telegram.wait_for(
        lambda: _latest_bot_message(
            sandbox,
            sent["message_id"],
            lambda m: m.get("reply_to_message_id") == sent["message_id"],
        ),
        STEP_TIMEOUT,
    )
    await _press(sandbox, curator.user_id, preview, 0)  # Post
    await sandbox.telegram.wait_for(
        lambda: any(p.get("in_reply_to_tweet_id") for p in sandbox.x.museum_posts()), STEP_TIMEOUT
    )
    await sandbox.telegram.wait_for(
        lambda: (
            not _buttons(next(c for c in _cards(sandbox) if c["message_id"] == card["message_id"]))
        ),
        STEP_TIMEOUT,
    )


def transcript(sandbox: Sandbox) -> str:
    lines = ["", "═══ Staff group ═══"]
    for message in sandbox.telegram.chat_view(STAFF_CHAT_ID):
        if message.get("service"):
            continue
        sender = message["from"]
        name = "opsbot" if sender["is_bot"] else sender["first_name"]
        edited = " (edited)" if message.get("edited") else ""
        lines.append(f"── {name}{edited}:")
        lines.extend(f"   {line}" for line in str(message["text"]).splitlines())
        labels = _buttons(message)
        if labels:
            lines.append("   " + " ".join(f"[{label}]" for label in labels))
    lines += ["", "═══ The museum's replies on X ═══"]
    replies = [p for p in sandbox.x.museum_posts() if p.get("in_reply_to_tweet_id")]
    for post in replies:
        lines.append(f"↳ https://x.com/museum/status/{post['id']}")
        lines.extend(f"   {line}" for line in str(post["text"]).splitlines())
    if not replies:
        lines.append("(none)")
    return "\n".join(lines)


async def run_demo(*, language: str, keep_running: bool) -> int:
    sandbox = await start_sandbox()
    try:
        with tempfile.TemporaryDirectory(prefix="opsbot-demo-") as folder:
            settings = sandbox.settings(
                database_url=f"sqlite:///{Path(folder) / 'demo.sqlite3'}",
                default_language=language,
                poll_idle_seconds=1.0,
                poll_live_seconds=1.0,
            )
            async with running(settings, poll_timeout=1):
                print(
                    f"opsbot demo: Telegram emulator {sandbox.telegram.base_url}, "
                    f"X emulator {sandbox.x.base_url}",
                    flush=True,
                )
                await play(sandbox, language)
                print(transcript(sandbox), flush=True)
                if keep_running:
                    await _serve_until_stopped(sandbox)
    finally:
        await sandbox.stop()
    return 0


async def _serve_until_stopped(sandbox: Sandbox) -> None:
    print("", flush=True)
    print("The bot keeps running. Play with it through the control APIs:")
    print(f"  curl -s {sandbox.telegram.base_url}/control/chats/{STAFF_CHAT_ID}")
    print(
        f"  curl -s -XPOST {sandbox.x.base_url}/control/posts -H 'Content-Type: application/json' "
        """-d '{"username": "visitor", "text": "@museum Hello! #museumsalon"}'"""
    )
    print("Press Ctrl-C to stop.", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
