"""A local X API v2 that the real tweepy AsyncClient talks to over HTTP, limits and errors included.

It stands in for X in the bot's tests, the demo and the sandbox, so it is deliberately as strict
as X: OAuth 1.0a signatures are verified against the URL tweepy signed
(`https://api.twitter.com/...`), rate-limit windows are per endpoint and per identity, a client
that keeps calling after a 429 is recorded in `violations`, post length is X's weighted
length, and the February 2026 reply restriction is enforced. Answers follow the shapes of the
X API v2 OpenAPI description (`x-api-v2-openapi.json`), with the field names X actually sends
to tweepy (`tweet.fields`, `referenced_tweets`, `includes.tweets`, `edit_history_tweet_ids`).

Like X, the emulator rewrites what it stores: URLs become 23-character `https://t.co/...`
links (the entity keeps `expanded_url`), a reply to someone else's post gets the leading
`@author ` that X auto-populates (`display_text_range` starts after it), and a retweet's text
is `RT @author: original text`. Compare the text you sent with `display_text_range` in mind.
A hidden post (`hide_post`) leaves search and the mentions timeline but stays readable by id
and on its author's timeline; a deleted one is gone everywhere. Problem `type`s use the
spec's `https://api.x.com/2/problems/...`; whole-request failures (401, 429, 5xx, duplicate
and reply-restriction 403s) are X's `about:blank` problems. The developer account can be put
in the states X refuses every call in: an app not enrolled for API access (403 with reason
`client-not-enrolled`) and spent pay-per-use credits (402 `credits-depleted`), until the
account is fixed again (`set_account`, or `/control/account`).

Recent search understands keywords, "exact phrases", #hashtags (case-insensitive), @mentions,
$cashtags, from:, to:, retweets_of:, conversation_id:, in_reply_to_tweet_id:,
quotes_of_tweet_id:, retweets_of_tweet_id:, url:, is:retweet|reply|quote|verified,
has:links|mentions|hashtags|cashtags|media, lang:, OR, parentheses and `-` negation, over
the last 7 days; anything else is X's 400, and so is a `since_id` or `start_time` older than
those 7 days, or both of them at once. The mentions timeline takes any `since_id` or
`start_time` (its limit is the newest 800 mentions).

Served X operations (operationId, path, auth, default limit per 15 min app / user):

    getUsersMe        GET    /2/users/me           user only    - / 75
    getUsersMentions  GET    /2/users/:id/mentions app or user  450 / 300
    getUsersPosts     GET    /2/users/:id/tweets   app or user  10000 / 900
    searchPostsRecent GET    /2/tweets/search/recent app or user 450 / 300
    getPostsById      GET    /2/tweets/:id         app or user  450 / 900
    getPostsByIds     GET    /2/tweets?ids=        app or user  3500 / 5000
    createPosts       POST   /2/tweets             user only    - / 100
    deletePosts       DELETE /2/tweets/:id         user only    - / 50

Control API (JSON, no auth, no rate limits; for `opsbot sandbox` and the demo). Errors answer
`{"error": "<why>"}` with status 400 or 404.

    POST   /control/users     {"username": str, "name"?: str, "followers_count"?: int}
                              -> 201 {"data": {"id", "name", "username"}}
    GET    /control/users     -> 200 {"data": [user, ...]}
    POST   /control/posts     {"username": str, "text": str, "quote_of"?: id, "reply_to"?: id,
                               "retweet_of"?: id, "created_at"?: ISO 8601}
                              a visitor's post (the user is created if new)
                              -> 201 {"data": stored post, every field}
    GET    /control/posts?author=<username>
                              -> 200 {"data": [post, ...]} oldest first, deleted ones left out;
                              without `author`, every post. Posts carry an extra
                              `in_reply_to_tweet_id` (null when not a reply) for convenience.
    POST   /control/posts/<id>/hide   -> 200 {"data": {"id", "hidden": true}}
    DELETE /control/posts/<id>        -> 200 {"data": {"id", "deleted": true}}
    POST   /control/faults    {"endpoint"?: operationId or null for all, "status"?: int (503),
                               "count"?: int (1), "delay"?: seconds (0), "accept"?: bool (false),
                               "description"?: str}
                              -> 201 {"data": the fault}; `accept` carries the call out first and
                              then fails it (X took the post, the answer was lost); a 402 fault
                              answers X's credits problem
    POST   /control/account   {"enrolled"?: bool, "credits"?: bool}
                              -> 200 {"data": {"enrolled", "credits"}}; while not enrolled
                              every call is 403 client-not-enrolled, without credits 402
    DELETE /control/faults    -> 200 {"data": {"cleared": n}}
    GET    /control/requests  -> 200 {"data": [{"at", "endpoint", "params", "status"}, ...],
                                      "violations": [str, ...]}
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import contextlib
import copy
import hashlib
import hmac
import json
import math
import re
import sys
import time
import types
import unicodedata
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import cache
from http import HTTPStatus
from typing import Any

from aiohttp import web
from multidict import MultiMapping
from oauthlib.oauth1.rfc5849 import signature as oauth_signature  # type: ignore[import-untyped]
from oauthlib.oauth1.rfc5849 import utils as oauth_utils

from opsbot.emulators.base import EmulatorServer, Fault, LoggedRequest
from opsbot.services.tweet_length import has_invalid_characters, weighted_length
from opsbot.services.tweet_urls import extract_urls_with_indices

Post = dict[str, Any]

PROBLEMS = "https://api.x.com/2/problems/"
PROBLEM_JSON = "application/problem+json"
TWITTER_EPOCH_MS = 1_288_834_974_657
MAX_WEIGHTED_LENGTH = 280
SEARCH_WINDOW = 7 * 24 * 3600.0
DUPLICATE_WINDOW = 24 * 3600.0
SEARCH_END_MARGIN = 10.0
SEARCH_QUERY_MAX = 512
MENTIONS_CAP = 800
TIMELINE_CAP = 3200
OAUTH_SKEW = 300.0
EDIT_WINDOW = 3600.0
# The hosts tweepy and other clients sign for; the emulator itself is reached at another one.
SIGNED_HOSTS = ("api.twitter.com", "api.x.com")

# Documented per-15-minute limits (docs.x.com, rate limits table): (per app, per user);
# None where X refuses that kind of authentication for the endpoint.
DEFAULT_LIMITS: dict[str, tuple[int | None, int | None]] = {
    "getUsersMe": (None, 75),
    "getUsersMentions": (450, 300),
    "getUsersPosts": (10_000, 900),
    "searchPostsRecent": (450, 300),
    "getPostsById": (450, 900),
    "getPostsByIds": (3_500, 5_000),
    "createPosts": (None, 100),
    "deletePosts": (None, 50),
}
USER_ONLY = frozenset({"getUsersMe", "createPosts", "deletePosts"})


def _names(words: str) -> frozenset[str]:
    return frozenset(words.split())


# The union of the names the spec lists and those X serves to tweepy.
TWEET_FIELDS = _names(
    "article article_title attachments author_id card_uri community_id context_annotations "
    "conversation_id created_at display_text_range edit_controls edit_history_tweet_ids "
    "entities geo id in_reply_to_user_id lang matched_media_notes media_metadata "
    "non_public_metrics note_post note_request_suggestions note_tweet organic_metrics "
    "paid_partnership possibly_sensitive promoted_metrics public_metrics referenced_tweets "
    "reply_settings scopes source suggested_source_links suggested_source_links_with_counts "
    "text withheld"
)
USER_FIELDS = _names(
    "affiliation confirmed_email connection_status created_at description entities id "
    "is_identity_verified location most_recent_tweet_id name parody pinned_tweet_id "
    "profile_banner_url profile_image_url protected public_metrics receives_your_dm "
    "subscribes_to_you subscription subscription_type url username verified "
    "verified_followers_count verified_type withheld"
)
TWEET_EXPANSIONS = _names(
    "article.cover_media article.media_entities attachments.media_keys "
    "attachments.media_source_tweet attachments.poll_ids author_id edit_history_tweet_ids "
    "edit_history_post_ids entities.mentions.username entities.note.mentions.username "
    "geo.place_id in_reply_to_user_id referenced_tweets.id "
    "referenced_tweets.id.attachments.media_keys referenced_tweets.id.author_id "
    "referenced_posts username"
)
USER_EXPANSIONS = _names(
    "affiliation affiliation.user_id most_recent_tweet_id most_recent_post_id "
    "pinned_tweet_id pinned_post_id"
)
MEDIA_FIELDS = _names(
    "alt_text duration_ms height media_key non_public_metrics organic_metrics "
    "preview_image_url promoted_metrics public_metrics type url variants width"
)
POLL_FIELDS = _names("duration_minutes end_datetime id options voting_status")
PLACE_FIELDS = _names("contained_within country country_code full_name geo id name place_type")
_FIELD_ENUMS: dict[str, frozenset[str]] = {
    "tweet.fields": TWEET_FIELDS,
    "post.fields": TWEET_FIELDS,
    "user.fields": USER_FIELDS,
    "media.fields": MEDIA_FIELDS,
    "poll.fields": POLL_FIELDS,
    "place.fields": PLACE_FIELDS,
}
_FIELD_PARAMS = (
    "tweet.fields",
    "post.fields",
    "expansions",
    "user.fields",
    "media.fields",
    "poll.fields",
    "place.fields",
)
_TIMELINE_PARAMS = (
    "max_results",
    "pagination_token",
    "start_time",
    "end_time",
    "since_id",
    "until_id",
)
_QUERY_PARAMS: dict[str, tuple[str, ...]] = {
    "getUsersMe": ("user.fields", "expansions", "tweet.fields", "post.fields"),
    "getUsersMentions": (*_TIMELINE_PARAMS, *_FIELD_PARAMS),
    "getUsersPosts": (*_TIMELINE_PARAMS, "exclude", *_FIELD_PARAMS),
    "searchPostsRecent": (*_TIMELINE_PARAMS, "query", "next_token", "sort_order", *_FIELD_PARAMS),
    "getPostsById": _FIELD_PARAMS,
    "getPostsByIds": ("ids", *_FIELD_PARAMS),
    "createPosts": (),
    "deletePosts": (),
}
# (minimum, maximum, default) of max_results.
_PAGE_SIZES = {
    "getUsersMentions": (5, 100, 10),
    "getUsersPosts": (5, 100, 10),
    "searchPostsRecent": (10, 100, 10),
}
_ID = re.compile(r"^[0-9]{1,19}$")
_USERNAME = re.compile(r"^[A-Za-z0-9_]{1,15}$")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$")
_CREATE_KEYS = _names(
    "card_uri community_id direct_message_deep_link edit_options for_super_followers_only geo "
    "made_with_ai media nullcast paid_partnership poll quote_tweet_id reply reply_settings "
    "share_with_followers text"
)
# Accepted by X, but they need media, polls or places this emulator does not model; refusing
# them keeps a bot from passing tests with a feature that was never exercised.
_CREATE_UNSUPPORTED = _names(
    "card_uri community_id direct_message_deep_link edit_options geo media poll "
    "share_with_followers"
)
_REPLY_SETTINGS = ("following", "mentionedUsers", "subscribers", "verified")

DUPLICATE_DETAIL = "You are not allowed to create a Tweet with duplicate content."
REPLY_RESTRICTED_DETAIL = (
    "Reply to this conversation is not allowed because you have not been mentioned or "
    "otherwise engaged by the author of the post you are replying to."
)
REPLY_MISSING_DETAIL = "You attempted to reply to a Tweet that is deleted or not visible to you."
QUOTE_MISSING_DETAIL = "You attempted to quote a Tweet that is deleted or not visible to you."
NOT_ENROLLED_DETAIL = (
    "When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens "
    "from a Twitter developer App that is attached to a Project. You can create a project via "
    "the developer portal."
)
CREDITS_DETAIL = "credits depleted"
# The developer app's id, as X names it in a client-not-enrolled problem.
APP_CLIENT_ID = "28000001"
UNSUPPORTED_AUTH_DETAIL = (
    "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  "
    "Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context]."
)


# --- text: weighted length and entities, as twitter-text and X count them -------------------


@cache
def _marks() -> str:
    """A character-class body of the Unicode combining marks (twitter-text's \\p{M}).

    `re` has no \\p{...}; scanning the planes that hold marks once is cheap enough.
    Variation selectors are left out: after an emoji (`✌️#tag`) they must not glue the
    hashtag to it, as twitter-text's conformance cases require.
    """
    ranges: list[str] = []
    start: int | None = None
    for code in [*range(0x20000), sys.maxunicode + 1]:
        is_mark = (
            code <= sys.maxunicode
            and not 0xFE00 <= code <= 0xFE0F
            and unicodedata.category(chr(code)).startswith("M")
        )
        if is_mark and start is None:
            start = code
        elif not is_mark and start is not None:
            ranges.append(f"{re.escape(chr(start))}-{re.escape(chr(code - 1))}")
            start = None
    return "".join(ranges)


_HASHTAG_SPECIALS = (
    "\u200c\u200d\ua67e\u05be\u05f3\u05f4\uff5e\u301c\u309b\u309c\u30a0\u30fb\u3003"
    "\u0f0b\u0f0c\u00b7"
)


@cache
def _hashtag_re() -> re.Pattern[str]:
    marks = _marks()
    alnum = rf"(?:\w|[{marks}{_HASHTAG_SPECIALS}])"
    alpha = rf"(?:[^\W\d_]|[{marks}])"
    return re.compile(
        rf"(?<![&\w{marks}{_HASHTAG_SPECIALS}])[#＃](?![\ufe0f\u20e3])({alnum}*{alpha}{alnum}*)"
    )


_HASHTAG_END = re.compile(r"[#＃]|://")
_MENTION = re.compile(
    r"(?:^|[^a-zA-Z0-9_!#$%&*@＠]|(?:^|[^a-zA-Z0-9_+~.-])(?:rt|RT|rT|Rt):?)"
    r"([@＠])([a-zA-Z0-9_]{1,20})(/[a-zA-Z][a-zA-Z0-9_-]{0,24})?"
)
_LATIN_ACCENTS = (
    "\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259"
    "\u025b\u0263\u0268\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff"
)
_MENTION_END = re.compile(rf"[@＠{_LATIN_ACCENTS}]|://")
_SPACES = "\t-\r \x85\xa0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_CASHTAG = re.compile(
    rf"(?:^|(?<=[{_SPACES}]))\$([a-z]{{1,6}}(?:[._][a-z]{{1,2}})?)"
    rf"(?=$|\s|[!\"#%&'()*+,\-./:;<=>?@\[\]^_{{|}}~$\\])",
    re.IGNORECASE,
)
_LEADING_MENTIONS = re.compile(r"^(?:[@＠][A-Za-z0-9_]{1,20}\s+)+")
_WORDS = re.compile(r"\w+")


@dataclass(frozen=True)
class Entity:
    kind: str  # "url" | "mention" | "hashtag" | "cashtag"
    start: int  # code points, end exclusive, as X's v2 entities
    end: int
    value: str  # the URL as written, or the username / tag without its sign


def extract_entities(text: str) -> list[Entity]:
    """URLs, mentions, hashtags and cashtags of `text`, by twitter-text's rules.

    As twitter-text does, an entity inside a URL (`http://x.org/#top`) is not an entity.
    """
    found: list[Entity] = [
        Entity("url", url.start, url.end, url.url) for url in extract_urls_with_indices(text)
    ]
    for m in _MENTION.finditer(text):
        if m.group(3) or _MENTION_END.match(text, m.end()):
            continue
        found.append(Entity("mention", m.start(1), m.end(2), m.group(2)))
    for m in _hashtag_re().finditer(text):
        if _HASHTAG_END.match(text, m.end()):
            continue
        found.append(Entity("hashtag", m.start(), m.end(), m.group(1)))
    for m in _CASHTAG.finditer(text):
        found.append(Entity("cashtag", m.start(), m.end(), m.group(1)))
    found.sort(key=lambda e: (e.start, e.kind != "url"))
    kept: list[Entity] = []
    for entity in found:
        if kept and entity.start < kept[-1].end:
            continue
        kept.append(entity)
    return kept


def _tco(url: str) -> str:
    digest = int.from_bytes(hashlib.sha256(url.encode()).digest()[:8], "big")
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    chars = []
    for _ in range(10):
        digest, rest = divmod(digest, 62)
        chars.append(alphabet[rest])
    return "https://t.co/" + "".join(chars)


def _guess_lang(text: str) -> str:
    bare = re.sub(r"https?://\S+|[@#＠＃$]\w+", " ", text)
    cyrillic = len(re.findall(r"[\u0400-\u04ff]", bare))
    latin = len(re.findall(r"[A-Za-z]", bare))
    if cyrillic == latin == 0:
        return "zxx" if not bare.strip() else "und"
    return "ru" if cyrillic >= latin else "en"


def _words(text: str) -> list[str]:
    return _WORDS.findall(unicodedata.normalize("NFC", text).casefold())


def _iso(ts: float) -> str:
    moment = datetime.fromtimestamp(ts, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse_time(value: str) -> float | None:
    if not _RFC3339.match(value):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _snowflake_ms(post_id: int) -> float:
    return ((post_id >> 22) + TWITTER_EPOCH_MS) / 1000.0


# --- errors ----------------------------------------------------------------------------------


class _ApiError(Exception):
    def __init__(
        self,
        status: int,
        body: dict[str, Any],
        *,
        headers: Mapping[str, str] | None = None,
        content_type: str = PROBLEM_JSON,
    ) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        self.content_type = content_type


def _about_blank(
    status: int, detail: str | None = None, title: str | None = None
) -> dict[str, Any]:
    phrase = HTTPStatus(status).phrase
    return {
        "title": title or phrase,
        "detail": detail or phrase,
        "type": "about:blank",
        "status": status,
    }


def _not_enrolled(client_id: str) -> _ApiError:
    return _ApiError(
        403,
        {
            "client_id": client_id,
            "detail": NOT_ENROLLED_DETAIL,
            "registration_url": "https://developer.x.com/en/docs/projects/overview",
            "title": "Client Forbidden",
            "required_enrollment": "Appropriate Level of API Access",
            "reason": "client-not-enrolled",
            "type": PROBLEMS + "client-forbidden",
        },
    )


def _credits_depleted(detail: str | None = None) -> _ApiError:
    return _ApiError(
        402,
        {
            "title": "Payment Required",
            "detail": detail or CREDITS_DETAIL,
            "type": PROBLEMS + "credits-depleted",
            "status": 402,
        },
    )


def _invalid(errors: list[dict[str, Any]], detail: str | None = None) -> _ApiError:
    return _ApiError(
        400,
        {
            "errors": errors,
            "title": "Invalid Request",
            "detail": detail or "One or more parameters to your request was invalid.",
            "type": PROBLEMS + "invalid-request",
        },
    )


def _param_error(name: str, value: str, message: str) -> dict[str, Any]:
    return {"parameters": {name: [value]}, "message": message}


def _not_found(resource: str, parameter: str, value: str) -> dict[str, Any]:
    return {
        "value": value,
        "detail": f"Could not find {resource} with {parameter}: [{value}].",
        "title": "Not Found Error",
        "resource_type": resource,
        "parameter": parameter,
        "resource_id": value,
        "type": PROBLEMS + "resource-not-found",
    }


# --- the search query language ---------------------------------------------------------------


class QueryError(ValueError):
    """The query is not one X would accept; the message says why."""


@dataclass(frozen=True)
class _Context:
    user_id_for: Callable[[str], str | None]
    user: Callable[[str], dict[str, Any] | None]
    post: Callable[[str], Post | None]


Predicate = Callable[[Post], bool]


@dataclass(frozen=True)
class _Node:
    match: Predicate
    # X refuses a query made only of "conjunction-required" operators (is:, has:, lang:)
    # or only of negations: something must select posts on its own.
    standalone: bool


_CONJUNCTION_ONLY = {
    "is": {"retweet", "reply", "quote", "verified", "nullcast"},
    "has": {"links", "mentions", "hashtags", "cashtags", "media", "images", "videos", "geo"},
}
_STANDALONE_OPERATORS = {
    "from",
    "to",
    "retweets_of",
    "conversation_id",
    "in_reply_to_tweet_id",
    "quotes_of_tweet_id",
    "retweets_of_tweet_id",
    "url",
}


def _refs(post: Post, kind: str) -> list[str]:
    return [r["id"] for r in post.get("referenced_tweets", []) if r["type"] == kind]


def _entity_values(post: Post, kind: str, key: str) -> list[str]:
    return [str(e.get(key, "")) for e in post.get("entities", {}).get(kind, [])]


def _contains_run(words: list[str], run: list[str]) -> bool:
    n = len(run)
    return any(words[i : i + n] == run for i in range(len(words) - n + 1))


def _scan(query: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    i = 0
    while i < len(query):
        char = query[i]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append((char, char))
            i += 1
        elif char == "-" and i + 1 < len(query) and not query[i + 1].isspace():
            tokens.append(("NEG", char))
            i += 1
        elif char == '"':
            end = query.find('"', i + 1)
            if end < 0:
                raise QueryError("a quoted phrase is not closed")
            tokens.append(("PHRASE", query[i + 1 : end]))
            i = end + 1
        else:
            j = i
            while j < len(query) and not query[j].isspace() and query[j] not in '()"':
                j += 1
            word = query[i:j]
            if word.endswith(":") and j < len(query) and query[j] == '"':
                end = query.find('"', j + 1)
                if end < 0:
                    raise QueryError("a quoted operator value is not closed")
                word += query[j + 1 : end]
                j = end + 1
            tokens.append(("OR" if word == "OR" else "TERM", word))
            i = j
    return tokens


class _Parser:
    """Recursive descent over X's grammar: juxtaposition is AND and binds tighter than OR."""

    def __init__(self, tokens: list[tuple[str, str]], ctx: _Context) -> None:
        self.tokens = tokens
        self.pos = 0
        self.ctx = ctx

    def _peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def parse(self) -> _Node:
        node = self._or()
        if self._peek() is not None:
            raise QueryError("unbalanced parentheses: an unexpected ')'")
        return node

    def _or(self) -> _Node:
        parts = [self._and()]
        while self._peek() == "OR":
            self.pos += 1
            parts.append(self._and())
        if len(parts) == 1:
            return parts[0]
        return _Node(lambda p: any(n.match(p) for n in parts), all(n.standalone for n in parts))

    def _and(self) -> _Node:
        parts: list[_Node] = []
        while self._peek() not in (None, ")", "OR"):
            parts.append(self._unary())
        if not parts:
            raise QueryError("an empty group or a dangling OR")
        if len(parts) == 1:
            return parts[0]
        return _Node(lambda p: all(n.match(p) for n in parts), any(n.standalone for n in parts))

    def _unary(self) -> _Node:
        if self._peek() == "NEG":
            self.pos += 1
            inner = self._atom()
            return _Node(lambda p: not inner.match(p), False)
        return self._atom()

    def _atom(self) -> _Node:
        kind, value = self.tokens[self.pos]
        self.pos += 1
        if kind == "(":
            node = self._or()
            if self._peek() != ")":
                raise QueryError("unbalanced parentheses: a '(' is not closed")
            self.pos += 1
            return node
        if kind == ")":
            raise QueryError("unbalanced parentheses: an unexpected ')'")
        if kind == "PHRASE":
            return self._keyword(value)
        if kind == "NEG":
            raise QueryError("a negation must precede a term or a group")
        return self._term(value)

    def _keyword(self, text: str) -> _Node:
        run = _words(text)
        if not run:
            raise QueryError(f"the term '{text}' has nothing to match")
        return _Node(lambda p: _contains_run(_words(p["text"]), run), True)

    def _term(self, word: str) -> _Node:
        ctx = self.ctx
        if word[0] in "#＃" and len(word) > 1:
            tag = unicodedata.normalize("NFC", word[1:]).casefold()
            return _Node(
                lambda p: any(
                    unicodedata.normalize("NFC", t).casefold() == tag
                    for t in _entity_values(p, "hashtags", "tag")
                ),
                True,
            )
        if word[0] in "@＠" and len(word) > 1:
            name = word[1:].casefold()
            return _Node(
                lambda p: any(
                    u.casefold() == name for u in _entity_values(p, "mentions", "username")
                ),
                True,
            )
        if word[0] == "$" and len(word) > 1 and not word[1].isdigit():
            cash = word[1:].casefold()
            return _Node(
                lambda p: any(t.casefold() == cash for t in _entity_values(p, "cashtags", "tag")),
                True,
            )
        operator, colon, value = word.partition(":")
        if colon and re.fullmatch(r"[a-z_]+", operator):
            return self._operator(operator, value, word, ctx)
        return self._keyword(word)

    def _operator(self, operator: str, value: str, word: str, ctx: _Context) -> _Node:
        if not value:
            raise QueryError(f"the operator '{operator}:' needs a value")
        if operator in _CONJUNCTION_ONLY:
            if value not in _CONJUNCTION_ONLY[operator]:
                raise QueryError(f"Reference to invalid operator '{word}'")
            return _Node(self._flag(operator, value, ctx), False)
        if operator == "lang":
            return _Node(lambda p: p.get("lang") == value, False)
        if operator not in _STANDALONE_OPERATORS:
            raise QueryError(f"Reference to invalid operator '{operator}:'")
        if operator in ("from", "to", "retweets_of"):
            handle = value.removeprefix("@")
            uid = handle if _ID.match(handle) else ctx.user_id_for(handle)
            if operator == "from":
                return _Node(lambda p: uid is not None and p["author_id"] == uid, True)
            if operator == "to":
                return _Node(
                    lambda p: uid is not None and p.get("in_reply_to_user_id") == uid, True
                )

            def retweets_of(p: Post) -> bool:
                originals = [ctx.post(i) for i in _refs(p, "retweeted")]
                return any(o is not None and o["author_id"] == uid for o in originals)

            return _Node(retweets_of, True)
        if operator == "url":
            needle = value.casefold()
            return _Node(
                lambda p: any(
                    needle in e.get("expanded_url", "").casefold() or needle in e.get("url", "")
                    for e in p.get("entities", {}).get("urls", [])
                ),
                True,
            )
        if not _ID.match(value):
            raise QueryError(f"the operator '{operator}:' needs a post id")
        ref_kind = {
            "in_reply_to_tweet_id": "replied_to",
            "quotes_of_tweet_id": "quoted",
            "retweets_of_tweet_id": "retweeted",
        }.get(operator)
        if ref_kind is None:
            return _Node(lambda p: p.get("conversation_id") == value, True)
        return _Node(lambda p: value in _refs(p, ref_kind), True)

    @staticmethod
    def _flag(operator: str, value: str, ctx: _Context) -> Predicate:
        if operator == "is":
            if value == "retweet":
                return lambda p: bool(_refs(p, "retweeted"))
            if value == "reply":
                return lambda p: bool(_refs(p, "replied_to"))
            if value == "quote":
                return lambda p: bool(_refs(p, "quoted"))
            if value == "verified":
                return lambda p: bool((ctx.user(p["author_id"]) or {}).get("verified"))
            return lambda p: False  # nullcast posts never reach search
        kinds = {
            "links": "urls",
            "mentions": "mentions",
            "hashtags": "hashtags",
            "cashtags": "cashtags",
        }
        if value in kinds:
            kind = kinds[value]
            return lambda p: bool(p.get("entities", {}).get(kind))
        return lambda p: False  # no media, no geo in this emulator


def parse_query(query: str, ctx: _Context) -> Predicate:
    """Compile a recent-search query into a predicate, or raise QueryError as X would 400."""
    tokens = _scan(query)
    if not tokens:
        raise QueryError("the query is empty")
    node = _Parser(tokens, ctx).parse()
    if not node.standalone:
        raise QueryError(
            "the query needs at least one standalone operator (a keyword, #hashtag, @mention, "
            "from:, to:, conversation_id: ...); is:, has:, lang: and negations only narrow it"
        )
    return node.match


# --- request parameters ----------------------------------------------------------------------


@dataclass
class _Params:
    tweet_fields: frozenset[str] = frozenset()
    user_fields: frozenset[str] = frozenset()
    expansions: frozenset[str] = frozenset()
    max_results: int = 10
    since_id: int | None = None
    until_id: int | None = None
    start_time: float | None = None
    end_time: float | None = None
    token: str | None = None
    token_param: str = "pagination_token"
    query: str | None = None
    exclude: frozenset[str] = frozenset()
    ids: list[str] = field(default_factory=list)
    raw: dict[str, str] = field(default_factory=dict)


def _parse_params(op: str, query: MultiMapping[str]) -> _Params:
    allowed = _QUERY_PARAMS[op]
    errors: list[dict[str, Any]] = []
    raw: dict[str, str] = {}
    for name in dict.fromkeys(query.keys()):
        values = query.getall(name)
        if name not in allowed:
            errors.append(
                {
                    "parameters": {name: values},
                    "message": f"The query parameter [{name}] is not one of [{','.join(allowed)}]",
                }
            )
        elif len(values) > 1:
            errors.append(
                {
                    "parameters": {name: values},
                    "message": f"Duplicate parameters are not allowed: the `{name}` "
                    "query parameter",
                }
            )
        else:
            raw[name] = values[0]
    if errors:
        raise _invalid(errors)

    params = _Params(raw=raw)
    for name, enum in _FIELD_ENUMS.items():
        if name in raw:
            chosen = _parse_list(name, raw[name], enum, errors)
            if name in ("tweet.fields", "post.fields"):
                params.tweet_fields |= chosen
            elif name == "user.fields":
                params.user_fields = chosen
    if "expansions" in raw:
        enum = USER_EXPANSIONS if op == "getUsersMe" else TWEET_EXPANSIONS
        params.expansions = _parse_list("expansions", raw["expansions"], enum, errors)
    if op in _PAGE_SIZES:
        low, high, default = _PAGE_SIZES[op]
        params.max_results = default
        if "max_results" in raw:
            value = raw["max_results"]
            if not re.fullmatch(r"-?\d{1,9}", value):
                errors.append(
                    _param_error(
                        "max_results",
                        value,
                        f"The `max_results` query parameter value [{value}] is not a valid integer",
                    )
                )
            elif not low <= int(value) <= high:
                errors.append(
                    _param_error(
                        "max_results",
                        value,
                        f"The `max_results` query parameter value [{value}] is not "
                        f"between {low} and {high}",
                    )
                )
            else:
                params.max_results = int(value)
    for name in ("since_id", "until_id"):
        if name in raw:
            if _ID.match(raw[name]):
                setattr(params, name, int(raw[name]))
            else:
                errors.append(
                    _param_error(
                        name,
                        raw[name],
                        f"The `{name}` query parameter value [{raw[name]}] does not match "
                        "^[0-9]{1,19}$",
                    )
                )
    for name in ("start_time", "end_time"):
        if name in raw:
            moment = _parse_time(raw[name])
            if moment is None:
                errors.append(
                    _param_error(
                        name,
                        raw[name],
                        f"The `{name}` query parameter value [{raw[name]}] is not a valid "
                        "RFC 3339 date-time (YYYY-MM-DDTHH:mm:ssZ)",
                    )
                )
            setattr(params, name, moment)
    for name in ("pagination_token", "next_token"):
        if name in raw:
            if params.token is not None:
                errors.append(
                    _param_error(
                        name, raw[name], "Use either `next_token` or `pagination_token`, not both"
                    )
                )
            params.token, params.token_param = raw[name], name
    if op == "searchPostsRecent":
        for first, second in (("start_time", "since_id"), ("end_time", "until_id")):
            if first in raw and second in raw:
                errors.append(
                    {
                        "parameters": {first: [raw[first]], second: [raw[second]]},
                        "message": f"At most one of `{first}`, `{second}` may be provided",
                    }
                )
    if "sort_order" in raw and raw["sort_order"] not in ("recency", "relevancy"):
        errors.append(
            _param_error(
                "sort_order",
                raw["sort_order"],
                f"The `sort_order` query parameter value [{raw['sort_order']}] is not one "
                "of [recency,relevancy]",
            )
        )
    if "exclude" in raw:
        params.exclude = _parse_list(
            "exclude", raw["exclude"], frozenset({"replies", "retweets"}), errors
        )
    if op == "searchPostsRecent":
        q = raw.get("query", "")
        if not q.strip():
            errors.append(
                {
                    "parameters": {"query": [q]},
                    "message": "The `query` query parameter can not be empty",
                }
            )
        elif len(q) > SEARCH_QUERY_MAX:
            errors.append(
                _param_error(
                    "query",
                    q,
                    f"The `query` query parameter value is {len(q)} characters long; the "
                    f"maximum is {SEARCH_QUERY_MAX}",
                )
            )
        params.query = q
    if op == "getPostsByIds":
        ids = raw.get("ids", "")
        parts = ids.split(",") if ids else []
        if not parts:
            errors.append(
                {
                    "parameters": {"ids": [ids]},
                    "message": "The `ids` query parameter can not be empty",
                }
            )
        elif len(parts) > 100:
            errors.append(
                _param_error(
                    "ids",
                    ids,
                    f"The `ids` query parameter has {len(parts)} values; the maximum is 100",
                )
            )
        for part in parts:
            if not _ID.match(part):
                errors.append(
                    _param_error(
                        "ids",
                        part,
                        f"The `ids` query parameter value [{part}] does not match ^[0-9]{{1,19}}$",
                    )
                )
        params.ids = parts
    if errors:
        raise _invalid(errors)
    return params


def _parse_list(
    name: str, value: str, enum: frozenset[str], errors: list[dict[str, Any]]
) -> frozenset[str]:
    items = value.split(",")
    bad = [item for item in items if item not in enum]
    for item in bad:
        errors.append(
            _param_error(
                name,
                item,
                f"The `{name}` query parameter value [{item}] is not one of "
                f"[{','.join(sorted(enum))}]",
            )
        )
    return frozenset(items) - frozenset(bad)


# --- the emulator ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Identity:
    kind: str  # "app" (bearer token) or "user" (OAuth 1.0a)
    user_id: str


@dataclass
class _Window:
    reset: int
    used: int = 0
    refused: bool = False  # a 429 was answered in this window


ApiHandler = Callable[[web.Request, _Identity], Awaitable[tuple[int, dict[str, Any]]]]


class XEmulator(EmulatorServer):
    """X API v2 on loopback for the museum's account, its visitors and their posts."""

    def __init__(
        self,
        *,
        museum_username: str = "museum",
        museum_name: str = "The Museum",
        bearer_token: str,
        api_key: str,
        api_secret: str,
        access_token: str,
        access_token_secret: str,
        window_seconds: float = 900.0,
        limits: dict[str, int] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(clock=clock)
        self._bearer_token = bearer_token
        self._api_key = api_key
        self._api_secret = api_secret
        self._access_token = access_token
        self._access_token_secret = access_token_secret
        self.window_seconds = window_seconds
        self._limits = self._resolve_limits(limits or {})
        self.violations: list[str] = []
        # The developer account: an app enrolled for API access, with credits to spend.
        self.enrolled = True
        self.credits = True
        self._users: dict[str, dict[str, Any]] = {}
        self._user_ids: dict[str, str] = {}  # casefolded username -> id
        self._posts: dict[str, Post] = {}
        self._post_ts: dict[str, float] = {}
        self._ids: list[int] = []  # ascending
        self._hidden: set[str] = set()
        self._deleted: set[str] = set()
        self._tco: dict[str, str] = {}
        self._windows: dict[tuple[str, str, str], _Window] = {}
        self._nonces: dict[str, float] = {}
        self._stopping = asyncio.Event()
        self._notifications: set[asyncio.Task[None]] = set()
        self._museum_id = self._create_user(museum_username, museum_name)["id"]
        self._ctx = _Context(self._user_id_for, self._users.get, self._visible_post)
        self._add_routes()

    # --- in-process API ---

    @property
    def museum(self) -> dict[str, Any]:
        return self._public_user(self._museum_id)

    def add_user(self, username: str, name: str | None = None) -> dict[str, Any]:
        """A visitor account (returned as is when the username already exists)."""
        existing = self._user_id_for(username)
        if existing is not None:
            return self._public_user(existing)
        user = self._create_user(username, name or username)
        self._poke()
        return self._public_user(user["id"])

    def set_account(self, *, enrolled: bool | None = None, credits: bool | None = None) -> None:
        """Put the developer account in a state X refuses every call in, or out of it."""
        if enrolled is not None:
            self.enrolled = enrolled
        if credits is not None:
            self.credits = credits

    def set_followers(self, username: str, count: int) -> None:
        uid = self._user_id_for(username)
        if uid is None:
            raise KeyError(f"no user @{username}")
        self._users[uid]["public_metrics"]["followers_count"] = count
        self._poke()

    def visitor_posts(
        self,
        username: str,
        text: str,
        *,
        quote_of: str | None = None,
        reply_to: str | None = None,
        retweet_of: str | None = None,
        created_at: datetime | None = None,
    ) -> Post:
        """Store a post by `username` (created if new) and return it with every field.

        A retweet's text is X's `RT @author: ...`, whatever `text` says.
        """
        for ref in (quote_of, reply_to, retweet_of):
            if ref is not None and self._visible_post(ref) is None:
                raise KeyError(f"no post {ref}")
        if retweet_of is not None and (quote_of or reply_to):
            raise ValueError("a retweet can neither quote nor reply")
        author = self.add_user(username)["id"]
        if created_at is None:
            at = self.clock()
        else:
            if created_at.tzinfo is None:
                created_at = created_at.replace(tzinfo=UTC)
            at = created_at.timestamp()
        post = self._store_post(
            author, text, reply_to=reply_to, quote_of=quote_of, retweet_of=retweet_of, at=at
        )
        self._poke()
        return copy.deepcopy(post)

    def museum_posts(self) -> list[Post]:
        """What the museum's account posted, oldest first, with `in_reply_to_tweet_id` added."""
        return self._posts_of(self._museum_id)

    def hide_post(self, post_id: str) -> None:
        self._require_post(post_id)
        self._hidden.add(post_id)
        self._poke()

    def delete_post(self, post_id: str) -> None:
        post = self._require_post(post_id)
        self._delete(post)
        self._poke()

    # --- lifecycle ---

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._stopping.clear()
        return await super().start(host, port)

    async def stop(self) -> None:
        # Answers held back by a `delay` fault would otherwise keep the runner's cleanup waiting.
        self._stopping.set()
        await super().stop()
        await asyncio.gather(*self._notifications, return_exceptions=True)

    def _poke(self) -> None:
        """notify() from synchronous code, when an event loop is there to run it."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = loop.create_task(self.notify())
        self._notifications.add(task)
        task.add_done_callback(self._notifications.discard)

    # --- users and posts ---

    def _create_user(self, username: str, name: str) -> dict[str, Any]:
        if not _USERNAME.match(username):
            raise ValueError(f"an X username is 1-15 letters, digits or _: {username!r}")
        uid = str(1_350_000_000_000_000_000 + (len(self._users) + 1) * 1_000_003)
        self._users[uid] = {
            "id": uid,
            "name": name,
            "username": username,
            "created_at": _iso(self.clock()),
            "description": "",
            "location": "",
            "url": "",
            "protected": False,
            "verified": False,
            "verified_type": "none",
            "profile_image_url": f"https://pbs.twimg.com/profile_images/{uid}/photo_normal.jpg",
            "public_metrics": {
                "followers_count": 0,
                "following_count": 0,
                "tweet_count": 0,
                "listed_count": 0,
                "like_count": 0,
                "media_count": 0,
            },
        }
        self._user_ids[username.casefold()] = uid
        return self._users[uid]

    def _user_id_for(self, username: str) -> str | None:
        return self._user_ids.get(username.removeprefix("@").casefold())

    def _public_user(self, uid: str) -> dict[str, Any]:
        user = self._users[uid]
        return {"id": uid, "name": user["name"], "username": user["username"]}

    def _visible_post(self, post_id: str) -> Post | None:
        if post_id in self._deleted:
            return None
        return self._posts.get(post_id)

    def _require_post(self, post_id: str) -> Post:
        post = self._visible_post(post_id)
        if post is None:
            raise KeyError(f"no post {post_id}")
        return post

    def _posts_of(self, uid: str | None) -> list[Post]:
        out = []
        for pid in self._ids:
            post = self._posts[str(pid)]
            if str(pid) in self._deleted or (uid is not None and post["author_id"] != uid):
                continue
            parents = _refs(post, "replied_to")
            out.append(
                {**copy.deepcopy(post), "in_reply_to_tweet_id": parents[0] if parents else None}
            )
        return out

    def _new_id(self, at: float) -> str:
        ms = max(int(at * 1000), TWITTER_EPOCH_MS + 1)
        candidate = (ms - TWITTER_EPOCH_MS) << 22
        while str(candidate) in self._posts:
            candidate += 1
        return str(candidate)

    def _compose(
        self,
        author_id: str,
        text: str,
        reply_to: str | None,
        retweet_of: str | None,
        exclude_reply_user_ids: frozenset[str] = frozenset(),
    ) -> tuple[str, list[dict[str, Any]]]:
        """The text X would store, with its URLs wrapped in t.co, and its URL entities."""
        text = unicodedata.normalize("NFC", text)
        if retweet_of is not None:
            original = self._posts[retweet_of]
            author = self._users[original["author_id"]]["username"]
            text = f"RT @{author}: {original['text']}"
        elif reply_to is not None:
            parent_author = self._posts[reply_to]["author_id"]
            username = self._users[parent_author]["username"]
            already = re.match(rf"[@＠]{re.escape(username)}(?![A-Za-z0-9_])", text, re.I)
            if (
                parent_author != author_id
                and parent_author not in exclude_reply_user_ids
                and not already
            ):
                text = f"@{username} {text}"
        pieces: list[str] = []
        urls: list[dict[str, Any]] = []
        cursor = 0
        length = 0
        for entity in extract_entities(text):
            if entity.kind != "url":
                continue
            before = text[cursor : entity.start]
            pieces.append(before)
            length += len(before)
            written = entity.value
            if re.match(r"(?i)https?://t\.co/", written):
                link, expanded = written, self._tco.get(written, written)
            else:
                expanded = written if re.match(r"(?i)https?://", written) else "http://" + written
                link = _tco(expanded)
                self._tco[link] = expanded
            bare = re.sub(r"(?i)^https?://(www\.)?", "", expanded)
            display = bare if len(bare) <= 26 else bare[:25] + "…"
            urls.append(
                {
                    "start": length,
                    "end": length + len(link),
                    "url": link,
                    "expanded_url": expanded,
                    "display_url": display,
                }
            )
            pieces.append(link)
            length += len(link)
            cursor = entity.end
        pieces.append(text[cursor:])
        return "".join(pieces), urls

    def _store_post(
        self,
        author_id: str,
        text: str,
        *,
        reply_to: str | None,
        quote_of: str | None,
        retweet_of: str | None,
        at: float,
        exclude_reply_user_ids: frozenset[str] = frozenset(),
    ) -> Post:
        if retweet_of is not None:
            # Retweeting a retweet retweets the original, as on X.
            retweet_of = (_refs(self._posts[retweet_of], "retweeted") or [retweet_of])[0]
        stored_text, urls = self._compose(
            author_id, text, reply_to, retweet_of, exclude_reply_user_ids
        )
        post_id = self._new_id(at)
        entities: dict[str, list[dict[str, Any]]] = {}
        if urls:
            entities["urls"] = urls
        for entity in extract_entities(stored_text):
            if entity.kind == "mention":
                uid = self._user_id_for(entity.value)
                if uid is None:
                    continue  # X links only handles that exist
                entities.setdefault("mentions", []).append(
                    {
                        "start": entity.start,
                        "end": entity.end,
                        "username": self._users[uid]["username"],
                        "id": uid,
                    }
                )
            elif entity.kind in ("hashtag", "cashtag"):
                entities.setdefault(entity.kind + "s", []).append(
                    {"start": entity.start, "end": entity.end, "tag": entity.value}
                )
        refs: list[dict[str, str]] = []
        post: Post = {
            "id": post_id,
            "text": stored_text,
            "author_id": author_id,
            "created_at": _iso(at),
            "conversation_id": post_id,
            "edit_history_tweet_ids": [post_id],
            "lang": _guess_lang(stored_text),
            "possibly_sensitive": False,
            "reply_settings": "everyone",
            "public_metrics": {
                "retweet_count": 0,
                "repost_count": 0,
                "reply_count": 0,
                "like_count": 0,
                "quote_count": 0,
                "bookmark_count": 0,
                "impression_count": 0,
            },
        }
        display_start = 0
        if reply_to is not None:
            parent = self._posts[reply_to]
            refs.append({"type": "replied_to", "id": reply_to})
            post["conversation_id"] = parent["conversation_id"]
            post["in_reply_to_user_id"] = parent["author_id"]
            leading = _LEADING_MENTIONS.match(stored_text)
            display_start = leading.end() if leading else 0
            parent["public_metrics"]["reply_count"] += 1
        if quote_of is not None:
            refs.append({"type": "quoted", "id": quote_of})
            self._posts[quote_of]["public_metrics"]["quote_count"] += 1
        if retweet_of is not None:
            refs.append({"type": "retweeted", "id": retweet_of})
            metrics = self._posts[retweet_of]["public_metrics"]
            metrics["retweet_count"] += 1
            metrics["repost_count"] += 1
        if refs:
            post["referenced_tweets"] = refs
        if entities:
            post["entities"] = entities
        post["display_text_range"] = [display_start, len(stored_text)]
        post["edit_controls"] = {
            "edits_remaining": 5,
            "is_edit_eligible": retweet_of is None,
            "editable_until": _iso(at + EDIT_WINDOW),
        }
        self._posts[post_id] = post
        self._post_ts[post_id] = at
        bisect.insort(self._ids, int(post_id))
        self._users[author_id]["public_metrics"]["tweet_count"] += 1
        return post

    def _delete(self, post: Post) -> None:
        self._deleted.add(post["id"])
        self._users[post["author_id"]]["public_metrics"]["tweet_count"] -= 1
        for ref in post.get("referenced_tweets", []):
            target = self._posts.get(ref["id"])
            if target is None:
                continue
            metrics = target["public_metrics"]
            if ref["type"] == "replied_to":
                metrics["reply_count"] -= 1
            elif ref["type"] == "quoted":
                metrics["quote_count"] -= 1
            else:
                metrics["retweet_count"] -= 1
                metrics["repost_count"] -= 1

    def _newest_first(self) -> list[Post]:
        return [
            self._posts[str(pid)] for pid in reversed(self._ids) if str(pid) not in self._deleted
        ]

    # --- rendering ---

    def _render_post(self, post: Post, fields: frozenset[str]) -> Post:
        out: Post = {
            "id": post["id"],
            "text": post["text"],
            "edit_history_tweet_ids": list(post["edit_history_tweet_ids"]),
        }
        for name in sorted(fields):
            if name in post and name not in out:
                out[name] = copy.deepcopy(post[name])
        return out

    def _render_user(self, uid: str, fields: frozenset[str]) -> dict[str, Any]:
        user = self._users[uid]
        out: dict[str, Any] = {"id": uid, "name": user["name"], "username": user["username"]}
        for name in sorted(fields):
            if name == "public_metrics":
                metrics = dict(user["public_metrics"])
                # The spec calls it post_count; tweepy-era clients read tweet_count.
                metrics["post_count"] = metrics["tweet_count"]
                out[name] = metrics
            elif name == "most_recent_tweet_id":
                own = [p for p in self._newest_first() if p["author_id"] == uid]
                if own:
                    out[name] = own[0]["id"]
            elif name in user and name not in out:
                out[name] = copy.deepcopy(user[name])
        return out

    def _expand(self, posts: list[Post], params: _Params) -> tuple[dict[str, Any], list[Any]]:
        wanted = params.expansions
        user_ids: list[str] = []
        tweets: list[Post] = []
        errors: list[dict[str, Any]] = []

        def add_user(uid: str | None) -> None:
            if uid is not None and uid in self._users and uid not in user_ids:
                user_ids.append(uid)

        shown = {p["id"] for p in posts}
        for post in posts:
            if "author_id" in wanted:
                add_user(post["author_id"])
            if "in_reply_to_user_id" in wanted:
                add_user(post.get("in_reply_to_user_id"))
            if "entities.mentions.username" in wanted:
                for mention in post.get("entities", {}).get("mentions", []):
                    add_user(mention.get("id"))
            if wanted & {
                "referenced_tweets.id",
                "referenced_posts",
                "referenced_tweets.id.author_id",
            }:
                for ref in post.get("referenced_tweets", []):
                    target = self._visible_post(ref["id"])
                    if target is None:
                        errors.append(_not_found("tweet", "referenced_tweets.id", ref["id"]))
                        continue
                    if wanted & {"referenced_tweets.id", "referenced_posts"} and (
                        target["id"] not in shown
                    ):
                        shown.add(target["id"])
                        tweets.append(target)
                    if "referenced_tweets.id.author_id" in wanted:
                        add_user(target["author_id"])
        includes: dict[str, Any] = {}
        if user_ids:
            includes["users"] = [self._render_user(u, params.user_fields) for u in user_ids]
        if tweets:
            includes["tweets"] = [self._render_post(t, params.tweet_fields) for t in tweets]
        return includes, errors

    def _with_expansions(
        self, body: dict[str, Any], posts: list[Post], params: _Params
    ) -> dict[str, Any]:
        includes, errors = self._expand(posts, params)
        if includes:
            body["includes"] = includes
        if errors:
            body["errors"] = errors
        return body

    # --- pagination ---

    @staticmethod
    def _token(scope: str, oldest: str) -> str:
        raw = f"{scope}|{oldest}".encode()
        return base64.b32encode(raw).decode().rstrip("=").lower()

    @staticmethod
    def _untoken(token: str, scope: str, param: str) -> int:
        try:
            padded = token.upper() + "=" * (-len(token) % 8)
            got_scope, _, oldest = base64.b32decode(padded).decode().rpartition("|")
            if got_scope == scope and _ID.match(oldest):
                return int(oldest)
        except (ValueError, UnicodeDecodeError):
            pass
        raise _invalid(
            [
                _param_error(
                    param, token, f"The `{param}` query parameter value [{token}] is not valid"
                )
            ]
        )

    def _timeline(self, candidates: list[Post], params: _Params, scope: str) -> dict[str, Any]:
        """One page of `candidates` (newest first) after the since/until/time filters."""
        before = (
            self._untoken(params.token, scope, params.token_param)
            if params.token is not None
            else None
        )
        page: list[Post] = []
        more = False
        for post in candidates:
            value = int(post["id"])
            ts = self._post_ts[post["id"]]
            if params.since_id is not None and value <= params.since_id:
                continue
            if params.until_id is not None and value >= params.until_id:
                continue
            if params.start_time is not None and ts < params.start_time:
                continue
            if params.end_time is not None and ts >= params.end_time:
                continue
            if before is not None and value >= before:
                continue
            if len(page) == params.max_results:
                more = True
                break
            page.append(post)
        if not page:
            return {"meta": {"result_count": 0}}
        body: dict[str, Any] = {"data": [self._render_post(p, params.tweet_fields) for p in page]}
        meta: dict[str, Any] = {
            "newest_id": page[0]["id"],
            "oldest_id": page[-1]["id"],
            "result_count": len(page),
        }
        if more:
            meta["next_token"] = self._token(scope, page[-1]["id"])
        body["meta"] = meta
        return self._with_expansions(body, page, params)

    # --- auth and limits ---

    def _resolve_limits(self, overrides: Mapping[str, int]) -> dict[tuple[str, str], int]:
        resolved: dict[tuple[str, str], int] = {}
        for op, (app, user) in DEFAULT_LIMITS.items():
            if app is not None:
                resolved[(op, "app")] = app
            if user is not None:
                resolved[(op, "user")] = user
        for key, value in overrides.items():
            op, _, kind = key.partition(":")
            if op not in DEFAULT_LIMITS or kind not in ("", "app", "user"):
                raise ValueError(
                    f"unknown rate limit key {key!r}: use an operationId, "
                    "optionally with ':app' or ':user'"
                )
            for k in (kind,) if kind else ("app", "user"):
                resolved[(op, k)] = value
        return resolved

    async def _authenticate(self, request: web.Request) -> _Identity:
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            if hmac.compare_digest(header[7:].encode(), self._bearer_token.encode()):
                return _Identity("app", "")
        elif header[:6].lower() == "oauth " and await self._oauth_ok(request, header):
            return _Identity("user", self._museum_id)
        raise _ApiError(401, _about_blank(401))

    async def _oauth_ok(self, request: web.Request, header: str) -> bool:
        try:
            oauth = {
                k: oauth_utils.unescape(v)
                for k, v in oauth_utils.parse_authorization_header(header)
            }
        except ValueError:
            return False
        needed = (
            "oauth_consumer_key",
            "oauth_token",
            "oauth_signature_method",
            "oauth_timestamp",
            "oauth_nonce",
            "oauth_signature",
        )
        if any(name not in oauth for name in needed):
            return False
        if (
            oauth["oauth_signature_method"] != "HMAC-SHA1"
            or oauth.get("oauth_version", "1.0") != "1.0"
        ):
            return False
        if not (
            hmac.compare_digest(oauth["oauth_consumer_key"].encode(), self._api_key.encode())
            and hmac.compare_digest(oauth["oauth_token"].encode(), self._access_token.encode())
        ):
            return False
        # The client stamps wall-clock time, whatever clock the emulator's windows run on.
        now = time.time()
        try:
            stamp = int(oauth["oauth_timestamp"])
        except ValueError:
            return False
        if abs(now - stamp) > OAUTH_SKEW:
            return False
        body: str | None = None
        if request.content_type == "application/x-www-form-urlencoded":
            body = await request.text()
        params = oauth_signature.collect_parameters(
            uri_query=request.rel_url.raw_query_string,
            body=body,
            headers={"Authorization": header},
            exclude_oauth_signature=True,
        )
        normalized = oauth_signature.normalize_parameters(params)
        secrets = types.SimpleNamespace(
            client_secret=self._api_secret, resource_owner_secret=self._access_token_secret
        )
        for host in SIGNED_HOSTS:
            uri = oauth_signature.base_string_uri(f"https://{host}{request.rel_url.raw_path}")
            base = oauth_signature.signature_base_string(request.method, uri, normalized)
            expected = oauth_signature.sign_hmac_sha1_with_client(base, secrets)
            if hmac.compare_digest(expected.encode(), oauth["oauth_signature"].encode()):
                break
        else:
            return False
        for nonce, seen in list(self._nonces.items()):
            if now - seen > 2 * OAUTH_SKEW:
                del self._nonces[nonce]
        replay_key = f"{oauth['oauth_nonce']}:{stamp}"
        if replay_key in self._nonces:
            return False  # a replayed request, as X refuses it
        self._nonces[replay_key] = now
        return True

    def _rate_headers(self, limit: int, window: _Window) -> dict[str, str]:
        return {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(max(limit - window.used, 0)),
            "x-rate-limit-reset": str(window.reset),
        }

    def _window(self, op: str, identity: _Identity) -> tuple[int, _Window]:
        limit = self._limits[(op, identity.kind)]
        key = (op, identity.kind, identity.user_id)
        now = self.clock()
        window = self._windows.get(key)
        if window is None or now >= window.reset:
            # A whole-second reset, so a client that waits for the header is never early.
            window = _Window(reset=math.ceil(now + self.window_seconds))
            self._windows[key] = window
        return limit, window

    def _spend(self, op: str, identity: _Identity) -> dict[str, str]:
        limit, window = self._window(op, identity)
        if window.used >= limit:
            now = self.clock()
            if window.refused:
                self.violations.append(
                    f"{op} called again by the {identity.kind} identity after a 429, "
                    f"{window.reset - now:.2f}s before the window reset at {window.reset}"
                )
            window.refused = True
            raise _ApiError(429, _about_blank(429), headers=self._rate_headers(limit, window))
        window.used += 1
        return self._rate_headers(limit, window)

    async def _pause(self, seconds: float) -> None:
        """Hold the answer back; when the emulator stops meanwhile, give up on the call."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), seconds)
        if self._stopping.is_set():
            raise _ApiError(503, _about_blank(503))

    def _fault_error(
        self, fault: Fault, op: str, identity: _Identity, headers: dict[str, str]
    ) -> _ApiError:
        if fault.status == 402:
            return _credits_depleted(fault.description)
        if fault.status == 429:
            limit, window = self._window(op, identity)
            window.used = max(window.used, limit)
            window.refused = True
            headers = self._rate_headers(limit, window)
        return _ApiError(
            fault.status, _about_blank(fault.status, fault.description), headers=headers
        )

    # --- HTTP plumbing ---

    def _add_routes(self) -> None:
        r = self.app.router
        r.add_get("/2/users/me", self._api("getUsersMe", self._get_me))
        r.add_get("/2/users/{id}/mentions", self._api("getUsersMentions", self._get_mentions))
        r.add_get("/2/users/{id}/tweets", self._api("getUsersPosts", self._get_user_posts))
        r.add_get("/2/tweets/search/recent", self._api("searchPostsRecent", self._search))
        r.add_get("/2/tweets", self._api("getPostsByIds", self._get_posts))
        r.add_post("/2/tweets", self._api("createPosts", self._create_post))
        r.add_get("/2/tweets/{id}", self._api("getPostsById", self._get_post))
        r.add_delete("/2/tweets/{id}", self._api("deletePosts", self._delete_post))
        r.add_route("*", "/2/{tail:.*}", self._unknown)
        r.add_post("/control/users", self._control_add_user)
        r.add_get("/control/users", self._control_users)
        r.add_post("/control/posts", self._control_add_post)
        r.add_get("/control/posts", self._control_posts)
        r.add_post("/control/posts/{id}/hide", self._control_hide)
        r.add_delete("/control/posts/{id}", self._control_delete)
        r.add_post("/control/faults", self._control_add_fault)
        r.add_delete("/control/faults", self._control_clear_faults)
        r.add_get("/control/requests", self._control_requests)
        r.add_post("/control/account", self._control_account)

    def _api(
        self, op: str, handler: ApiHandler
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def serve(request: web.Request) -> web.StreamResponse:
            return await self._serve(request, op, handler)

        return serve

    async def _serve(self, request: web.Request, op: str, handler: ApiHandler) -> web.Response:
        logged: dict[str, Any] = {**request.match_info, **request.query}
        if request.method == "POST":
            with contextlib.suppress(ValueError, UnicodeDecodeError):
                body = json.loads(await request.read() or b"null")
                if isinstance(body, dict):
                    logged.update(body)
        entry = LoggedRequest(at=self.clock(), endpoint=op, params=logged)
        self.requests.append(entry)
        headers: dict[str, str] = {}
        content_type = "application/json"
        try:
            identity = await self._authenticate(request)
            if not self.enrolled:
                raise _not_enrolled(APP_CLIENT_ID)
            if not self.credits:
                raise _credits_depleted()
            if op in USER_ONLY and identity.kind == "app":
                raise _ApiError(
                    403,
                    {
                        "title": "Unsupported Authentication",
                        "detail": UNSUPPORTED_AUTH_DETAIL,
                        "type": PROBLEMS + "unsupported-authentication",
                        "status": 403,
                    },
                )
            headers = self._spend(op, identity)
            fault = self.faults.take(op)
            if fault is not None and not fault.accept:
                await self._pause(fault.delay)
                if fault.status:
                    raise self._fault_error(fault, op, identity, headers)
            status, body = await handler(request, identity)
            if fault is not None and fault.accept:
                await self.notify()
                await self._pause(fault.delay)
                if fault.status:
                    raise self._fault_error(fault, op, identity, headers)
        except _ApiError as exc:
            status, body = exc.status, exc.body
            headers.update(exc.headers)
            content_type = exc.content_type
        entry.status = status
        await self.notify()
        return web.json_response(
            body,
            status=status,
            headers=headers,
            content_type=content_type,
            dumps=lambda o: json.dumps(o, ensure_ascii=False),
        )

    async def _unknown(self, request: web.Request) -> web.Response:
        self.requests.append(
            LoggedRequest(
                at=self.clock(), endpoint="unknown", params={"path": request.path}, status=404
            )
        )
        await self.notify()
        return web.json_response(
            {"errors": [{"message": "Sorry, that page does not exist", "code": 34}]}, status=404
        )

    # --- X operations ---

    async def _get_me(self, request: web.Request, identity: _Identity) -> tuple[int, Any]:
        params = _parse_params("getUsersMe", request.query)
        fields = params.user_fields
        if params.expansions & {"most_recent_tweet_id", "most_recent_post_id"}:
            fields |= {"most_recent_tweet_id"}
        user = self._render_user(identity.user_id, fields)
        body: dict[str, Any] = {"data": user}
        recent = user.get("most_recent_tweet_id")
        if recent and params.expansions & {"most_recent_tweet_id", "most_recent_post_id"}:
            body["includes"] = {
                "tweets": [self._render_post(self._posts[recent], params.tweet_fields)]
            }
        if "most_recent_tweet_id" not in params.user_fields:
            user.pop("most_recent_tweet_id", None)
        return 200, body

    def _path_user(self, request: web.Request) -> str | dict[str, Any]:
        uid = request.match_info["id"]
        if not _ID.match(uid):
            raise _invalid(
                [
                    _param_error(
                        "id",
                        uid,
                        f"The `id` query parameter value [{uid}] does not match ^[0-9]{{1,19}}$",
                    )
                ]
            )
        if uid not in self._users:
            return {"errors": [_not_found("user", "id", uid)]}
        return uid

    async def _get_mentions(self, request: web.Request, identity: _Identity) -> tuple[int, Any]:
        params = _parse_params("getUsersMentions", request.query)
        uid = self._path_user(request)
        if isinstance(uid, dict):
            return 200, uid
        mentions = [
            p
            for p in self._newest_first()
            if p["author_id"] != uid
            and p["id"] not in self._hidden
            and not _refs(p, "retweeted")
            and (uid in _entity_values(p, "mentions", "id") or p.get("in_reply_to_user_id") == uid)
        ][:MENTIONS_CAP]
        return 200, self._timeline(mentions, params, f"mentions:{uid}")

    async def _get_user_posts(self, request: web.Request, identity: _Identity) -> tuple[int, Any]:
        params = _parse_params("getUsersPosts", request.query)
        uid = self._path_user(request)
        if isinstance(uid, dict):
            return 200, uid
        own = [p for p in self._newest_first() if p["author_id"] == uid][:TIMELINE_CAP]
        if "replies" in params.exclude:
            own = [p for p in own if not _refs(p, "replied_to")]
        if "retweets" in params.exclude:
            own = [p for p in own if not _refs(p, "retweeted")]
        scope = f"tweets:{uid}:{','.join(sorted(params.exclude))}"
        return 200, self._timeline(own, params, scope)

    async def _search(self, request: web.Request, identity: _Identity) -> tuple[int, Any]:
        params = _parse_params("searchPostsRecent", request.query)
        assert params.query is not None
        now = self.clock()
        oldest = now - SEARCH_WINDOW
        errors: list[dict[str, Any]] = []
        if params.start_time is not None and params.start_time < oldest:
            errors.append(
                _param_error(
                    "start_time",
                    params.raw["start_time"],
                    f"Invalid 'start_time':'{params.raw['start_time']}'. 'start_time' must "
                    f"be on or after {_iso(oldest)}",
                )
            )
        if params.end_time is not None and params.end_time > now - SEARCH_END_MARGIN:
            errors.append(
                _param_error(
                    "end_time",
                    params.raw["end_time"],
                    f"Invalid 'end_time':'{params.raw['end_time']}'. 'end_time' must be a "
                    "minimum of 10 seconds prior to the request time.",
                )
            )
        if (
            params.start_time is not None
            and params.end_time is not None
            and params.start_time >= params.end_time
        ):
            errors.append(
                _param_error(
                    "start_time",
                    params.raw["start_time"],
                    "Invalid 'start_time'. 'start_time' must be before 'end_time'.",
                )
            )
        if params.since_id is not None and _snowflake_ms(params.since_id) < oldest:
            errors.append(
                _param_error(
                    "since_id",
                    str(params.since_id),
                    f"Invalid 'since_id':'{params.since_id}'. 'since_id' must be a post id "
                    f"created after {_iso(oldest)}",
                )
            )
        try:
            predicate = parse_query(params.query, self._ctx)
        except QueryError as exc:
            errors.append(
                _param_error(
                    "query", params.query, f"There were errors processing your request: {exc}"
                )
            )
        if errors:
            raise _invalid(errors)
        found = [
            p
            for p in self._newest_first()
            if self._post_ts[p["id"]] >= oldest and p["id"] not in self._hidden and predicate(p)
        ]
        scope = "search:" + hashlib.sha256(params.query.encode()).hexdigest()[:16]
        return 200, self._timeline(found, params, scope)

    async def _get_post(self, request: web.Request, identity: _Identity) -> tuple[int, Any]:
        params = _parse_params("getPostsById", request.query)
        post_id = request.match_info["id"]
        if not _ID.match(post_id):
            raise _invalid(
                [
                    _param_error(
                        "id",
                        post_id,
                        f"The `id` query parameter value [{post_id}] does not match "
                        "^[0-9]{1,19}$",
                    )
                ]
            )
        post = self._visible_post(post_id)
        if post is None:
            return 200, {"errors": [_not_found("tweet", "id", post_id)]}
        body = {"data": self._render_post(post, params.tweet_fields)}
        return 200, self._with_expansions(body, [post], params)

    async def _get_posts(self, request: web.Request, identity: _Identity) -> tuple[int, Any]:
        params = _parse_params("getPostsByIds", request.query)
        found = [p for p in map(self._visible_post, dict.fromkeys(params.ids)) if p is not None]
        missing = [i for i in dict.fromkeys(params.ids) if self._visible_post(i) is None]
        body: dict[str, Any] = {}
        if found:
            body["data"] = [self._render_post(p, params.tweet_fields) for p in found]
            self._with_expansions(body, found, params)
        if missing:
            body.setdefault("errors", [])[0:0] = [_not_found("tweet", "ids", i) for i in missing]
        return 200, body

    async def _create_post(self, request: web.Request, identity: _Identity) -> tuple[int, Any]:
        _parse_params("createPosts", request.query)
        try:
            body = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            raise _invalid([{"message": "The request body is not valid JSON"}]) from None
        if not isinstance(body, dict):
            raise _invalid([{"message": "$: object expected"}])
        errors: list[dict[str, Any]] = []
        for key in body:
            if key not in _CREATE_KEYS:
                errors.append(
                    {
                        "message": f"$.{key}: is not defined in the schema and the schema "
                        "does not allow additional properties"
                    }
                )
            elif key in _CREATE_UNSUPPORTED:
                errors.append({"message": f"$.{key}: is not supported by this emulator"})
        text = body.get("text", "")
        if not isinstance(text, str):
            errors.append({"message": f"$.text: {type(text).__name__} found, string expected"})
            text = ""
        reply_to, exclude = self._parse_reply(body.get("reply"), errors)
        quote_of = body.get("quote_tweet_id")
        if quote_of is not None and not (isinstance(quote_of, str) and _ID.match(quote_of)):
            errors.append(
                {"message": "$.quote_tweet_id: does not match the regex pattern ^[0-9]{1,19}$"}
            )
        settings = body.get("reply_settings")
        if settings is not None and settings not in _REPLY_SETTINGS:
            errors.append(
                {
                    "message": "$.reply_settings: does not have a value in the "
                    f"enumeration [{', '.join(_REPLY_SETTINGS)}]"
                }
            )
        if body.get("for_super_followers_only"):
            errors.append(
                {"message": "$.for_super_followers_only: is not supported by this emulator"}
            )
        if errors:
            raise _invalid(errors)
        text = unicodedata.normalize("NFC", text)
        if not text.strip():
            raise _invalid(
                [
                    {
                        "parameters": {"text": [text]},
                        "message": "$.text: a Post needs text (or media)",
                    }
                ],
                detail="Post text is empty.",
            )
        length = weighted_length(text)
        if length > MAX_WEIGHTED_LENGTH:
            message = (
                f"Your Post text is too long: {length} weighted characters, the maximum "
                f"is {MAX_WEIGHTED_LENGTH}."
            )
            raise _invalid([{"message": message}], detail=message)
        if has_invalid_characters(text):
            raise _invalid(
                [{"message": "Post text contains invalid characters"}],
                detail="Post text contains invalid characters.",
            )
        if reply_to is not None:
            parent = self._visible_post(reply_to)
            if parent is None:
                raise _ApiError(403, _about_blank(403, REPLY_MISSING_DETAIL))
            if not self._may_reply(parent, identity.user_id):
                raise _ApiError(403, _about_blank(403, REPLY_RESTRICTED_DETAIL))
        if quote_of is not None and self._visible_post(quote_of) is None:
            raise _ApiError(403, _about_blank(403, QUOTE_MISSING_DETAIL))
        stored_text, _ = self._compose(identity.user_id, text, reply_to, None, exclude)
        now = self.clock()
        for post in self._newest_first():
            if (
                post["author_id"] == identity.user_id
                and now - self._post_ts[post["id"]] < DUPLICATE_WINDOW
                and post["text"].strip() == stored_text.strip()
            ):
                raise _ApiError(403, _about_blank(403, DUPLICATE_DETAIL))
        post = self._store_post(
            identity.user_id,
            text,
            reply_to=reply_to,
            quote_of=quote_of,
            retweet_of=None,
            at=now,
            exclude_reply_user_ids=exclude,
        )
        return 201, {
            "data": {
                "id": post["id"],
                "text": post["text"],
                "edit_history_tweet_ids": list(post["edit_history_tweet_ids"]),
            }
        }

    @staticmethod
    def _parse_reply(reply: Any, errors: list[dict[str, Any]]) -> tuple[str | None, frozenset[str]]:
        if reply is None:
            return None, frozenset()
        if not isinstance(reply, dict):
            errors.append({"message": "$.reply: object expected"})
            return None, frozenset()
        for key in reply:
            if key not in (
                "in_reply_to_tweet_id",
                "exclude_reply_user_ids",
                "auto_populate_reply_metadata",
            ):
                errors.append(
                    {
                        "message": f"$.reply.{key}: is not defined in the schema and the "
                        "schema does not allow additional properties"
                    }
                )
        target = reply.get("in_reply_to_tweet_id")
        if target is None:
            errors.append(
                {"message": "$.reply.in_reply_to_tweet_id: is missing but it is required"}
            )
            return None, frozenset()
        if not (isinstance(target, str) and _ID.match(target)):
            errors.append(
                {
                    "message": "$.reply.in_reply_to_tweet_id: does not match the regex "
                    "pattern ^[0-9]{1,19}$"
                }
            )
            return None, frozenset()
        exclude = reply.get("exclude_reply_user_ids") or []
        if not (isinstance(exclude, list) and all(isinstance(e, str) for e in exclude)):
            errors.append({"message": "$.reply.exclude_reply_user_ids: array of strings expected"})
            exclude = []
        return target, frozenset(exclude)

    def _may_reply(self, parent: Post, account: str) -> bool:
        """X's reply restriction (Feb 2026): only where the author engaged the account first."""
        if parent["author_id"] == account:
            return True
        if account in _entity_values(parent, "mentions", "id"):
            return True
        for quoted in _refs(parent, "quoted"):
            target = self._posts.get(quoted)
            if target is not None and target["author_id"] == account:
                return True
        return False

    async def _delete_post(self, request: web.Request, identity: _Identity) -> tuple[int, Any]:
        _parse_params("deletePosts", request.query)
        post_id = request.match_info["id"]
        if not _ID.match(post_id):
            raise _invalid(
                [
                    _param_error(
                        "id",
                        post_id,
                        f"The `id` query parameter value [{post_id}] does not match "
                        "^[0-9]{1,19}$",
                    )
                ]
            )
        post = self._visible_post(post_id)
        if post is None:
            return 200, {"data": {"deleted": False}}
        if post["author_id"] != identity.user_id:
            raise _ApiError(403, _about_blank(403, "You are not authorized to delete this Tweet."))
        self._delete(post)
        return 200, {"data": {"deleted": True}}

    # --- control API ---

    @staticmethod
    async def _json_body(request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            raise web.HTTPBadRequest(
                text=json.dumps({"error": "the body is not JSON"}), content_type="application/json"
            ) from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(
                text=json.dumps({"error": "the body must be an object"}),
                content_type="application/json",
            )
        return body

    @staticmethod
    def _control_error(status: int, message: str) -> web.Response:
        return web.json_response({"error": message}, status=status)

    async def _control_add_user(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        username = body.get("username")
        name = body.get("name")
        followers = body.get("followers_count")
        if not isinstance(username, str) or (name is not None and not isinstance(name, str)):
            return self._control_error(400, "username (and name, if given) must be strings")
        if followers is not None and not isinstance(followers, int):
            return self._control_error(400, "followers_count must be an integer")
        try:
            user = self.add_user(username, name)
        except ValueError as exc:
            return self._control_error(400, str(exc))
        if followers is not None:
            self.set_followers(username, followers)
        return web.json_response({"data": user}, status=201)

    async def _control_users(self, request: web.Request) -> web.Response:
        return web.json_response({"data": [self._public_user(u) for u in self._users]})

    async def _control_add_post(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        username, text = body.get("username"), body.get("text")
        if not isinstance(username, str) or not isinstance(text, str):
            return self._control_error(400, "username and text must be strings")
        refs = {key: body.get(key) for key in ("quote_of", "reply_to", "retweet_of")}
        if any(v is not None and not isinstance(v, str) for v in refs.values()):
            return self._control_error(400, "quote_of, reply_to and retweet_of are post ids")
        created_at = None
        if body.get("created_at") is not None:
            try:
                created_at = datetime.fromisoformat(str(body["created_at"]).replace("Z", "+00:00"))
            except ValueError:
                return self._control_error(400, "created_at must be ISO 8601")
        try:
            post = self.visitor_posts(
                username,
                text,
                quote_of=refs["quote_of"],
                reply_to=refs["reply_to"],
                retweet_of=refs["retweet_of"],
                created_at=created_at,
            )
        except KeyError as exc:
            return self._control_error(404, str(exc.args[0]))
        except ValueError as exc:
            return self._control_error(400, str(exc))
        return web.json_response(
            {"data": post}, status=201, dumps=lambda o: json.dumps(o, ensure_ascii=False)
        )

    async def _control_posts(self, request: web.Request) -> web.Response:
        author = request.query.get("author")
        uid = None
        if author is not None:
            uid = self._user_id_for(author)
            if uid is None:
                return self._control_error(404, f"no user @{author}")
        return web.json_response(
            {"data": self._posts_of(uid)}, dumps=lambda o: json.dumps(o, ensure_ascii=False)
        )

    async def _control_hide(self, request: web.Request) -> web.Response:
        post_id = request.match_info["id"]
        try:
            self.hide_post(post_id)
        except KeyError:
            return self._control_error(404, f"no post {post_id}")
        return web.json_response({"data": {"id": post_id, "hidden": True}})

    async def _control_delete(self, request: web.Request) -> web.Response:
        post_id = request.match_info["id"]
        try:
            self.delete_post(post_id)
        except KeyError:
            return self._control_error(404, f"no post {post_id}")
        return web.json_response({"data": {"id": post_id, "deleted": True}})

    async def _control_add_fault(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        known = {"endpoint", "status", "count", "delay", "accept", "description", "retry_after"}
        if set(body) - known:
            return self._control_error(400, f"unknown keys: {sorted(set(body) - known)}")
        try:
            fault = Fault(**body)
        except TypeError as exc:
            return self._control_error(400, str(exc))
        ok = (
            (fault.endpoint is None or fault.endpoint in DEFAULT_LIMITS)
            and isinstance(fault.status, int)
            and (fault.status == 0 or 400 <= fault.status < 600)
            and isinstance(fault.count, int)
            and fault.count >= 1
            and isinstance(fault.delay, int | float)
            and fault.delay >= 0
            and isinstance(fault.accept, bool)
        )
        if not ok:
            return self._control_error(
                400,
                "endpoint must be an X operationId or null, status 0 or 400-599, "
                "count >= 1, delay >= 0, accept a boolean",
            )
        self.inject_fault(fault)
        return web.json_response({"data": asdict(fault)}, status=201)

    async def _control_clear_faults(self, request: web.Request) -> web.Response:
        cleared = len(self.faults.faults)
        self.faults.clear()
        return web.json_response({"data": {"cleared": cleared}})

    async def _control_account(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        unknown = sorted(set(body) - {"enrolled", "credits"})
        if unknown:
            return self._control_error(400, f"unknown keys: {unknown}")
        if not all(isinstance(value, bool) for value in body.values()):
            return self._control_error(400, "enrolled and credits are booleans")
        self.set_account(**body)
        return web.json_response({"data": {"enrolled": self.enrolled, "credits": self.credits}})

    async def _control_requests(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"data": [asdict(r) for r in self.requests], "violations": list(self.violations)},
            dumps=lambda o: json.dumps(o, ensure_ascii=False),
        )
