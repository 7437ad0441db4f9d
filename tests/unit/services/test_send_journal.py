"""The group sends the bot remembers across restarts: kept for a while, then forgotten."""

from __future__ import annotations

from datetime import timedelta

from opsbot.services import send_journal
from tests.unit.services.conftest import NOW, Sessions, in_turn

KEEP = timedelta(minutes=2)


async def test_sends_are_kept_for_a_while(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        for seconds, message_id in ((0, 10), (45, None), (90, 12)):
            at = NOW + timedelta(seconds=seconds)
            await send_journal.record(session, -100, message_id, at, keep=KEEP)
    window = timedelta(minutes=1)
    recent = await in_turn(
        sessions, lambda s: send_journal.recent(s, now=NOW + timedelta(seconds=90), window=window)
    )
    assert recent == [
        (-100, NOW + timedelta(seconds=45), None),
        (-100, NOW + timedelta(seconds=90), 12),
    ]
    # A later send forgets what is older than `keep`.
    at = NOW + timedelta(minutes=3)
    await in_turn(sessions, lambda s: send_journal.record(s, -100, 13, at, keep=KEEP))
    everything = await in_turn(
        sessions, lambda s: send_journal.recent(s, now=at, window=timedelta(hours=1))
    )
    assert [message_id for _chat, _at, message_id in everything] == [12, 13]
