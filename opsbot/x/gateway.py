"""The museum's window on X: reads audience posts, posts replies, paced by X's own headers.

Wraps tweepy's AsyncClient. Callers see `XPost`s and typed failures, never tweepy's
exceptions: the rest of the bot does not depend on the client library. The failures say what
would fix them: waiting (rate limit, outage), the museum's keys or app enrolment, credits, or
a different request.

Everything X bills is counted as X answers it: the posts in a read's `data` by the kind X
prices them at (the museum's own mentions and posts are owned reads, search is not), each
post X creates, the account read at start. An empty answer counts nothing. The count goes to
`on_usage`, which the bot points at its ledger; a ledger that fails loses a count, never a read.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import aiohttp
import tweepy
from tweepy.asynchronous import AsyncClient

from opsbot.clock import Clock, SystemClock
from opsbot.db.models import UsageKind
from opsbot.services.posts import XPost
from opsbot.services.tweet_urls import extract_urls
from opsbot.services.x_facts import Gone, PostLookup, PostMetrics, batches
from opsbot.settings import Settings
from opsbot.x.session import make_x_client

log = logging.getLogger(__name__)

TWEET_FIELDS = [
    "created_at",
    "author_id",
    "conversation_id",
    "in_reply_to_user_id",
    "entities",
    "referenced_tweets",
]
EXPANSIONS = ["author_id", "referenced_tweets.id", "referenced_tweets.id.author_id"]
# public_metrics: the authors' follower counts come with the posts, at no extra read.
USER_FIELDS = ["username", "name", "public_metrics"]
# Every request to X, from any gateway, is numbered as it is sent, so that an answer can be
# placed before or after another: a refusal to a request sent before X last answered one is
# out of date by the time it is handled.
_requests = itertools.count(1)
# 403 details that are about the keys' permissions, not about what was posted.
_KEY_PROBLEMS = ("permission", "oauth", "unsupported authentication", "not permitted")


class XError(Exception):
    """X did not do what was asked. The message is safe to log: it never holds a key."""

    # The number the failed request was sent under (see `_requests`); 0 when none was sent.
    request = 0


class XRateLimited(XError):
    def __init__(self, endpoint: str, reset_at: float) -> None:
        super().__init__(f"X rate limit on {endpoint} until {reset_at:.0f}")
        self.endpoint = endpoint
        self.reset_at = reset_at


class Access(StrEnum):
    """What the staff must fix when X refuses the museum itself rather than a request."""

    KEYS = "keys"  # 401, or keys without the permission the call needs
    ENROLMENT = "enrolment"  # the developer app is not enrolled for API access
    CREDITS = "credits"  # pay-per-use credits are spent (402)


class XAuthFailed(XError):
    """X refused the keys (401), the app (403 client-not-enrolled) or the keys' access."""

    def __init__(self, message: str, reason: Access = Access.KEYS) -> None:
        super().__init__(message)
        self.reason = reason


class XPaymentRequired(XError):
    """402: the account's credits are spent; nothing is read or posted until they are topped up."""

    reason = Access.CREDITS


class XUnavailable(XError):
    """5xx, timeout or network failure: worth retrying later. `status` is X's 5xx, if X
    answered at all."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class XRejected(XError):
    """X refused this request for its content (400 or 403 on a post); retrying will not help."""

    def __init__(self, status: int, detail: str, parameters: frozenset[str] = frozenset()) -> None:
        super().__init__(f"X refused the request ({status}): {detail}")
        self.status = status
        self.detail = detail
        # The request parameters X named as invalid (e.g. a `since_id` older than 7 days).
        self.parameters = parameters


@dataclass(frozen=True)
class XAccount:
    id: str
    username: str


@dataclass(frozen=True)
class Page:
    posts: list[XPost]
    newest_id: str | None
    next_token: str | None


UsageHook = Callable[[UsageKind, int], Awaitable[None]]


@dataclass(frozen=True)
class XUsageReport:
    """What X's usage endpoint says: posts read by the whole project, per UTC day."""

    daily: dict[str, int]  # YYYY-MM-DD -> posts read that day

    def in_month(self, month: str) -> int:
        return sum(count for day, count in self.daily.items() if day.startswith(month))


def _detail(exc: tweepy.HTTPException) -> str:
    messages = [str(m) for m in getattr(exc, "api_messages", [])]
    return "; ".join(messages) or str(getattr(exc.response, "reason", "") or "")


