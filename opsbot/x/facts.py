"""X's facts for reports and the archive, read once per build; X out of reach is no failure.

A report made while X is unavailable says "not available" for what only X knows; an archive
built then keeps every post (nothing is known to be taken back) and says so in its output.
"""

from __future__ import annotations

import logging

from opsbot.services.x_facts import PostLookup
from opsbot.x.gateway import XError, XGateway

log = logging.getLogger(__name__)


async def followers(gateway: XGateway) -> int | None:
    try:
        return await gateway.followers()
    except XError as exc:
        log.warning("could not read the museum's followers: %s", exc)
        return None


async def followers_of(gateway: XGateway, username: str) -> int | None:
    try:
        return await gateway.followers_of(username)
    except XError as exc:
        log.warning("could not read the followers of @%s: %s", username, exc)
        return None


async def lookup_posts(gateway: XGateway, ids: list[str]) -> PostLookup:
    if not ids:
        return PostLookup()
    try:
        return await gateway.lookup_posts(ids)
    except XError as exc:
        log.warning("could not look the posts up on X: %s", exc)
        return PostLookup(answered=False)
