"""The museum's window on X: reads audience posts, posts replies, paced by X's own headers.

Wraps tweepy's AsyncClient. Callers see `XPost`s and four kinds of failure, never tweepy's
exceptions: the rest of the bot does not depend on the client library.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
import tweepy
from tweepy.asynchronous import AsyncClient

from opsbot.services.posts import XPost
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
USER_FIELDS = ["username", "name"]


class XError(Exception):
    """X did not do what was asked. The message is safe to log: it never holds a key."""


class XRateLimited(XError):
    def __init__(self, endpoint: str, reset_at: float) -> None:
        super().__init__(f"X rate limit on {endpoint} until {reset_at:.0f}")
        self.endpoint = endpoint
        self.reset_at = reset_at


class XAuthFailed(XError):
    """X refused the keys (401) or the app's access (403 on a read)."""


class XUnavailable(XError):
    """5xx, timeout or network failure: worth retrying later."""


class XRejected(XError):
    """X refused this request for its content (400 or 403 on a post); retrying will not help."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"X refused the request ({status}): {detail}")
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class XAccount:
    id: str
    username: str


@dataclass(frozen=True)
class Page:
    posts: list[XPost]
    newest_id: str | None
    next_token: str | None


def _detail(exc: tweepy.HTTPException) -> str:
    messages = [str(m) for m in getattr(exc, "api_messages", [])]
    return "; ".join(messages) or str(getattr(exc.response, "reason", "") or "")


class XGateway:
    def __init__(self, client: AsyncClient, *, clock: Callable[[], float] = time.time) -> None:
        self._client = client
        # Headers are needed to pace requests, so take raw responses instead of dicts.
        self._client.return_type = aiohttp.ClientResponse
        self._clock = clock
        self._blocked_until: dict[str, float] = {}

    def blocked_until(self, endpoint: str) -> float:
        return self._blocked_until.get(endpoint, 0.0)

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
    ) -> dict[str, Any]:
        now = self._clock()
        if self._blocked_until.get(endpoint, 0.0) > now:
            raise XRateLimited(endpoint, self._blocked_until[endpoint])
        try:
            response = await request()
        except tweepy.TooManyRequests as exc:
            reset = float(exc.reset_time or now + 60)
            self._blocked_until[endpoint] = reset
            raise XRateLimited(endpoint, reset) from None
        except tweepy.Unauthorized as exc:
            raise XAuthFailed(f"X refused the credentials on {endpoint}: {_detail(exc)}") from None
        except tweepy.Forbidden as exc:
            if read:
                # A read is refused only when the app or its keys lack access.
                raise XAuthFailed(f"X refused access to {endpoint}: {_detail(exc)}") from None
            raise XRejected(403, _detail(exc)) from None
        except tweepy.TwitterServerError as exc:
            raise XUnavailable(f"X failed on {endpoint} ({exc.response.status})") from None
        except tweepy.HTTPException as exc:
            status = int(getattr(exc.response, "status", 0))
            raise XRejected(status, _detail(exc)) from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise XUnavailable(f"X unreachable on {endpoint}: {type(exc).__name__}") from None
        self._note_limits(endpoint, response)
        body: dict[str, Any] = await response.json()
        return body

    def _note_limits(self, endpoint: str, response: aiohttp.ClientResponse) -> None:
        remaining = response.headers.get("x-rate-limit-remaining")
        reset = response.headers.get("x-rate-limit-reset")
        if remaining is not None and reset is not None and int(remaining) <= 0:
            # The window is spent: wait for its reset instead of collecting a 429.
            self._blocked_until[endpoint] = float(reset)

    async def me(self) -> XAccount:
        body = await self._call("getUsersMe", lambda: self._client.get_me(user_auth=True))
        return XAccount(id=body["data"]["id"], username=body["data"]["username"])

    async def mentions(self, user_id: str, since_id: str | None, token: str | None) -> Page:
        body = await self._call(
            "getUsersMentions",
            lambda: self._client.get_users_mentions(
                user_id,
                since_id=since_id,
                pagination_token=token,
                max_results=100,
                tweet_fields=TWEET_FIELDS,
                expansions=EXPANSIONS,
                user_fields=USER_FIELDS,
            ),
        )
        return _page(body)

    async def search(self, query: str, since_id: str | None, token: str | None) -> Page:
        body = await self._call(
            "searchPostsRecent",
            lambda: self._client.search_recent_tweets(
                query,
                since_id=since_id,
                next_token=token,
                max_results=100,
                tweet_fields=TWEET_FIELDS,
                expansions=EXPANSIONS,
                user_fields=USER_FIELDS,
            ),
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
        )
        return str(body["data"]["id"])

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

    async def _users_posts(self, user_id: str, since_id: str, token: str | None) -> dict[str, Any]:
        return await self._call(
            "getUsersPosts",
            lambda: self._client.get_users_tweets(
                user_id,
                since_id=since_id,
                pagination_token=token,
                max_results=100,
                tweet_fields=["referenced_tweets", "created_at"],
                user_auth=True,
            ),
        )


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
    )


def gateway_from_settings(settings: Settings) -> XGateway:
    return XGateway(
        make_x_client(
            base_url=settings.x_api_url,
            bearer_token=settings.x_bearer_token.get_secret_value(),
            api_key=settings.x_api_key.get_secret_value(),
            api_secret=settings.x_api_secret.get_secret_value(),
            access_token=settings.x_access_token.get_secret_value(),
            access_token_secret=settings.x_access_token_secret.get_secret_value(),
            timeout=settings.x_timeout_seconds,
        )
    )
