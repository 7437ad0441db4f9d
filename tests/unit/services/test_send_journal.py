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


async def test_a_digest_is_kept_with_the_questions_it_listed(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        await send_journal.record(session, -100, 20, NOW, keep=KEEP, listed=[7, 8, 9])
        await send_journal.record(session, -100, 21, NOW, keep=KEEP, card_of=10)
        # A send whose answer named no message, and a digest in another group.
        await send_journal.record(session, -100, None, NOW, keep=KEEP, listed=[11])
        await send_journal.record(session, -200, 22, NOW, keep=KEEP, listed=[12])
    window = timedelta(minutes=1)

    async def sent(seconds: int) -> list[tuple[int, list[int]]]:
        now = NOW + timedelta(seconds=seconds)
        async with sessions.begin() as session:
            return await send_journal.digests_sent(session, -100, now=now, window=window)

    assert await sent(30) == [(20, [7, 8, 9])]
    assert await sent(61) == []
