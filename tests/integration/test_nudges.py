"""Nudges while a salon is live, and the open questions ten minutes before its end: at the
minute they are due on a moved clock, at most one nudge a period, to the curators on duty."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from opsbot.clock import ManualClock
from opsbot.emulators.sandbox import CURATOR_EN, CURATOR_RU, MODERATOR, STAFF_CHAT_ID, Sandbox
from opsbot.telegram.context import OpsbotApplication
from tests.integration.helpers import (
    cards,
    one_card_each,
    press_and_wait,
    settled,
    wait_for_cards,
)
from tests.integration.test_salons import command, said

NUDGE_RU = "никто не взял за 5+ минут"
NUDGE_EN = "nobody has taken for 5+ minutes"
MOSCOW = ZoneInfo("Europe/Moscow")


def nudges_in(sandbox: Sandbox, chat_id: int, text: str = NUDGE_RU) -> list[dict[str, Any]]:
    return [
        m for m in sandbox.telegram.chat_view(chat_id) if m["from"]["is_bot"] and text in m["text"]
    ]


async def move_and_look(bot: OpsbotApplication, clock: ManualClock, minutes: float) -> None:
    """Move the clock, then wait until the salon's nudge check has run at the new moment
    (and sent what it had to): it arms its next look after the clock's new time."""
    runtime = bot.bot_data
    salon_id = runtime.live_salon_id
    assert salon_id is not None
    clock.advance(timedelta(minutes=minutes).total_seconds())
    moved_to = clock.now()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20.0
    while (due := runtime.timers.due(f"salon-{salon_id}-nudge")) is None or due <= moved_to:
        if loop.time() > deadline:
            raise AssertionError("the nudge check did not run when the clock moved")
        await asyncio.sleep(0.02)
    await settled(bot)


async def start_salon(sandbox: Sandbox, text: str = "/start_salon Вечер 1h") -> None:
    await command(sandbox, MODERATOR.user_id, text, "Обязательство")


async def test_nudge_at_the_minute_and_at_most_one_a_period(
    sandbox: Sandbox, bot: OpsbotApplication, clock: ManualClock
) -> None:
    one_card_each(bot)
    await start_salon(sandbox)
    sandbox.x.visitor_posts("ivan", "@museum Когда построили музей? #museumsalon")
    # Not replyable (no tag): the curators answer by hand, nobody is nudged about it.
    sandbox.x.visitor_posts("petr", "А где гардероб? #museumsalon")
    await wait_for_cards(sandbox, 2)
    await move_and_look(bot, clock, 4)
    assert nudges_in(sandbox, STAFF_CHAT_ID) == []
    await move_and_look(bot, clock, 1.1)
    [first] = nudges_in(sandbox, STAFF_CHAT_ID)
    assert "@ivan" in first["text"] and "@petr" not in first["text"]
    assert "1 вопрос никто не взял" in first["text"]

    sandbox.x.visitor_posts("olga", "@museum Можно ли фотографировать? #museumsalon")
    await wait_for_cards(sandbox, 3)
    # Ivan's question still waits, but a nudge came less than a period ago.
    await move_and_look(bot, clock, 2)
    await move_and_look(bot, clock, 2)
    assert len(nudges_in(sandbox, STAFF_CHAT_ID)) == 1
    await move_and_look(bot, clock, 1.1)
    second = nudges_in(sandbox, STAFF_CHAT_ID)[1]
    assert "2 вопроса никто не взял" in second["text"]
    assert second["text"].index("@ivan") < second["text"].index("@olga")

    # A taken question is nobody's concern any more.
    ivan = next(c for c in cards(sandbox) if "@ivan" in c["text"])
    await press_and_wait(sandbox, CURATOR_RU.user_id, ivan, "Взять")
    await move_and_look(bot, clock, 5.1)
    third = nudges_in(sandbox, STAFF_CHAT_ID)[2]
    assert "@olga" in third["text"] and "@ivan" not in third["text"]
    assert len(nudges_in(sandbox, STAFF_CHAT_ID)) == 3


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 12, 2, 10, 0, tzinfo=MOSCOW).astimezone(UTC))


