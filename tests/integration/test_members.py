"""Someone removed from the staff group, or demoted, loses their rights at once, not a minute
later: the bot follows Telegram's chat_member updates."""

from __future__ import annotations

import asyncio
from typing import Any

from opsbot.emulators.sandbox import CURATOR_EN, MODERATOR, STAFF_CHAT_ID, Sandbox
from opsbot.telegram.context import OpsbotApplication
from opsbot.telegram.roles import Role
from tests.integration.helpers import bot_messages


async def role_becomes(bot: OpsbotApplication, user_id: int, role: Role | None) -> None:
    roles = bot.bot_data.roles
    # The update comes through a long poll: on a loaded machine that can take seconds.
    deadline = asyncio.get_running_loop().time() + 20.0
    while asyncio.get_running_loop().time() < deadline:
        if await roles.role_of(STAFF_CHAT_ID, user_id) == role:
            return
        await asyncio.sleep(0.05)
    seen = await roles.role_of(STAFF_CHAT_ID, user_id)
    raise AssertionError(f"the bot sees user {user_id} as {seen}, not {role}")


async def bot_listens(sandbox: Sandbox) -> None:
    """Telegram sends chat_member updates only once the bot has asked for them."""
    await sandbox.telegram.wait_for(
        lambda: any(r.endpoint == "getUpdates" for r in sandbox.telegram.requests)
    )


async def reply_in_private(sandbox: Sandbox, user_id: int, text: str) -> dict[str, Any]:
    sent = sandbox.telegram.user_sends(user_id, user_id, text)

    def reply() -> dict[str, Any] | None:
        return next(
            (
                m
                for m in sandbox.telegram.chat_view(user_id)
                if m["from"]["is_bot"] and m["message_id"] > sent["message_id"]
            ),
            None,
        )

    return await sandbox.telegram.wait_for(reply)  # type: ignore[no-any-return]


async def test_a_removed_curator_is_refused_at_once(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    # Boris uses the bot in private, so the bot has his membership in its cache.
    listing = await reply_in_private(sandbox, CURATOR_EN.user_id, "/queue")
    assert "No unanswered questions" in listing["text"]
    await bot_listens(sandbox)

    sandbox.telegram.change_member(
        STAFF_CHAT_ID, CURATOR_EN.user_id, "kicked", by_user_id=MODERATOR.user_id
    )
    await role_becomes(bot, CURATOR_EN.user_id, None)
    refusal = await reply_in_private(sandbox, CURATOR_EN.user_id, "/queue")
    assert refusal["text"] == "This bot works for the museum's staff group only."


async def test_a_demoted_moderator_cannot_moderate_at_once(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    await bot_listens(sandbox)
    sandbox.telegram.change_member(
        STAFF_CHAT_ID, CURATOR_EN.user_id, "administrator", by_user_id=MODERATOR.user_id
    )
    await role_becomes(bot, CURATOR_EN.user_id, Role.MODERATOR)
    sandbox.telegram.change_member(
        STAFF_CHAT_ID, CURATOR_EN.user_id, "member", by_user_id=MODERATOR.user_id
    )
    await role_becomes(bot, CURATOR_EN.user_id, Role.CURATOR)
    sent = sandbox.telegram.user_sends(STAFF_CHAT_ID, CURATOR_EN.user_id, "/start_salon Topic")
    refusal = await sandbox.telegram.wait_for(
        lambda: next(
            (
                m
                for m in bot_messages(sandbox)
                if m.get("reply_to_message_id") == sent["message_id"]
            ),
            None,
        )
    )
    assert refusal["text"] == "Only moderators can do this."
