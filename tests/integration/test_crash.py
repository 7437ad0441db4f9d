"""The bot killed between X accepting a reply and the database recording it: still one reply."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from sqlalchemy import select

from opsbot.db.models import Answer
from opsbot.emulators.base import Fault
from opsbot.emulators.sandbox import CURATOR_EN, Sandbox
from opsbot.runtime import running
from opsbot.settings import Settings
from tests.environment import without_opsbot_settings
from tests.integration.helpers import message_by_id, press_and_wait, wait_for_cards, write_answer


async def test_killed_after_x_accepted_then_restarted_gives_one_reply(
    sandbox: Sandbox, settings: Settings, database_url: str, tmp_path: Path
) -> None:
    env = {
        **without_opsbot_settings(),
        **sandbox.environment(),
        "OPSBOT_DATABASE_URL": database_url,
        "OPSBOT_POLL_IDLE_SECONDS": "0.3",
        "OPSBOT_X_TIMEOUT_SECONDS": "120",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "opsbot",
        "run",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        question = sandbox.x.visitor_posts("ivan", "@museum Когда открылся музей? #museumsalon")
        [card] = await wait_for_cards(sandbox, 1, timeout=30)
        preview = await write_answer(sandbox, CURATOR_EN.user_id, card, "In 1883.")
        # X stores the post and then holds its answer: the bot is waiting when it dies.
        sandbox.x.inject_fault(Fault(endpoint="createPosts", status=0, delay=60, accept=True))
        await press_and_wait(sandbox, CURATOR_EN.user_id, preview, "Post")
        await sandbox.x.wait_for(lambda: len(sandbox.x.museum_posts()) == 1, timeout=20)
    finally:
        process.kill()
        await process.wait()
    sandbox.x.faults.clear()

    async with running(settings, poll_timeout=1) as bot:
        await sandbox.telegram.wait_for(
            lambda: "Ответил(а) Boris" in message_by_id(sandbox, card["message_id"])["text"],
            timeout=30,
        )
        # The preview is edited by the outbox's telling, the card by any refresh: the card may
        # show the answer first, and an edit still due when the bot stops never lands.
        await sandbox.telegram.wait_for(
            lambda: "Posted" in message_by_id(sandbox, preview["message_id"])["text"]
        )
        async with bot.bot_data.sessionmaker.begin() as session:
            [answer] = list(await session.scalars(select(Answer)))
    [reply] = sandbox.x.museum_posts()
    assert reply["in_reply_to_tweet_id"] == question["id"]
    assert answer.status == "posted" and answer.x_post_id == reply["id"]
    assert "Posted" in message_by_id(sandbox, preview["message_id"])["text"]
    creates = [r for r in sandbox.x.requests if r.endpoint == "createPosts"]
    assert len(creates) == 1