async def test_nudge_goes_to_the_curators_on_duty(
    sandbox: Sandbox, bot: OpsbotApplication, clock: ManualClock
) -> None:
    """Boris has a private chat with the bot: he is nudged there, in English. Vera has none:
    she is named in the salon's topic, once."""
    telegram = sandbox.telegram
    # Both become known by writing in the group; only Boris starts a private chat.
    for person in (CURATOR_EN, CURATOR_RU):
        await command(sandbox, person.user_id, "/help", "")
    telegram.user_sends(CURATOR_EN.user_id, CURATOR_EN.user_id, "/start")
    await telegram.wait_for(
        lambda: any(m["from"]["is_bot"] for m in telegram.chat_view(CURATOR_EN.user_id))
    )
    planned = await command(
        sandbox, MODERATOR.user_id, "/schedule 02.12.2026 10:30 Утро", "Запланировано"
    )
    number = planned["text"].splitlines()[1].split()[0].lstrip("#")
    await command(
        sandbox, MODERATOR.user_id, f"/duty {number} @boris_curator @vera_curator", "Дежурят"
    )
    await start_salon(sandbox, "/start_salon")
    sandbox.x.visitor_posts("ivan", "@museum Когда построили музей? #museumsalon")
    await wait_for_cards(sandbox, 1)
    await move_and_look(bot, clock, 5.1)
    [private] = nudges_in(sandbox, CURATOR_EN.user_id, NUDGE_EN)
    assert "@ivan" in private["text"]
    # Vera never wrote to the bot in private: there is no such chat for it to write in.
    assert CURATOR_RU.user_id not in sandbox.telegram.chats
    [group] = nudges_in(sandbox, STAFF_CHAT_ID)
    assert "Vera" in group["text"] and "Boris" not in group["text"]
    assert any(e.get("type") == "text_mention" for e in group.get("entities") or [])


# Vera keeps her take for the whole hour: a take lapses after OPSBOT_TAKE_MINUTES otherwise.
@pytest.mark.parametrize("bot_overrides", [{"take_minutes": 240}])
async def test_ten_minutes_before_the_end_the_open_questions_and_who_has_which(
    sandbox: Sandbox, bot: OpsbotApplication, clock: ManualClock
) -> None:
    one_card_each(bot)
    await command(sandbox, MODERATOR.user_id, "/vip @olga партнёр", "приоритетный")
    await start_salon(sandbox)
    # A second apart: posts of the same second have no "oldest" between them.
    sandbox.x.visitor_posts("ivan", "@museum Когда построили музей? #museumsalon")
    clock.advance(1)
    sandbox.x.visitor_posts("petr", "А где гардероб? #museumsalon")
    clock.advance(1)
    sandbox.x.visitor_posts("olga", "@museum Будет ли выставка в Казани? #museumsalon")
    await wait_for_cards(sandbox, 3)
    ivan = next(c for c in cards(sandbox) if "@ivan" in c["text"])
    await press_and_wait(sandbox, CURATOR_RU.user_id, ivan, "Взять")
    clock.advance(timedelta(minutes=50).total_seconds())
    warning = await said(sandbox, "закончится через 10 минут")
    lines = warning["text"].splitlines()
    assert "Ещё открыты 3 вопроса:" in lines
    listed = lines[lines.index("Ещё открыты 3 вопроса:") + 1 :]
    # The priority sender first, then the oldest; each with who has it.
    assert [line.split(":")[0].split()[-1] for line in listed] == ["@olga", "@ivan", "@petr"]
    assert listed[0].startswith("⭐") and listed[0].endswith("никто не взял")
    assert listed[1].endswith("— Vera")
    assert listed[2].endswith("никто не взял")
