"""A co-hosted planned salon reminds both museums: each group in its language, the start on
its own clock, each reminder once, each museum's curators on duty in private."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from opsbot.clock import ManualClock
from opsbot.db.models import Reminder, ReminderStatus
from opsbot.emulators.sandbox import CURATOR_RU, STAFF_CHAT_ID, Sandbox
from opsbot.runtime import running
from opsbot.services import planning
from opsbot.settings import Settings
from opsbot.telegram.context import OpsbotApplication
from opsbot.telegram.reminders import send_due
from tests.integration.partner_world import PARTNER_CHAT_ID, PARTNER_CURATOR, seat_partner
from tests.integration.test_reminders import prepare_duty, reminders_in

MOSCOW = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")
# Sunday 28 March 2027, 19:00 in Moscow: Berlin moves its clocks forward that night, so the
# partner's "24 hours before" on its wall clock is an hour away from the host's.
STARTS = datetime(2027, 3, 28, 19, 0, tzinfo=MOSCOW)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2027, 3, 24, 12, 0, tzinfo=MOSCOW))


@pytest.fixture
async def planner(settings: Settings, clock: ManualClock) -> AsyncIterator[OpsbotApplication]:
    async with running(settings, poll_timeout=1, clock=clock) as application:
        yield application


async def plan_cohosted(bot: OpsbotApplication, partner_id: int) -> int:
    runtime = bot.bot_data
    async with runtime.sessionmaker.begin() as session:
        planned = await planning.plan_one(
            session,
            starts_at=STARTS.astimezone(UTC),
            topic="Новый год в разных культурах",
            duration=timedelta(hours=2),
            by=None,
            offsets=runtime.settings.reminder_offsets,
            zone=runtime.settings.zone,
            partner_id=partner_id,
        )
        return planned.salons[0].id


async def test_berlin_partner_gets_english_reminders_at_its_local_offsets(
    sandbox: Sandbox, planner: OpsbotApplication, clock: ManualClock
) -> None:
    await prepare_duty(sandbox)
    partner = await seat_partner(sandbox, planner)
    number = await plan_cohosted(planner, partner.id)
    async with planner.bot_data.sessionmaker.begin() as session:
        await planning.set_duty(session, number, [CURATOR_RU.user_id, PARTNER_CURATOR.user_id])
    runtime = planner.bot_data

    async def moment(local: datetime) -> None:
        clock.set(local.astimezone(UTC))
        await send_due(planner.bot, runtime)
        await send_due(planner.bot, runtime)  # a second round sends nothing twice

    # Saturday 19:00 on Moscow's wall clock is 17:00 in Berlin (CET): the host's day-before.
    await moment(datetime(2027, 3, 27, 17, 0, tzinfo=BERLIN))
    assert len(reminders_in(sandbox, STAFF_CHAT_ID)) == 1
    assert reminders_in(sandbox, PARTNER_CHAT_ID) == []
    # 24 hours before 18:00 CEST on Berlin's wall clock: Saturday 18:00 CET.
    await moment(datetime(2027, 3, 27, 18, 0, tzinfo=BERLIN))
    [day_before] = reminders_in(sandbox, PARTNER_CHAT_ID)
    assert "in 24 hours" in day_before["text"]
    assert "28.03.2027 at 18:00" in day_before["text"]  # the start on Berlin's clock
    assert "On duty at @museum: Vera" in day_before["text"]
    assert "On duty at @religionmuseum: Lena" in day_before["text"]
    host = reminders_in(sandbox, STAFF_CHAT_ID)
    assert len(host) == 1 and "через 24 часа" in host[0]["text"]
    assert "28.03.2027 в 19:00" in host[0]["text"]
    assert "Дежурят в @religionmuseum: Lena" in host[0]["text"]

    await moment(datetime(2027, 3, 28, 17, 0, tzinfo=BERLIN))
    await moment(datetime(2027, 3, 28, 17, 50, tzinfo=BERLIN))
    partner_texts = [m["text"] for m in reminders_in(sandbox, PARTNER_CHAT_ID)]
    assert len(partner_texts) == 3
    assert ["in 1 hour" in partner_texts[1], "in 10 minutes" in partner_texts[2]] == [True] * 2
    assert len(reminders_in(sandbox, STAFF_CHAT_ID)) == 3

    # Each museum's curator on duty hears privately from the own museum's set, once each.
    lena = reminders_in(sandbox, PARTNER_CURATOR.user_id)
    vera = reminders_in(sandbox, CURATOR_RU.user_id)
    assert len(lena) == 3 and len(vera) == 3
    assert "in 24 hours" in lena[0]["text"] and "at 18:00" in lena[0]["text"]
    assert "через 24 часа" in vera[0]["text"] and "в 19:00" in vera[0]["text"]

    async with runtime.sessionmaker.begin() as session:
        rows = list(await session.scalars(select(Reminder).where(Reminder.salon_id == number)))
    partner_rows = {r.offset_minutes: r for r in rows if r.partner_id == partner.id}
    assert set(partner_rows) == {24 * 60, 60, 10}  # the start is the host's to call
    assert all(r.status == ReminderStatus.SENT and not r.late for r in partner_rows.values())


async def test_partner_reminders_survive_a_restart_and_are_not_sent_again(
    sandbox: Sandbox, settings: Settings, clock: ManualClock
) -> None:
    async with running(settings, poll_timeout=1, clock=clock) as bot:
        partner = await seat_partner(sandbox, bot)
        await plan_cohosted(bot, partner.id)
        clock.set(datetime(2027, 3, 27, 18, 0, tzinfo=BERLIN).astimezone(UTC))
        await send_due(bot.bot, bot.bot_data)
        assert len(reminders_in(sandbox, PARTNER_CHAT_ID)) == 1
    async with running(settings, poll_timeout=1, clock=clock) as bot:
        await send_due(bot.bot, bot.bot_data)
        assert len(reminders_in(sandbox, PARTNER_CHAT_ID)) == 1
        # Down through the hour-before, back at 17:55 Berlin: only the latest, marked late.
        clock.set(datetime(2027, 3, 28, 17, 55, tzinfo=BERLIN).astimezone(UTC))
        await send_due(bot.bot, bot.bot_data)
        texts = [m["text"] for m in reminders_in(sandbox, PARTNER_CHAT_ID)]
    assert len(texts) == 2
    assert "in 10 minutes" in texts[1] and "Late" in texts[1]
