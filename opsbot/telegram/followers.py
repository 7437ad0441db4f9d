"""The museum's follower count on X, read once as a salon starts and once as it ends; a
co-hosted salon's partner account's too, by its handle.

The difference is the salon's "new followers" in the report. A reading X refused is left
empty (the report says "not available"), never guessed.
"""

from __future__ import annotations

from opsbot.services import partners, salons
from opsbot.telegram.context import Runtime
from opsbot.x import facts


async def note_followers(runtime: Runtime, salon_id: int, *, at_start: bool) -> None:
    count = await facts.followers(runtime.gateway)
    async with runtime.sessionmaker.begin() as session:
        if count is not None:
            await salons.record_followers(session, salon_id, count, at_start=at_start)
        salon = await salons.get(session, salon_id)
        partner = await partners.co_host(session, salon) if salon else None
    if partner is None:
        return
    theirs = await facts.followers_of(runtime.gateway, partner.handle)
    if theirs is None:
        return
    async with runtime.sessionmaker.begin() as session:
        await salons.record_followers(session, salon_id, theirs, at_start=at_start, partner=True)