def _parameters(exc: tweepy.HTTPException) -> frozenset[str]:
    names: set[str] = set()
    for error in getattr(exc, "api_errors", []):
        if isinstance(error, dict) and isinstance(error.get("parameters"), dict):
            names.update(error["parameters"])
    return frozenset(names)


async def _problem(exc: tweepy.HTTPException) -> dict[str, Any]:
    """X's problem document of a failed call (tweepy keeps only its messages)."""
    try:
        body = await exc.response.json()
    except (ValueError, aiohttp.ClientError):
        return {}
    return body if isinstance(body, dict) else {}


def _not_enrolled(problem: dict[str, Any]) -> bool:
    return str(problem.get("reason", "")).endswith("not-enrolled") or str(
        problem.get("type", "")
    ).endswith("/client-forbidden")


class XGateway:
    def __init__(
        self,
        client: AsyncClient,
        *,
        clock: Clock | None = None,
        on_usage: UsageHook | None = None,
    ) -> None:
        self._client = client
        self.on_usage = on_usage
        # Headers are needed to pace requests, so take raw responses instead of dicts.
        self._client.return_type = aiohttp.ClientResponse
        # X states its resets in seconds since the epoch.
        self._clock = (clock or SystemClock()).timestamp
        self._blocked_until: dict[str, float] = {}
        # What X said of each endpoint's window on its last answer: (requests left, reset).
        self._windows: dict[str, tuple[int, float]] = {}
        # The number of the newest request X answered with success.
        self._answered = 0

    def blocked_until(self, endpoint: str) -> float:
        return self._blocked_until.get(endpoint, 0.0)

    def pace(self, endpoint: str) -> float:
        """Seconds between requests that spread what is left of the window until its reset."""
        window = self._windows.get(endpoint)
        if window is None:
            return 0.0
        remaining, reset = window
        left = reset - self._clock()
        if left <= 0:
            return 0.0
        return left / max(remaining, 1)

    async def close(self) -> None:
        session = self._client.session
        if session is not None and not session.closed:
            await session.close()

    async def _call(
        self,
        endpoint: str,
        request: Callable[[], Awaitable[aiohttp.ClientResponse]],
        *,
        read: bool = True,
        bills: UsageKind | None = None,
    ) -> dict[str, Any]:
        now = self._clock()
        if self._blocked_until.get(endpoint, 0.0) > now:
            raise XRateLimited(endpoint, self._blocked_until[endpoint])
        number = next(_requests)
        try:
            body = await self._send(endpoint, request, now, read=read)
        except XError as exc:
            exc.request = number
            raise
        self._answered = max(self._answered, number)
        if bills is not None:
            await self._count(bills, _billed(body))
        return body

    def answered_after(self, refusal: XError) -> bool:
        """X answered this gateway with success on a request sent after the refused one:
        what the refusal said of the account (spent credits) is no longer news."""
        return self._answered > refusal.request

    async def _send(
        self,
        endpoint: str,
        request: Callable[[], Awaitable[aiohttp.ClientResponse]],
        now: float,
        *,
        read: bool,
    ) -> dict[str, Any]:
        try:
            response = await request()
            self._note_limits(endpoint, response)
            body: dict[str, Any] = await response.json()
        except tweepy.TooManyRequests as exc:
            reset = float(exc.reset_time or now + 60)
            self._blocked_until[endpoint] = reset
            raise XRateLimited(endpoint, reset) from None
        except tweepy.Unauthorized as exc:
            raise XAuthFailed(f"X refused the credentials on {endpoint}: {_detail(exc)}") from None
        except tweepy.Forbidden as exc:
            raise await _forbidden(endpoint, exc, read=read) from None
        except tweepy.TwitterServerError as exc:
            status = exc.response.status
            raise XUnavailable(f"X failed on {endpoint} ({status})", status) from None
        except tweepy.HTTPException as exc:
            status = int(getattr(exc.response, "status", 0))
            if status == 402:
                # X's only 402: the pay-per-use credits are spent, whatever the problem's title.
                raise XPaymentRequired(
                    f"X credits are spent ({endpoint}): {_detail(exc)}"
                ) from None
            raise XRejected(status, _detail(exc), _parameters(exc)) from None
        except (OSError, aiohttp.ClientError) as exc:
            # TimeoutError and connection resets are OSErrors; a body that is not JSON (a
            # proxy's error page) is a ClientError: all are X being out of reach for now.
            raise XUnavailable(f"X unreachable on {endpoint}: {type(exc).__name__}") from None
        return body

    async def _count(self, kind: UsageKind, count: int) -> None:
        if self.on_usage is None or count <= 0:
            return
        try:
            await self.on_usage(kind, count)
        except Exception:
            log.exception("could not count %s %s in the X usage ledger", count, kind)

    def _note_limits(self, endpoint: str, response: aiohttp.ClientResponse) -> None:
        remaining = response.headers.get("x-rate-limit-remaining")
        reset = response.headers.get("x-rate-limit-reset")
        if remaining is None or reset is None:
            return
        self._windows[endpoint] = (int(remaining), float(reset))
        if int(remaining) <= 0:
            # The window is spent: wait for its reset instead of collecting a 429.
            self._blocked_until[endpoint] = float(reset)

    async def me(self) -> XAccount:
        body = await self._call(
            "getUsersMe", lambda: self._client.get_me(user_auth=True), bills=UsageKind.USER_READ
        )
        return XAccount(id=body["data"]["id"], username=body["data"]["username"])

    async def followers(self) -> int:
        """The museum's followers now, from its account's public metrics (one user read)."""
        body = await self._call(
            "getUsersMe",
            lambda: self._client.get_me(user_auth=True, user_fields=["public_metrics"]),
            bills=UsageKind.USER_READ,
        )
        return int(body["data"]["public_metrics"]["followers_count"])

    async def followers_of(self, username: str) -> int | None:
        """Another account's followers now (a co-hosting museum's), from its public metrics
        (one user read); None when X knows no such account."""
        body = await self._call(
            "getUsersByUsername",
            lambda: self._client.get_user(
                username=username, user_fields=["public_metrics"], user_auth=True
            ),
            bills=UsageKind.USER_READ,
        )
        if "data" not in body:
            return None
        return int(body["data"]["public_metrics"]["followers_count"])

    async def lookup_posts(self, ids: list[str]) -> PostLookup:
        """Which of these posts X still shows, with their public metrics; 100 ids a request."""
        found = PostLookup()
        for batch in batches(ids):
            body = await self._call(
                "getPostsByIds",
                lambda batch=batch: self._client.get_tweets(  # type: ignore[misc]
                    batch, tweet_fields=["public_metrics"], user_auth=True
                ),
                bills=UsageKind.POST_READ,
            )
            for post in body.get("data", []):
                found.metrics[str(post["id"])] = _metrics(post.get("public_metrics") or {})
            for error in body.get("errors", []):
                problem = str(error.get("type", ""))
                if error.get("resource_type") != "tweet" or not error.get("resource_id"):
                    continue
                if problem.endswith("/not-authorized-for-resource"):
                    found.gone[str(error["resource_id"])] = Gone.PROTECTED
                elif problem.endswith("/resource-not-found"):
                    found.gone[str(error["resource_id"])] = Gone.DELETED
        return found

    async def mentions(self, user_id: str, since: str | datetime | None, token: str | None) -> Page:
        """A page of the museum's mentions after `since` (a post id or a moment), newest first."""
        since_id, start_time = _since(since)
        body = await self._call(
            "getUsersMentions",
            lambda: self._client.get_users_mentions(
                user_id,
                since_id=since_id,
                start_time=start_time,
                pagination_token=token,
                max_results=100,
                tweet_fields=TWEET_FIELDS,
                expansions=EXPANSIONS,
                user_fields=USER_FIELDS,
            ),
            bills=UsageKind.OWNED_READ,
        )
        return _page(body)

    async def search(self, query: str, since: str | datetime | None, token: str | None) -> Page:
        """A page of recent search after `since` (a post id or a moment), newest first."""
        since_id, start_time = _since(since)
        body = await self._call(
            "searchPostsRecent",
            lambda: self._client.search_recent_tweets(
                query,
                since_id=since_id,
                start_time=start_time,
                next_token=token,
                max_results=100,
                tweet_fields=TWEET_FIELDS,
                expansions=EXPANSIONS,
                user_fields=USER_FIELDS,
            ),
            bills=UsageKind.POST_READ,
        )
        return _page(body)

    async def create_post(self, text: str, in_reply_to: str | None) -> str:
        """Post as the museum; the new post's id."""
        body = await self._call(
            "createPosts",
            lambda: self._client.create_tweet(
                text=text, in_reply_to_tweet_id=in_reply_to, user_auth=True
            ),
            read=False,
            bills=_post_kind(text, in_reply_to),
        )
        return str(body["data"]["id"])

    async def delete_post(self, post_id: str) -> bool:
        """Delete one of the museum's posts; False if X no longer had it (deleted already)."""
        body = await self._call(
            "deletePosts",
            lambda: self._client.delete_tweet(post_id, user_auth=True),
            read=False,
        )
        return bool((body.get("data") or {}).get("deleted"))

    async def reply_of(self, post_id: str) -> tuple[str, str | None] | None:
        """Who wrote the post (their handle) and which post it replies to; None when X does
        not show it (deleted, protected, never there)."""
        body = await self._call(
            "getPostsById",
            lambda: self._client.get_tweet(
                post_id,
                tweet_fields=["author_id", "referenced_tweets"],
                expansions=["author_id"],
                user_fields=["username"],
                user_auth=True,
            ),
            bills=UsageKind.POST_READ,
        )
        post = body.get("data")
        if not isinstance(post, dict):
            return None
        users = {u["id"]: u for u in (body.get("includes") or {}).get("users", [])}
        author = users.get(post.get("author_id"), {}).get("username", "")
        replied = [
            ref["id"] for ref in post.get("referenced_tweets", []) if ref["type"] == "replied_to"
        ]
        return str(author), (str(replied[0]) if replied else None)

    async def usage(self, days: int) -> XUsageReport:
        """The project's posts read per UTC day over the last `days` days (at most 90)."""
        body = await self._call(
            "getUsage",
            lambda: self._client.request(
                "GET",
                "/2/usage/tweets",
                params={"days": max(1, min(days, 90)), "usage.fields": "daily_project_usage"},
            ),
        )
        daily: dict[str, int] = {}
        try:
            project = body.get("data", {}).get("daily_project_usage") or {}
            for entry in project.get("usage") or []:
                day = str(entry.get("date", ""))[:10]
                if day and entry.get("usage") is not None:
                    daily[day] = daily.get(day, 0) + int(entry["usage"])
        except (AttributeError, TypeError, ValueError):
            # Counts come as strings; a shape X may change is not worth failing /budget over.
            raise XUnavailable("X's usage report is not in the documented shape") from None
        return XUsageReport(daily=daily)

    async def find_reply(self, user_id: str, to_post_id: str) -> str | None:
        """The id of `user_id`'s reply to `to_post_id`, if they made one.

        Used before retrying a post whose outcome is unknown: a reply that already exists is
        adopted instead of posted twice. Replies are newer than what they answer, so the
        search starts at `to_post_id`.
        """
        token: str | None = None
        for _page_number in range(5):
            body = await self._users_posts(user_id, to_post_id, token)
            for post in body.get("data", []):
                for ref in post.get("referenced_tweets", []):
                    if ref["type"] == "replied_to" and ref["id"] == to_post_id:
                        return str(post["id"])
            token = body.get("meta", {}).get("next_token")
            if not token:
                return None
        return None

    async def find_post(
        self, user_id: str, since: datetime, is_it: Callable[[str], bool]
    ) -> str | None:
        """The id of `user_id`'s own post (not a reply) since `since` whose text `is_it`.

        Used, like `find_reply`, before retrying a post whose outcome is unknown.
        """
        token: str | None = None
        for _page_number in range(5):
            body = await self._users_posts(user_id, None, token, start_time=since, own=True)
            for post in body.get("data", []):
                if is_it(str(post.get("text", ""))):
                    return str(post["id"])
            token = body.get("meta", {}).get("next_token")
            if not token:
                return None
        return None

    async def _users_posts(
        self,
        user_id: str,
        since_id: str | None,
        token: str | None,
        *,
        start_time: datetime | None = None,
        own: bool = False,
    ) -> dict[str, Any]:
        return await self._call(
            "getUsersPosts",
            lambda: self._client.get_users_tweets(
                user_id,
                since_id=since_id,
                start_time=start_time,
                exclude=["replies", "retweets"] if own else None,
                pagination_token=token,
                max_results=100,
                tweet_fields=["referenced_tweets", "created_at"],
                user_auth=True,
            ),
            bills=UsageKind.OWNED_READ,
        )


