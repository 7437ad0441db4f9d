"""Planning and reminders, with time moved by the test instead of waited for."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from opsbot.clock import ManualClock
from opsbot.db.models import Reminder, Salon
from opsbot.emulators.sandbox import CURATOR_EN, CURATOR_RU, MODERATOR, STAFF_CHAT_ID, Sandbox
from opsbot.runtime import running
from opsbot.settings import Settings
from opsbot.telegram.context import OpsbotApplication
from opsbot.telegram.reminders import send_due
from tests.integration.test_salons import command

MOSCOW = ZoneInfo("Europe/Moscow")


def move(clock: ManualClock, *args: int, zone: ZoneInfo = MOSCOW) -> None:
    """Move the world's clock (the bot's and the emulators') to a local moment."""
    clock.set(datetime(*args, tzinfo=zone).astimezone(UTC))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 12, 2, 10, 0, tzinfo=MOSCOW))  # a Wednesday


@pytest.fixture
async def planner(settings: Settings, clock: ManualClock) -> AsyncIterator[OpsbotApplication]:
    async with running(settings, poll_timeout=1, clock=clock) as application:
        yield application


def reminders_in(sandbox: Sandbox, chat_id: int) -> list[dict[str, Any]]:
    return [
        m for m in sandbox.telegram.chat_view(chat_id) if m["from"]["is_bot"] and "⏰" in m["text"]
    ]


async def reminders_arrived(sandbox: Sandbox, chat_id: int, count: int) -> list[dict[str, Any]]:
    """The chat's reminders once `count` have come. The bot's own tick (every 20 s) may claim a
    reminder just before the test's `send_due` and still be sending it when that returns."""

    def enough() -> list[dict[str, Any]] | None:
        found = reminders_in(sandbox, chat_id)
        return found if len(found) >= count else None

    enough.__name__ = f"{count}_reminders_in_{chat_id}"
    if count == 0:
        return reminders_in(sandbox, chat_id)
    return await sandbox.telegram.wait_for(enough)  # type: ignore[no-any-return]


async def prepare_duty(sandbox: Sandbox) -> None:
    telegram = sandbox.telegram
    for person in (CURATOR_EN, CURATOR_RU):
        # Curators become known by writing in the group; /start in private opts them in.
        await command(sandbox, person.user_id, "/help", "")
        telegram.user_sends(person.user_id, person.user_id, "/start")
        await telegram.wait_for(
            lambda p=person: any(m["from"]["is_bot"] for m in telegram.chat_view(p.user_id))
        )


async def test_weekly_saturday_reminders_each_once_to_group_and_duty(
    sandbox: Sandbox, planner: OpsbotApplication, clock: ManualClock
) -> None:
    await prepare_duty(sandbox)
    planned = await command(
        sandbox, MODERATOR.user_id, "/schedule weekly сб 19:00 Музейная гостиная", "Запланировано"
    )
    number = planned["text"].splitlines()[1].split()[0].lstrip("#")
    assert "05.12.2026 19:00" in planned["text"]
    await command(
        sandbox, MODERATOR.user_id, f"/duty {number} @boris_curator @vera_curator", "Дежурят"
    )
    runtime = planner.bot_data
    for moment, expected in [
        ((2026, 12, 4, 18, 59), 0),
        ((2026, 12, 4, 19, 0), 1),
        ((2026, 12, 4, 19, 30), 1),
        ((2026, 12, 5, 18, 0), 2),
        ((2026, 12, 5, 18, 50), 3),
        ((2026, 12, 5, 18, 55), 3),
    ]:
        move(clock, *moment)
        await send_due(planner.bot, runtime)
        await send_due(planner.bot, runtime)
        assert len(await reminders_arrived(sandbox, STAFF_CHAT_ID, expected)) == expected, moment
    group = reminders_in(sandbox, STAFF_CHAT_ID)
    assert [
        "через 24 часа" in group[0]["text"],
        "через 1 час" in group[1]["text"],
        "через 10 минут" in group[2]["text"],
    ] == [True] * 3
    assert all("Boris" in m["text"] and "Vera" in m["text"] for m in group)
    # The private ones go after the group's, possibly from the tick.
    boris = await reminders_arrived(sandbox, CURATOR_EN.user_id, 3)
    vera = await reminders_arrived(sandbox, CURATOR_RU.user_id, 3)
    assert len(boris) == 3 and len(vera) == 3
    assert "in 24 hours" in boris[0]["text"] and "через 24 часа" in vera[0]["text"]


