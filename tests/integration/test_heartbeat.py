"""The heartbeat: written while Telegram and X answer, read by `opsbot health` with no token,
and compared at start to tell the staff group how long the bot was down."""

from __future__ import annotations

import asyncio
import re
import sys
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from opsbot.db.base import utcnow
from opsbot.db.engine import create_engine, create_sessionmaker
from opsbot.db.models import Heartbeat, XCursor
from opsbot.emulators.base import Fault
from opsbot.emulators.sandbox import STAFF_CHAT_ID, Sandbox
from opsbot.runtime import running
from opsbot.services import heartbeat
from opsbot.settings import Settings
from opsbot.telegram import heartbeats
from tests.environment import without_opsbot_settings
from tests.integration.helpers import bot_messages, wait_for_cards

NOTICE = "opsbot не работал"


async def beats(settings: Settings) -> dict[str, datetime]:
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine).begin() as session:
            return await heartbeat.read(session)
    finally:
        await engine.dispose()


async def beats_after(
    settings: Settings, what: str, after: datetime | None = None, timeout: float = 10.0
) -> dict[str, datetime]:
    """The heartbeat, once `what` has been recorded (later than `after`)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await beats(settings)
        if what in found and (after is None or found[what] > after):
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"no {what} heartbeat after {after}")
        await asyncio.sleep(0.05)


async def age_heartbeat(settings: Settings, by: timedelta) -> datetime:
    """Pretend the last run stopped `by` ago; returns the moment it stopped.

    What the run had read of X is moved back as well, so that posts dated in the gap are
    posts the bot has not read yet.
    """
    stopped = utcnow() - by
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine).begin() as session:
            await session.execute(update(Heartbeat).values(at=stopped))
            for cursor in await session.scalars(select(XCursor)):
                cursor.since_id = None
                if cursor.read_until is not None:
                    cursor.read_until -= by
    finally:
        await engine.dispose()
    return stopped


async def health(settings: Settings, *args: str) -> tuple[int, str]:
    """`opsbot health` in its own process, given the database and nothing else of opsbot's."""
    env = without_opsbot_settings()
    env["OPSBOT_DATABASE_URL"] = settings.database_url
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "opsbot",
        "health",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, (out + err).decode()


async def test_health_is_ok_while_both_answer_and_names_what_went_stale(
    sandbox: Sandbox, settings: Settings
) -> None:
    async with running(settings, poll_timeout=1):
        await beats_after(settings, heartbeat.X)
        status, said = await health(settings)
        assert status == 0 and said.startswith("healthy: Telegram answered"), said
    stopped = await age_heartbeat(settings, timedelta(seconds=400))
    status, said = await health(settings)
    # The age runs on while `opsbot health` starts, which a loaded machine can stretch.
    upper = (utcnow() - stopped).total_seconds() + 1
    assert status == 1
    stale = re.fullmatch(
        r"opsbot health: stale: Telegram last answered (\d+) s ago \(at most 180 s\)\n", said
    )
    assert stale and 400 <= int(stale[1]) <= upper, said
    status, said = await health(settings, "--max-age", "600")
    assert status == 0, said
    status, said = await health(settings, "--max-age", "600", "--max-x-age", "60")
    assert status == 1 and "stale: X last answered" in said and "Telegram" not in said