def _metrics(raw: dict[str, Any]) -> PostMetrics:
    impressions = raw.get("impression_count")
    return PostMetrics(
        impressions=int(impressions) if impressions is not None else None,
        likes=int(raw.get("like_count", 0)),
        reposts=int(raw.get("repost_count", raw.get("retweet_count", 0))),
        replies=int(raw.get("reply_count", 0)),
        quotes=int(raw.get("quote_count", 0)),
        bookmarks=int(raw.get("bookmark_count", 0)),
    )


def _billed(body: dict[str, Any]) -> int:
    """Posts (or users) X returned: an answer without `data` costs nothing."""
    data = body.get("data")
    if isinstance(data, list):
        return len(data)
    return 1 if isinstance(data, dict) else 0


def _post_kind(text: str, in_reply_to: str | None) -> UsageKind:
    if extract_urls(text):
        return UsageKind.LINK_POST
    # The bot replies only where X lets it: to authors who mentioned or quoted the museum.
    return UsageKind.REPLY if in_reply_to is not None else UsageKind.POST


def month_days(now: datetime) -> int:
    """Days of the usage report that cover the current UTC month up to today."""
    first = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (now.astimezone(UTC) - first) // timedelta(days=1) + 1


def _since(since: str | datetime | None) -> tuple[str | None, datetime | None]:
    # X takes one or the other: search refuses `since_id` and `start_time` together.
    if isinstance(since, datetime):
        return None, since
    return since, None