async def test_downtime_sends_latest_missed_late_and_drops_older(
    sandbox: Sandbox, settings: Settings, clock: ManualClock
) -> None:
    async with running(settings, poll_timeout=1, clock=clock):
        await command(sandbox, MODERATOR.user_id, "/schedule сб 19:00 Гостиная", "Запланировано")
        move(clock, 2026, 12, 4, 18, 0)  # Friday 18:00: the bot is stopped
    move(clock, 2026, 12, 5, 18, 30)  # Saturday 18:30: started again
    async with running(settings, poll_timeout=1, clock=clock) as bot:
        # The first tick, a second after the start, sends the late one.
        await sandbox.telegram.wait_for(lambda: reminders_in(sandbox, STAFF_CHAT_ID), timeout=20)
        await send_due(bot.bot, bot.bot_data)
        [late] = reminders_in(sandbox, STAFF_CHAT_ID)
        assert "через 1 час" in late["text"] and "С опозданием" in late["text"]
        move(clock, 2026, 12, 5, 18, 50)
        await send_due(bot.bot, bot.bot_data)
        assert len(await reminders_arrived(sandbox, STAFF_CHAT_ID, 2)) == 2
        on_time = reminders_in(sandbox, STAFF_CHAT_ID)[1]
        assert "через 10 минут" in on_time["text"] and "С опозданием" not in on_time["text"]
        async with bot.bot_data.sessionmaker.begin() as session:
            statuses = {r.offset_minutes: r.status for r in await session.scalars(select(Reminder))}
    assert statuses[24 * 60] == "dropped" and statuses[60] == "sent" and statuses[10] == "sent"
    assert not any("через 24 часа" in m["text"] for m in reminders_in(sandbox, STAFF_CHAT_ID))


MALFORMED = [
    ("/schedule", "Скажите, когда и о чём"),
    ("/schedule 29.12", "Не указано время"),
    ("/schedule 29.12 Тема", "Не указано время"),
    ("/schedule 31.02 19:00 Тема", "непонятная дата"),
    ("/schedule 2026-13-01 19:00 Тема", "непонятная дата"),
    ("/schedule 29.12.26 19:00 Тема", "напишите год полностью"),
    ("/schedule 29.12 25:00 Тема", "не время"),
    ("/schedule 29.12 19:60 Тема", "не время"),
    ("/schedule 29.12 7pm Тема", "не время"),
    ("/schedule xyz 19:00 Тема", "непонятная дата"),
    ("/schedule 01.12.2026 19:00 Тема", "уже прошло"),
    ("/schedule 2026-12-02 09:00 Тема", "уже прошло"),
    ("/schedule weekly funday 19:00 Тема", "не день недели"),
    ("/schedule weekly сб 19:00", "должна быть тема"),
    ("/schedule 29.12 19:00 " + "т" * 201, "не больше 200 символов"),
    ("/schedule 29.12 19:00 Тема 10m", "от 15 минут до 4 часов"),
    ("/schedule 29.12 19:00 Тема 5h", "от 15 минут до 4 часов"),
    ("/schedule 29.12 19:00 Тема 0h", "от 15 минут до 4 часов"),
    ("/schedule 29.12 19:00 Тема 1h90m", "не длительность"),
    ("/schedule 29.12 19:00 2h", "должна быть тема"),
    ("/schedule weekly", "Скажите, когда и о чём"),
    ("/schedule сб 19:00 Тема", "Запланировано"),
    ("/schedule сб 19:30 Другая тема", "пересекается с гостиной"),
]


