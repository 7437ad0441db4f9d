"""A button press Telegram has already expired still acts, and logs no error."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from opsbot.emulators.sandbox import CURATOR_EN, STAFF_CHAT_ID, Sandbox
from opsbot.telegram.context import OpsbotApplication
from tests.integration.helpers import buttons, message_by_id, wait_for_cards


@pytest.fixture
def telegram_options() -> dict[str, Any]:
    # Every press has expired before the bot can answer it.
    return {"group_limit": (20, 2.0), "global_limit": (30, 1.0), "callback_timeout": 0.0}


async def test_expired_press_still_acts_and_logs_no_error(
    sandbox: Sandbox, bot: OpsbotApplication, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.x.visitor_posts("ivan", "@museum Q #museumsalon")
    [card] = await wait_for_cards(sandbox, 1)
    caplog.set_level(logging.INFO)
    sandbox.telegram.user_presses(
        STAFF_CHAT_ID, CURATOR_EN.user_id, card["message_id"], buttons(card)["Взять"]
    )
    await sandbox.telegram.wait_for(
        lambda: "Boris" in message_by_id(sandbox, card["message_id"])["text"]
    )
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert sandbox.telegram.callback_answers == {}