async def _forbidden(endpoint: str, exc: tweepy.Forbidden, *, read: bool) -> XError:
    """A 403 is the museum's keys or app, or (on a post only) the post itself."""
    detail = _detail(exc)
    if _not_enrolled(await _problem(exc)):
        return XAuthFailed(f"X refused the app on {endpoint}: {detail}", Access.ENROLMENT)
    if read or any(word in detail.lower() for word in _KEY_PROBLEMS):
        # A read is refused only when the app or its keys lack access.
        return XAuthFailed(f"X refused access to {endpoint}: {detail}")
    return XRejected(403, detail)


def _page(body: dict[str, Any]) -> Page:
    meta = body.get("meta", {})
    includes = body.get("includes", {})
    users = {u["id"]: u for u in includes.get("users", [])}
    tweets = {t["id"]: t for t in includes.get("tweets", [])}
    posts = [_post(raw, users, tweets) for raw in body.get("data", [])]
    return Page(posts=posts, newest_id=meta.get("newest_id"), next_token=meta.get("next_token"))


def _post(raw: dict[str, Any], users: dict[str, Any], tweets: dict[str, Any]) -> XPost:
    author = users.get(raw["author_id"], {})
    entities = raw.get("entities", {})
    mentions = entities.get("mentions", [])
    quoted_id = replied_id = None
    is_retweet = False
    for ref in raw.get("referenced_tweets", []):
        if ref["type"] == "quoted":
            quoted_id = ref["id"]
        elif ref["type"] == "replied_to":
            replied_id = ref["id"]
        elif ref["type"] == "retweeted":
            is_retweet = True
    quoted_author = tweets.get(quoted_id, {}).get("author_id") if quoted_id else None
    return XPost(
        id=raw["id"],
        author_id=raw["author_id"],
        author_handle=author.get("username", raw["author_id"]),
        author_name=author.get("name", ""),
        text=raw["text"],
        created_at=datetime.fromisoformat(raw["created_at"].replace("Z", "+00:00")),
        conversation_id=raw.get("conversation_id"),
        in_reply_to_user_id=raw.get("in_reply_to_user_id"),
        mentioned_ids=frozenset(m["id"] for m in mentions if "id" in m),
        mentioned_handles=frozenset(m["username"].lower() for m in mentions),
        quoted_author_id=quoted_author,
        quoted_post_id=quoted_id,
        replied_to_post_id=replied_id,
        is_retweet=is_retweet,
        author_followers=author.get("public_metrics", {}).get("followers_count"),
    )


def gateway_from_settings(settings: Settings, clock: Clock | None = None) -> XGateway:
    return XGateway(
        make_x_client(
            base_url=settings.x_api_url,
            bearer_token=settings.x_bearer_token.get_secret_value(),
            api_key=settings.x_api_key.get_secret_value(),
            api_secret=settings.x_api_secret.get_secret_value(),
            access_token=settings.x_access_token.get_secret_value(),
            access_token_secret=settings.x_access_token_secret.get_secret_value(),
            timeout=settings.x_timeout_seconds,
        ),
        clock=clock,
    )
