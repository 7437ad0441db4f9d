"""`opsbot run` stopped with SIGTERM while hundreds of questions wait for the staff group and
the flood limit holds the next send: it exits cleanly within seconds (Docker kills after 10),
gives back the instance lock, and the next start shows every question exactly once."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from opsbot.emulators.sandbox import CURATOR_EN, STAFF_CHAT_ID, Sandbox, start_sandbox
from opsbot.telegram.ratelimit import RESERVED_FOR_PEOPLE
from tests.conftest import FAST_TELEGRAM
from tests.environment import without_opsbot_settings
from tests.integration.helpers import bot_messages, buttons, cards

BACKLOG = 300
GROUP_RATE = 20
# Docker's `docker stop` kills after 10 s; the bot must be long gone by then.
STOP_BOUND_SECONDS = 8.0


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    # On the real clock: the bot runs in another process, on the real clock too.
    world = await start_sandbox(telegram_options=dict(FAST_TELEGRAM))
    try:
        yield world
    finally:
        await world.stop()


def numbers(message: dict[str, Any]) -> list[int]:
    return [int(n) for n in re.findall(r"Вопрос (\d+)\b", message["text"])]


def digests(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [m for m in bot_messages(sandbox) if m["text"].startswith("📥")]


def listed(sandbox: Sandbox) -> Counter[int]:
    """How many times each question ("Вопрос n") is listed in a digest."""
    return Counter(n for message in digests(sandbox) for n in numbers(message))


def carded(sandbox: Sandbox) -> Counter[int]:
    """How many cards of each question are in the group."""
    return Counter(n for card in cards(sandbox) for n in numbers(card))


def shown(sandbox: Sandbox) -> set[int]:
    return set(listed(sandbox)) | set(carded(sandbox))


async def start(env: Mapping[str, str], folder: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "opsbot",
        "run",
        env=dict(env),
        cwd=folder,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def polls_after(sandbox: Sandbox, since: float, count: int, timeout: float) -> None:
    """The bot is serving: the look for another bot on the token, then polling."""

    def polling() -> bool:
        polls = [
            r for r in sandbox.telegram.requests if r.endpoint == "getUpdates" and r.at >= since
        ]
        return len(polls) >= count

    await sandbox.telegram.wait_for(polling, timeout)


async def test_sigterm_with_a_held_backlog_stops_within_seconds_and_loses_nothing(
    sandbox: Sandbox, database_url: str, tmp_path: Path
) -> None:
    env: dict[str, Any] = {
        **without_opsbot_settings(),
        **sandbox.environment(),
        "OPSBOT_DATABASE_URL": database_url,
        "OPSBOT_POLL_IDLE_SECONDS": "0.3",
        # Telegram's real window for a group: 20 messages a minute.
        "OPSBOT_TELEGRAM_GROUP_RATE": str(GROUP_RATE),
        "OPSBOT_TELEGRAM_GROUP_PERIOD": "60",
    }
    x = sandbox.x
    first = await start(env, tmp_path)
    try:
        await x.wait_for(lambda: any(r.endpoint == "searchPostsRecent" for r in x.requests), 30)
        for n in range(BACKLOG):
            x.visitor_posts(f"v{n}", f"@museum Вопрос {n} #museumsalon")
        # The window is full: the card queue's next digest waits about a minute for a slot.
        await sandbox.telegram.wait_for(
            lambda: len(bot_messages(sandbox)) >= GROUP_RATE - RESERVED_FOR_PEOPLE, 30
        )
        assert len(shown(sandbox)) < BACKLOG
        # A curator asks for more full cards than the slots kept for people: the last press
        # waits in its handler for the window, and PTB's stop waits for running handlers.
        first_digest = digests(sandbox)[0]
        wanted = numbers(first_digest)[: RESERVED_FOR_PEOPLE + 1]
        for number in wanted:
            label = f"🗂{numbers(first_digest).index(number) + 1}"
            sandbox.telegram.user_presses(
                STAFF_CHAT_ID,
                CURATOR_EN.user_id,
                first_digest["message_id"],
                buttons(first_digest)[label],
            )
        await sandbox.telegram.wait_for(lambda: len(cards(sandbox)) >= RESERVED_FOR_PEOPLE, 30)
        # Every press reached the bot: it confirmed them by asking for the next updates.
        await sandbox.telegram.wait_for(lambda: not sandbox.telegram.pending_updates(), 20)
        stopping_at = time.monotonic()
        first.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(first.wait(), STOP_BOUND_SECONDS)
        except TimeoutError:
            pytest.fail(f"the bot was still running {STOP_BOUND_SECONDS} s after SIGTERM")
        took = time.monotonic() - stopping_at
    finally:
        if first.returncode is None:
            first.kill()
            await first.wait()
    assert code == 0
    print(f"stopped {took:.2f} s after SIGTERM")

    # The next start takes the lock at once and shows the rest, at the scaled-down pace.
    env["OPSBOT_TELEGRAM_GROUP_PERIOD"] = str(FAST_TELEGRAM["group_limit"][1])
    restarted_at = sandbox.telegram.clock()
    second = await start(env, tmp_path)
    try:
        await polls_after(sandbox, restarted_at, 2, timeout=20)
        assert second.returncode is None

        def all_shown() -> bool:
            return shown(sandbox) == set(range(BACKLOG))

        await sandbox.telegram.wait_for(all_shown, 60)
    finally:
        second.send_signal(signal.SIGTERM)
        await asyncio.wait_for(second.wait(), STOP_BOUND_SECONDS)
    in_digests, on_cards = listed(sandbox), carded(sandbox)
    assert all(n == 1 for n in in_digests.values()) and all(n == 1 for n in on_cards.values())
    # A question has a card besides its digest line only when a curator asked for it.
    assert set(in_digests) & set(on_cards) <= set(wanted)
    assert second.returncode == 0
