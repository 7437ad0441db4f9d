"""Brings audience posts from X into the database: the museum's mentions and the hashtag search.

A source's cursor moves only after every page of a poll is stored, so a failure half-way
re-reads instead of skipping. Storing is idempotent, so re-reading costs money, not duplicates.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opsbot.services import alerts, inbox
from opsbot.x.gateway import (
    Page,
    XAccount,
    XAuthFailed,
    XGateway,
    XRateLimited,
    XRejected,
    XUnavailable,
)

log = logging.getLogger(__name__)

MENTIONS = "mentions"
SEARCH = "search"
SOURCES = (MENTIONS, SEARCH)
AUTH_ALERT = "x-auth"
MAX_BACKOFF = 300.0


@dataclass
class PollResult:
    new_question_ids: list[int] = field(default_factory=list)
    rate_limited_until: float | None = None
    unavailable: bool = False
    auth_failed: bool = False
    # True only on the poll where X started (or stopped) refusing the keys.
    auth_alert_raised: bool = False
    auth_alert_cleared: bool = False


def search_query(hashtags: Sequence[str], museum_handle: str) -> str:
    tags = " OR ".join(hashtags)
    return f"({tags}) -is:retweet -from:{museum_handle}"


class Poller:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        gateway: XGateway,
        *,
        hashtags: Sequence[str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._gateway = gateway
        self._hashtags = list(hashtags)
        self._clock = clock
        self._account: XAccount | None = None
        self._failures = 0

    @property
    def account(self) -> XAccount | None:
        return self._account

    async def _fetch(self, source: str, since_id: str | None, token: str | None) -> Page:
        assert self._account is not None
        if source == MENTIONS:
            return await self._gateway.mentions(self._account.id, since_id, token)
        query = search_query(self._hashtags, self._account.username)
        return await self._gateway.search(query, since_id, token)

    async def poll_source(self, source: str) -> list[int]:
        assert self._account is not None
        async with self._sessionmaker.begin() as session:
            since_id = await inbox.get_cursor(session, source)
        new_ids: list[int] = []
        newest: str | None = None
        token: str | None = None
        while True:
            page = await self._fetch(source, since_id, token)
            newest = newest or page.newest_id
            async with self._sessionmaker.begin() as session:
                new_ids += await inbox.store_posts(
                    session,
                    page.posts,
                    source=source,
                    museum_id=self._account.id,
                    museum_handle=self._account.username,
                )
            # With no cursor yet, the newest page is enough: older posts are history.
            if not page.next_token or since_id is None:
                break
            token = page.next_token
        if newest is not None:
            async with self._sessionmaker.begin() as session:
                await inbox.save_cursor(session, source, newest)
        return new_ids

    async def poll(self) -> PollResult:
        """Poll every source; one source's failure does not hold back the other."""
        result = PollResult()
        resets: list[float] = []
        for source in SOURCES:
            try:
                if self._account is None:
                    self._account = await self._gateway.me()
                result.new_question_ids += await self.poll_source(source)
            except XRateLimited as exc:
                log.warning("%s", exc)
                resets.append(exc.reset_at)
            except XAuthFailed as exc:
                log.error("%s", exc)
                result.auth_failed = True
            except XUnavailable as exc:
                log.warning("%s", exc)
                result.unavailable = True
            except XRejected as exc:
                # X refuses the cursor itself (search keeps 7 days; a bot offline longer
                # holds a since_id it no longer accepts): start again from the newest posts.
                log.error("X refused the %s poll (%s); starting that source afresh", source, exc)
                async with self._sessionmaker.begin() as session:
                    await inbox.forget_cursor(session, source)
        if len(resets) == len(SOURCES):
            result.rate_limited_until = min(resets)
        self._failures = self._failures + 1 if result.unavailable else 0
        async with self._sessionmaker.begin() as session:
            if result.auth_failed:
                result.auth_alert_raised = await alerts.raise_alert(session, AUTH_ALERT)
            elif not result.unavailable and not resets:
                result.auth_alert_cleared = await alerts.clear_alert(session, AUTH_ALERT)
        return result

    def next_delay(self, result: PollResult, interval: float) -> float:
        """Seconds until the next poll: the interval, X's reset, or a growing back-off."""
        if result.rate_limited_until is not None:
            return max(interval, result.rate_limited_until - self._clock() + 1.0)
        if result.unavailable:
            return min(interval * 2.0 ** (self._failures - 1), max(MAX_BACKOFF, interval))
        return interval