async def test_health_without_a_database_is_unhealthy(
    sandbox: Sandbox, tmp_path: Any, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("a missing database file is SQLite's case")
    missing = sandbox.settings(database_url=f"sqlite:///{tmp_path / 'none.sqlite3'}")
    status, said = await health(missing)
    assert status == 1 and "no database at" in said
    assert not (tmp_path / "none.sqlite3").exists()


async def test_heartbeat_follows_telegram_and_x_answers(
    sandbox: Sandbox, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(heartbeats, "TELEGRAM_EVERY", 0.2)
    async with running(settings, poll_timeout=1) as bot:
        first = await beats_after(settings, heartbeat.X)
        # A getMe every TELEGRAM_EVERY seconds moves Telegram's heartbeat on.
        moved = await beats_after(settings, heartbeat.TELEGRAM, after=first[heartbeat.TELEGRAM])
        # X failing: its polls do not count as answers.
        sandbox.x.inject_fault(Fault(status=503, count=1000))
        seen = len(sandbox.x.requests)
        await sandbox.x.wait_for(
            lambda: any(r.status == 503 for r in sandbox.x.requests[seen:]), timeout=10
        )
        # A read that caught up between reading `moved` and the fault still moved it; reads
        # are one at a time, so from the first refused request on none can.
        stalled = await beats(settings)
        assert stalled[heartbeat.X] >= moved[heartbeat.X]
        # A whole read begun after that, failing, leaves it where it was.
        polls = bot.bot_data.polls
        reads = polls.reads
        await sandbox.x.wait_for(
            lambda: polls.reads > reads and polls.due_in() is not None, timeout=20
        )
        assert (await beats(settings))[heartbeat.X] == stalled[heartbeat.X]
        sandbox.x.faults.clear()
        await beats_after(settings, heartbeat.X, after=stalled[heartbeat.X])
        # Telegram failing: the getMe is not a heartbeat.
        sandbox.telegram.inject_fault(Fault(endpoint="getMe", status=502, count=1000))
        seen = len(sandbox.telegram.requests)
        await sandbox.telegram.wait_for(
            lambda: any(r.endpoint == "getMe" for r in sandbox.telegram.requests[seen:])
        )
        before = await beats(settings)
        await sandbox.telegram.wait_for(
            lambda: sum(r.endpoint == "getMe" for r in sandbox.telegram.requests[seen:]) >= 2
        )
        assert (await beats(settings))[heartbeat.TELEGRAM] == before[heartbeat.TELEGRAM]
        sandbox.telegram.faults.clear()


async def test_after_a_long_downtime_the_staff_hear_how_long_and_what_was_asked(
    sandbox: Sandbox, settings: Settings
) -> None:
    async with running(settings, poll_timeout=1):
        await beats_after(settings, heartbeat.X)
    stopped = await age_heartbeat(settings, timedelta(minutes=30))
    x = sandbox.x
    x.visitor_posts(
        "early",
        "@museum Before it stopped #museumsalon",
        created_at=stopped - timedelta(minutes=2),
    )
    x.visitor_posts(
        "ivan", "@museum Вопрос в простое #museumsalon", created_at=stopped + timedelta(minutes=5)
    )
    x.visitor_posts(
        "olga", "Ещё один #музейнаягостиная", created_at=stopped + timedelta(minutes=20)
    )
    async with running(settings, poll_timeout=1):
        await wait_for_cards(sandbox, 3)

        def completed() -> dict[str, Any] | None:
            return next(
                (m for m in bot_messages(sandbox) if NOTICE in m["text"] and m["edited"]), None
            )

        notice = await sandbox.telegram.wait_for(completed)
    local = stopped.astimezone(settings.zone)
    assert f"с {local:%d.%m.%Y, %H:%M} до " in notice["text"]
    assert "(30 мин)" in notice["text"]
    assert "За это время в X пришло 2 вопроса" in notice["text"]
    assert [m for m in bot_messages(sandbox) if NOTICE in m["text"]] == [notice]


async def test_a_quick_restart_says_nothing(sandbox: Sandbox, settings: Settings) -> None:
    async with running(settings, poll_timeout=1):
        first = await beats_after(settings, heartbeat.X)
    async with running(settings, poll_timeout=1):
        # The notice would be sent before the bot starts serving; the first poll comes after.
        await beats_after(settings, heartbeat.X, after=first[heartbeat.X])
    assert not [m for m in sandbox.telegram.chat_view(STAFF_CHAT_ID) if NOTICE in m["text"]]