async def test_malformed_schedule_lines_get_the_right_refusal(
    sandbox: Sandbox, planner: OpsbotApplication, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    assert len(MALFORMED) >= 20
    for line, expected in MALFORMED:
        reply = await command(sandbox, MODERATOR.user_id, line, expected)
        if expected != "Запланировано":
            assert "Даты: 2026-12-29, 29.12" in reply["text"], line
    # A curator may not plan; an English-speaking moderator reads English.
    await command(sandbox, CURATOR_RU.user_id, "/schedule сб 19:00 Тема", "только модераторы")
    await command(sandbox, MODERATOR.user_id, "/language en", "English")
    reply = await command(
        sandbox, MODERATOR.user_id, "/schedule 29.12 25:00 Topic", "is not a time"
    )
    assert "Dates: 2026-12-29" in reply["text"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_reschedule_and_unschedule_move_and_remove_reminders(
    sandbox: Sandbox, planner: OpsbotApplication, clock: ManualClock
) -> None:
    anna = MODERATOR.user_id
    planned = await command(sandbox, anna, "/schedule сб 19:00 Гостиная", "Запланировано")
    number = planned["text"].splitlines()[1].split()[0].lstrip("#")
    await command(sandbox, anna, f"/reschedule {number} 06.12.2026 12:00", "Перенесено")
    await command(sandbox, anna, "/salons", f"#{number} · 06.12.2026 12:00")
    async with planner.bot_data.sessionmaker.begin() as session:
        dues = sorted(r.due_at for r in await session.scalars(select(Reminder)))
    assert dues[-1] == datetime(2026, 12, 6, 12, 0, tzinfo=MOSCOW)
    await command(sandbox, anna, f"/unschedule {number}", "Отменена 1")
    async with planner.bot_data.sessionmaker.begin() as session:
        assert list(await session.scalars(select(Reminder))) == []
    move(clock, 2026, 12, 6, 11, 0)
    assert await send_due(planner.bot, planner.bot_data) == 0


BERLIN = ZoneInfo("Europe/Berlin")


async def test_berlin_dst_keeps_wall_clock_time(
    sandbox: Sandbox, settings: Settings, clock: ManualClock
) -> None:
    berlin = settings.model_copy(update={"timezone": "Europe/Berlin"})
    move(clock, 2027, 3, 18, 12, 0, zone=BERLIN)
    async with running(berlin, poll_timeout=1, clock=clock) as bot:
        await command(
            sandbox, MODERATOR.user_id, "/schedule weekly вс 19:00 Весна", "Запланировано"
        )
        async with bot.bot_data.sessionmaker.begin() as session:
            salons = list(await session.scalars(select(Salon).order_by(Salon.planned_start_at)))
            reminders = list(await session.scalars(select(Reminder)))
        starts = [s.planned_start_at for s in salons[:3] if s.planned_start_at]
        assert [s.astimezone(BERLIN).hour for s in starts] == [19, 19, 19]
        assert [s.hour for s in starts] == [18, 17, 17]  # CET, then CEST after 2027-03-28
        across = salons[1]
        day_before = next(
            r for r in reminders if r.salon_id == across.id and r.offset_minutes == 24 * 60
        )
        # Saturday 19:00 in Berlin (still winter time), not 24 absolute hours earlier.
        assert day_before.due_at.astimezone(BERLIN) == datetime(2027, 3, 27, 19, 0, tzinfo=BERLIN)
        move(clock, 2027, 3, 27, 19, 0, zone=BERLIN)
        await send_due(bot.bot, bot.bot_data)
        [message] = await reminders_arrived(sandbox, STAFF_CHAT_ID, 1)
        assert "28.03.2027 в 19:00" in message["text"]


async def test_planned_salon_starts_itself_or_reminds_the_moderator(
    sandbox: Sandbox, planner: OpsbotApplication, clock: ManualClock
) -> None:
    from opsbot.telegram.context import OpsbotContext

    anna = MODERATOR.user_id
    first = await command(sandbox, anna, "/schedule 05.12.2026 19:00 Сама", "Запланировано")
    second = await command(sandbox, anna, "/schedule 06.12.2026 19:00 По команде", "Запланировано")
    auto = first["text"].splitlines()[1].split()[0].lstrip("#")
    manual = second["text"].splitlines()[1].split()[0].lstrip("#")
    await command(sandbox, anna, f"/autostart {auto} on", "начнётся сама")
    await command(sandbox, anna, "/autostart 999 on", "нет")
    context = OpsbotContext(planner)
    move(clock, 2026, 12, 5, 19, 0)
    await send_due(planner.bot, planner.bot_data, context)
    start = await said_in_group(sandbox, "Гостиная #" + auto + " «Сама» идёт до")
    assert "Обязательство" in start["text"]
    await command(sandbox, anna, "/end_salon", "завершена")
    move(clock, 2026, 12, 6, 19, 0)
    await send_due(planner.bot, planner.bot_data, context)
    await said_in_group(sandbox, f"Пора начинать гостиную #{manual}")
    await command(sandbox, anna, "/start_salon", f"Гостиная #{manual} «По команде» идёт до")


async def said_in_group(sandbox: Sandbox, text: str) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        return next(
            (m for m in sandbox.telegram.chat_view(STAFF_CHAT_ID) if text in m["text"]), None
        )

    return await sandbox.telegram.wait_for(found)  # type: ignore[no-any-return]


@pytest.mark.parametrize("bot_overrides", [{"reminder_offsets": "none"}])
async def test_reminders_set_to_none_leave_only_the_start(
    sandbox: Sandbox, planner: OpsbotApplication, clock: ManualClock
) -> None:
    """OPSBOT_REMINDER_OFFSETS=none: no reminder before a salon, but it still starts."""
    await command(sandbox, MODERATOR.user_id, "/schedule weekly сб 19:00 Тихо", "Запланировано")
    async with planner.bot_data.sessionmaker.begin() as session:
        offsets = {r.offset_minutes for r in await session.scalars(select(Reminder))}
    assert offsets == {0}
    move(clock, 2026, 12, 5, 18, 59)
    assert await send_due(planner.bot, planner.bot_data) == 0
    assert reminders_in(sandbox, STAFF_CHAT_ID) == []


async def test_a_salon_started_on_the_spot_is_a_clash_for_planning(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    await command(sandbox, MODERATOR.user_id, "/start_salon Экспромт 2h", "Экспромт")
    # Half an hour from now on the museum's clock, while the salon still runs.
    soon = (bot.bot_data.clock.now() + timedelta(minutes=30)).astimezone(bot.bot_data.settings.zone)
    line = f"/schedule {soon:%d.%m.%Y %H:%M} Другая тема"
    reply = await command(sandbox, MODERATOR.user_id, line, "пересекается с гостиной")
    assert "Экспромт" in reply["text"]
    async with bot.bot_data.sessionmaker.begin() as session:
        assert len(list(await session.scalars(select(Salon)))) == 1
