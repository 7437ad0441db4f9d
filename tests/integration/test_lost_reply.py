"""A curator's answer that reached Telegram as the bot died is not silently lost: after the
restart the curator is asked, once, to send it again."""

from __future__ import annotations

from typing import Any

from telegram import Bot

from opsbot.emulators.sandbox import CURATOR_EN, STAFF_CHAT_ID, Sandbox
from opsbot.runtime import running
from opsbot.settings import Settings
from tests.integration.helpers import (
    bot_messages,
    press_and_wait,
    preview_for,
    wait_for_cards,
    write_answer,
)

ASK_AGAIN = "the bot was restarted just now"


async def updates_taken_by_a_dying_process(sandbox: Sandbox) -> None:
    """What a process killed after fetching updates leaves behind: they are confirmed."""
    bot = Bot(sandbox.credentials["telegram_token"], base_url=f"{sandbox.telegram.base_url}/bot")
    async with bot:
        updates = await bot.get_updates(timeout=0)
        if updates:
            await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)


def asked_again(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [m for m in bot_messages(sandbox) if ASK_AGAIN in m["text"]]


async def test_a_reply_lost_in_a_crash_is_asked_for_again_once(
    sandbox: Sandbox, settings: Settings
) -> None:
    sandbox.x.visitor_posts("ivan", "@museum Когда основан музей? #museumsalon")
    sandbox.x.visitor_posts("olga", "@museum Где гардероб? #museumsalon")
    async with running(settings, poll_timeout=1):
        first, second = await wait_for_cards(sandbox, 2)
        # One answer was drafted before the crash; the other prompt was still open.
        await write_answer(sandbox, CURATOR_EN.user_id, first, "В 1872 году.")
        seen = {m["message_id"] for m in bot_messages(sandbox)}
        await press_and_wait(sandbox, CURATOR_EN.user_id, second, "Ответить")
        prompt = await sandbox.telegram.wait_for(
            lambda: next(
                (
                    m
                    for m in bot_messages(sandbox)
                    if m["message_id"] not in seen
                    and (m.get("reply_markup") or {}).get("force_reply")
                ),
                None,
            )
        )
    sandbox.telegram.user_sends(
        STAFF_CHAT_ID,
        CURATOR_EN.user_id,
        "On the ground floor.",
        reply_to_message_id=prompt["message_id"],
    )
    await updates_taken_by_a_dying_process(sandbox)

    async with running(settings, poll_timeout=1):
        again = await sandbox.telegram.wait_for(lambda: asked_again(sandbox) or None)
        [notice] = again
        assert "@olga" in notice["text"] and "@ivan" not in notice["text"]
        assert notice["reply_markup"]["force_reply"]
        sent = sandbox.telegram.user_sends(
            STAFF_CHAT_ID,
            CURATOR_EN.user_id,
            "On the ground floor.",
            reply_to_message_id=notice["message_id"],
        )
        preview = await preview_for(sandbox, sent["message_id"])
        assert "On the ground floor." in preview["text"]

    async with running(settings, poll_timeout=1):
        await wait_for_cards(sandbox, 2)
    # Asked once: neither the answered prompt nor the one already asked again is asked again.
    assert len(asked_again(sandbox)) == 1
