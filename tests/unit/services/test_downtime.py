"""Heartbeats in the database, and the questions asked while the bot was down."""

from __future__ import annotations

from datetime import timedelta

from opsbot.services import downtime, heartbeat
from opsbot.services.downtime import Gap
from tests.unit.services.conftest import NOW, Sessions, add_question, in_turn


async def test_the_newest_heartbeat_of_each_service_is_kept(sessions: Sessions) -> None:
    assert await in_turn(sessions, heartbeat.read) == {}
    await in_turn(sessions, lambda s: heartbeat.record(s, heartbeat.TELEGRAM, NOW))
    await in_turn(sessions, lambda s: heartbeat.record(s, heartbeat.X, NOW))
    later = NOW + timedelta(minutes=1)
    await in_turn(sessions, lambda s: heartbeat.record(s, heartbeat.TELEGRAM, later))
    beats = await in_turn(sessions, heartbeat.read)
    assert beats == {heartbeat.TELEGRAM: later, heartbeat.X: NOW}
    back = later + downtime.DOWNTIME_NOTICE + timedelta(seconds=1)
    assert downtime.find_gap(beats, back) == Gap(later, back)
    assert downtime.find_gap(beats, later + downtime.DOWNTIME_NOTICE) is None


async def test_questions_posted_within_the_gap_by_xs_time(sessions: Sessions) -> None:
    gap = Gap(NOW, NOW + timedelta(hours=2))
    await add_question(sessions, posted_at=NOW - timedelta(seconds=1))
    await add_question(sessions, posted_at=NOW)
    await add_question(sessions, posted_at=NOW + timedelta(hours=1))
    await add_question(sessions, posted_at=gap.end)
    assert await in_turn(sessions, lambda s: downtime.questions_in(s, gap)) == 2
