"""Two bots on one database: the second refuses to start and the first goes on undisturbed."""

from __future__ import annotations

import pytest

from opsbot.db.instance_lock import AnotherInstanceRunning
from opsbot.emulators.sandbox import Sandbox
from opsbot.runtime import running
from opsbot.settings import Settings
from tests.integration.helpers import wait_for_cards


async def test_a_second_bot_on_the_same_database_refuses_to_start(
    sandbox: Sandbox, settings: Settings
) -> None:
    async with running(settings, poll_timeout=1):
        sandbox.x.visitor_posts("ivan", "@museum Первый вопрос #museumsalon")
        await wait_for_cards(sandbox, 1)
        with pytest.raises(AnotherInstanceRunning, match="another opsbot is running"):
            async with running(settings, poll_timeout=1):
                pass
        sandbox.x.visitor_posts("olga", "@museum Второй вопрос #museumsalon")
        await wait_for_cards(sandbox, 2)
    # Once the first has stopped, the lock is free again.
    async with running(settings, poll_timeout=1):
        sandbox.x.visitor_posts("petr", "@museum Третий вопрос #museumsalon")
        await wait_for_cards(sandbox, 3)
