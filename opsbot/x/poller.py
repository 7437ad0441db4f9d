"""Brings audience posts from X into the database: the museum's mentions and the hashtag search.

Nothing lost, nothing twice, nobody stuck:
- A source's cursor moves only after every page of a poll is stored, so a failure half-way
  re-reads instead of skipping. Storing is idempotent, so re-reading costs money, not duplicates.
- A poll's questions are shown oldest first across its pages and sources: while it reads,
  `stored_before` tells the card queue which questions were stored before it began, and the
  queue holds back the rest until the poll is over (a later page may hold older posts).
- A cursor is never dropped. A source's first poll records where reading starts before it asks
  X anything, so even an empty or failed first poll leaves a starting point; every later poll
  pages all the way down to the cursor, and records the moment up to which all is stored.
- When X no longer accepts a post id (search reaches back 7 days), reading resumes from that
  moment if X still reaches it (a quiet week), else from the oldest moment X allows, paging
  through everything since; the stretch nobody can read any more is reported as a `Gap`.
- When X refuses the museum (keys, app enrolment, spent credits) or cannot be reached, polls
  back off exponentially, and the staff group hears once when it starts and once when it ends.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opsbot.clock import Clock, SystemClock
from opsbot.services import alerts, cohosting, inbox
from opsbot.x.gateway import (
    Access,
    Page,
    XAccount,
    XAuthFailed,
    XGateway,
    XPaymentRequired,
    XRateLimited,
    XRejected,
    XUnavailable,
)

log = logging.getLogger(__name__)

MENTIONS = "mentions"
SEARCH = "search"
SOURCES = (MENTIONS, SEARCH)
# Back-off caps: an outage may end any minute; refused keys or spent credits need a person.
MAX_BACKOFF = 300.0
REFUSED_BACKOFF = 900.0
# The staff group hears of an outage after this many failed polls in a row, or this long.
UNREACHABLE_POLLS = 3
UNREACHABLE_SECONDS = 300.0
# How far back recent search reaches.
SEARCH_WINDOW = timedelta(days=7)
# Room for the difference between the bot's clock and X's, and for the pages of one poll.
CLOCK_SLACK = timedelta(minutes=5)
TWITTER_EPOCH_MS = 1_288_834_974_657
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR_PARAMETERS = frozenset({"since_id", "start_time"})


@dataclass(frozen=True)
class Gap:
    """Posts of `source` between `start` and `end` that X will no longer return."""

    source: str
    start: datetime
    end: datetime


@dataclass
class PollResult:
    new_question_ids: list[int] = field(default_factory=list)
    rate_limited_until: float | None = None
    unavailable: bool = False
    # X refused a request for what it asked (not the cursor, which restarts instead).
    rejected: bool = False
    # Why X refused the museum on this poll, if it did.
    refused: Access | None = None
    gaps: list[Gap] = field(default_factory=list)
    # Alerts that started or ended on this poll (each is in exactly one poll's result).
    raised: list[str] = field(default_factory=list)
    cleared: list[str] = field(default_factory=list)

    @property
    def caught_up(self) -> bool:
        """X answered every source: everything posted until now is stored."""
        return not (
            self.unavailable
            or self.rejected
            or self.refused is not None
            or self.rate_limited_until is not None
        )


# The gateway's names of the endpoints each poll reads, to pace polls by their windows.
SOURCE_ENDPOINTS = ("getUsersMentions", "searchPostsRecent")


def search_query(hashtags: Sequence[str], museum_handle: str, partners: Sequence[str] = ()) -> str:
    """The hashtag posts (and, while a co-hosted salon is live, the posts tagging the partner)
    that the mentions timeline does not bring already.

    A post that tags the museum comes from its mentions, an owned read ($0.001 a post instead
    of $0.005): searching for it too would read and bill it twice. The partner's own posts
    (its answers carry the hashtag) are not questions.
    """
    terms = " OR ".join([*hashtags, *(f"@{handle}" for handle in partners)])
    exclude = "".join(f" -from:{handle}" for handle in partners)
    return f"({terms}) -is:retweet -from:{museum_handle}{exclude} -@{museum_handle}"


def posted_at(post_id: str) -> datetime:
    """When a post was made, read from its snowflake id."""
    # In whole milliseconds, as X's created_at has them: no float rounding on the way.
    return EPOCH + timedelta(milliseconds=(int(post_id) >> 22) + TWITTER_EPOCH_MS)


class Poller:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        gateway: XGateway,
        *,
        hashtags: Sequence[str],
        clock: Clock | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._gateway = gateway
        self._hashtags = list(hashtags)
        self._clock = clock or SystemClock()
        self._account: XAccount | None = None
        self._failures = 0
        self._refused = False
        self._outage_polls = 0
        self._outage_since: float | None = None
        # The partners whose mentions the search reads too (the live salon's co-host).
        self._partners: list[str] = []
        # While a poll runs: the newest question stored before it began.
        self.stored_before: int | None = None

    @property
    def account(self) -> XAccount | None:
        return self._account

    def _now(self) -> datetime:
        return self._clock.now()

    async def _fetch(self, source: str, since: str | datetime | None, token: str | None) -> Page:
        assert self._account is not None
        if source == MENTIONS:
            return await self._gateway.mentions(self._account.id, since, token)
        query = search_query(self._hashtags, self._account.username, self._partners)
        return await self._gateway.search(query, since, token)

    async def poll_source(self, source: str, result: PollResult) -> None:
        """Read one source into the database; its new questions and any gap go to `result`."""
        async with self._sessionmaker.begin() as session:
            cursor = await inbox.get_cursor(session, source)
            self._partners = await cohosting.live_cohost_handles(session)
            if cursor is None:
                await inbox.start_cursor(session, source, self._now() - CLOCK_SLACK)
        if cursor is None:
            # The very first poll: the newest page is enough, older posts are history.
            result.new_question_ids += await self._read(source, None, whole=False)
            return
        try:
            since = cursor.since_id or cursor.read_until
            result.new_question_ids += await self._read(source, since, whole=True)
        except XRejected as exc:
            if not exc.parameters & _CURSOR_PARAMETERS:
                raise
            start = await self._restart(source, cursor, exc, result)
            result.new_question_ids += await self._read(source, start, whole=True)

    async def _read(self, source: str, since: str | datetime | None, *, whole: bool) -> list[int]:
        """Store every page after `since` (only the newest unless `whole`), then move the cursor."""
        assert self._account is not None
        started = self._now()
        new_ids: list[int] = []
        newest: str | None = None
        token: str | None = None
        while True:
            page = await self._fetch(source, since, token)
            newest = newest or page.newest_id
            async with self._sessionmaker.begin() as session:
                new_ids += await inbox.store_posts(
                    session,
                    page.posts,
                    source=source,
                    museum_id=self._account.id,
                    museum_handle=self._account.username,
                )
            if not page.next_token or not whole:
                break
            token = page.next_token
        async with self._sessionmaker.begin() as session:
            # Whatever X had when this read began is stored now, but for what its search had
            # not indexed yet: hence the slack.
            await inbox.save_cursor(session, source, newest, started - CLOCK_SLACK)
        return new_ids

    async def _restart(
        self, source: str, cursor: inbox.Cursor, exc: XRejected, result: PollResult
    ) -> datetime:
        """X no longer takes the cursor (search reaches back 7 days): where reading resumes.

        From where everything is read, if X still reaches back that far (a quiet week leaves an
        old post id but a recent `read_until`); else from the oldest moment X allows, and the
        stretch in between is a gap.
        """
        read = [cursor.read_until] if cursor.read_until else []
        if cursor.since_id:
            read.append(posted_at(cursor.since_id))
        held = max(read) if read else None
        oldest = self._now() - SEARCH_WINDOW + CLOCK_SLACK
        if held is None or (held >= oldest and cursor.since_id is None):
            # X refused a moment it should take: restarting there would not help.
            raise exc
        start = max(held, oldest)
        log.warning(
            "X no longer accepts the %s cursor (%s); reading again from %s",
            source,
            exc.detail,
            start.isoformat(),
        )
        async with self._sessionmaker.begin() as session:
            await inbox.restart_cursor(session, source, start)
        if held < start:
            # Told even if the new reading fails half-way: the next poll resumes from `start`.
            result.gaps.append(Gap(source, held, start))
        return start

    async def poll(self) -> PollResult:
        """Poll every source; one source's failure does not hold back the other.

        Refused keys and spent credits hold for the whole account, so they end the poll.
        """
        async with self._sessionmaker.begin() as session:
            self.stored_before = await inbox.newest_question_id(session)
        try:
            return await self._poll()
        finally:
            self.stored_before = None

    async def _poll(self) -> PollResult:
        result = PollResult()
        resets: list[float] = []
        read = False
        for source in SOURCES:
            try:
                if self._account is None:
                    self._account = await self._gateway.me()
                await self.poll_source(source, result)
                read = True
            except (XAuthFailed, XPaymentRequired) as exc:
                result.refused = exc.reason
                self._log_refusal(exc)
                break
            except XRateLimited as exc:
                log.warning("%s", exc)
                resets.append(exc.reset_at)
            except XUnavailable as exc:
                log.warning("%s; trying again later", exc)
                result.unavailable = True
            except XRejected as exc:
                # Not the cursor (that restarts above): a query X does not take. The cursor
                # stays, so nothing is skipped once the query is fixed.
                log.error("X refused the %s poll (%s); its cursor is kept", source, exc)
                result.rejected = True
        if len(resets) == len(SOURCES):
            result.rate_limited_until = min(resets)
        failed = result.unavailable or result.rejected or result.refused is not None
        self._failures = self._failures + 1 if failed else 0
        self._refused = result.refused is not None
        await self._update_alerts(result, read)
        return result

    def _log_refusal(self, exc: XAuthFailed | XPaymentRequired) -> None:
        # Once loudly when it starts; the back-off keeps the rest of the lines few.
        if self._refused:
            log.warning("%s", exc)
        else:
            log.error("%s; not reading X until it is fixed", exc)

    async def _update_alerts(self, result: PollResult, read: bool) -> None:
        now = self._clock.monotonic()
        if result.unavailable:
            self._outage_polls += 1
            self._outage_since = self._outage_since or now
        else:
            self._outage_polls, self._outage_since = 0, None
        lasting = self._outage_since is not None and (
            self._outage_polls >= UNREACHABLE_POLLS
            or now - self._outage_since >= UNREACHABLE_SECONDS
        )
        wanted = {
            alerts.X_READ_ACCESS: result.refused in (Access.KEYS, Access.ENROLMENT),
            alerts.X_CREDITS: result.refused == Access.CREDITS,
            alerts.X_UNREACHABLE: lasting,
        }
        # An alert ends only when X has been read again (or, for an outage, answered).
        ended = {
            alerts.X_READ_ACCESS: read,
            alerts.X_CREDITS: read,
            alerts.X_UNREACHABLE: not result.unavailable,
        }
        async with self._sessionmaker.begin() as session:
            for key, active in wanted.items():
                if active and await alerts.raise_alert(session, key):
                    result.raised.append(key)
                elif not active and ended[key] and await alerts.clear_alert(session, key):
                    result.cleared.append(key)

    def next_delay(self, result: PollResult, interval: float) -> float:
        """Seconds until the next poll: the interval (no faster than X's windows allow),
        X's reset, or a growing back-off."""
        if result.rate_limited_until is not None:
            return max(interval, result.rate_limited_until - self._clock.timestamp() + 1.0)
        if self._failures:
            cap = REFUSED_BACKOFF if result.refused is not None else MAX_BACKOFF
            growth = 2.0 ** min(self._failures - 1, 20)
            return min(interval * growth, max(cap, interval))
        return max(interval, *(self._gateway.pace(endpoint) for endpoint in SOURCE_ENDPOINTS))
