"""The X emulator, driven by the real tweepy AsyncClient over real HTTP.

Answers are checked against the X API v2 OpenAPI description and twitter-text's conformance
data in the shared folder beside the repository; those checks skip when it is absent.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import tweepy
import yaml
from aiohttp import web
from jsonschema import Draft7Validator
from multidict import CIMultiDictProxy
from oauthlib.oauth1 import Client as OAuthClient
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7
from tweepy.asynchronous import AsyncClient
from yarl import URL

from opsbot.emulators.base import Fault
from opsbot.emulators.x import (
    DUPLICATE_DETAIL,
    REPLY_MISSING_DETAIL,
    REPLY_RESTRICTED_DETAIL,
    USER_ONLY,
    XEmulator,
    extract_entities,
)
from opsbot.services.tweet_length import weighted_length
from opsbot.x.session import make_x_client, make_x_session

KEYS = {
    "bearer_token": "test-bearer-token",
    "api_key": "test-api-key",
    "api_secret": "test-api-secret",
    "access_token": "test-access-token",
    "access_token_secret": "test-access-token-secret",
}
X = "https://api.twitter.com"
REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
CREATED_AT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


class Clock:
    """The emulator's clock, moved by hand so rate windows pass without sleeping."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


EmuFactory = Callable[..., Awaitable[XEmulator]]
ClientFactory = Callable[..., AsyncClient]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def make_emu(clock: Clock) -> AsyncIterator[EmuFactory]:
    started: list[XEmulator] = []

    async def factory(**kwargs: Any) -> XEmulator:
        kwargs.setdefault("clock", clock)
        emu = XEmulator(**{**KEYS, **kwargs})
        await emu.start()
        started.append(emu)
        return emu

    yield factory
    for emu in started:
        await emu.stop()


@pytest.fixture
async def emu(make_emu: EmuFactory) -> XEmulator:
    return await make_emu()


@pytest.fixture
async def make_client() -> AsyncIterator[ClientFactory]:
    made: list[AsyncClient] = []

    def factory(emu: XEmulator, **overrides: Any) -> AsyncClient:
        client = make_x_client(base_url=emu.base_url, **{**KEYS, **overrides})
        made.append(client)
        return client

    yield factory
    for client in made:
        await client.session.close()


@pytest.fixture
async def x(emu: XEmulator, make_client: ClientFactory) -> AsyncClient:
    return make_client(emu)


@pytest.fixture
async def raw(emu: XEmulator) -> AsyncIterator[aiohttp.ClientSession]:
    """A bare session through the same redirecting middleware, to see statuses and headers."""
    session = make_x_session(emu.base_url)
    yield session
    await session.close()


BEARER = {"Authorization": f"Bearer {KEYS['bearer_token']}"}
PROBLEM = "application/problem+json"


async def get_raw(
    session: aiohttp.ClientSession, path: str, **params: str
) -> tuple[int, dict[str, Any], CIMultiDictProxy[str]]:
    async with session.get(X + path, params=params, headers=BEARER) as response:
        return response.status, await response.json(), response.headers


# --- the OpenAPI description -----------------------------------------------------------------


SPEC = SHARED / "specs" / "x-api-v2-openapi.json"
NO_SPEC = f"the X API OpenAPI description is not at {SPEC} (shared folder absent)"


@functools.cache
def _spec() -> dict[str, Any] | None:
    if not SPEC.exists():
        return None
    data: dict[str, Any] = json.loads(SPEC.read_text())
    return data


def _operation(document: dict[str, Any], operation_id: str) -> tuple[str, str, dict[str, Any]]:
    found = [
        (method, path, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and op.get("operationId") == operation_id
    ]
    assert len(found) == 1, operation_id
    return found[0]


def check_spec(
    operation_id: str, status: int, body: Any, content_type: str = "application/json"
) -> None:
    """Validate `body` against the spec's schema for that operation and status.

    Without the shared folder the behaviour tests still run; `test_openapi_description`
    is then reported as skipped, so the missing validation shows.
    """
    document = _spec()
    if document is None:
        return
    _, _, operation = _operation(document, operation_id)
    responses = operation["responses"]
    schema = responses.get(str(status), responses["default"])["content"][content_type]["schema"]
    registry: Registry[Any] = Registry().with_resource(
        "urn:x-api", Resource.from_contents(document, default_specification=DRAFT7)
    )
    validator = Draft7Validator({"$ref": "urn:x-api" + schema["$ref"]}, registry=registry)
    errors = sorted(validator.iter_errors(body), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]
    post_names = set(document["components"]["schemas"]["Post"]["properties"])
    # X still serves these under their tweet-era names; anything else must be in the spec.
    post_names |= {"edit_history_tweet_ids", "referenced_tweets"}
    data = body.get("data") if isinstance(body, dict) else None
    posts = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
    if operation_id == "getUsage":
        return
    if operation_id not in ("getUsersMe", "getUsersById", "getUsersByUsername"):
        posts += body.get("includes", {}).get("tweets", [])
        for post in posts:
            assert set(post) <= post_names, set(post) - post_names
            if "created_at" in post:
                assert CREATED_AT.match(post["created_at"])


def test_openapi_description_has_every_emulated_operation() -> None:
    document = _spec()
    if document is None:
        pytest.skip(NO_SPEC)
    served = {
        "getUsersMe": ("get", "/2/users/me"),
        "getUsersByUsername": ("get", "/2/users/by/username/{username}"),
        "getUsersMentions": ("get", "/2/users/{id}/mentions"),
        "getUsersPosts": ("get", "/2/users/{id}/tweets"),
        "searchPostsRecent": ("get", "/2/tweets/search/recent"),
        "getPostsById": ("get", "/2/tweets/{id}"),
        "getPostsByIds": ("get", "/2/tweets"),
        "createPosts": ("post", "/2/tweets"),
        "deletePosts": ("delete", "/2/tweets/{id}"),
    }
    for operation_id, (method, path) in served.items():
        got_method, got_path, operation = _operation(document, operation_id)
        assert (got_method, got_path) == (method, path)
        # Where the spec allows no app-only token, the emulator must refuse it too.
        app_only = any("BearerToken" in s for s in operation.get("security", []))
        assert app_only == (operation_id not in USER_ONLY), operation_id


# --- session: the redirecting middleware ------------------------------------------------------


async def test_session_moves_requests_to_the_base_url_untouched() -> None:
    seen: dict[str, str] = {}

    async def echo(request: web.Request) -> web.Response:
        seen.update(host=request.host, path_qs=request.raw_path, scheme=request.scheme)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/{tail:.*}", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    session = make_x_session(f"http://127.0.0.1:{port}")
    try:
        url = URL(X + "/2/tweets?start_time=2026-01-01T00%3A00%3A00Z&a=b,c", encoded=True)
        async with session.get(url) as response:
            assert await response.json() == {"ok": True}
    finally:
        await session.close()
        await runner.cleanup()
    assert seen == {
        "host": f"127.0.0.1:{port}",
        "path_qs": "/2/tweets?start_time=2026-01-01T00%3A00%3A00Z&a=b,c",
        "scheme": "http",
    }


@pytest.mark.parametrize("base", ["ftp://127.0.0.1", "http://127.0.0.1:1/x", "http://h?q=1"])
async def test_session_refuses_a_base_url_it_cannot_rewrite_to(base: str) -> None:
    with pytest.raises(ValueError):
        make_x_session(base)


async def test_client_is_built_for_pacing_by_headers(emu: XEmulator, x: AsyncClient) -> None:
    assert x.return_type is dict
    assert x.wait_on_rate_limit is False
    assert isinstance(x.session, aiohttp.ClientSession)
    plain = make_x_session(None)
    await plain.close()


# --- auth -------------------------------------------------------------------------------------


async def test_get_me_with_user_context(emu: XEmulator, x: AsyncClient) -> None:
    emu.set_followers("museum", 1234)
    body = await x.get_me(user_auth=True, user_fields=["public_metrics", "created_at"])
    check_spec("getUsersMe", 200, body)
    assert {k: body["data"][k] for k in ("id", "name", "username")} == emu.museum
    assert body["data"]["public_metrics"]["followers_count"] == 1234


async def test_a_user_by_id_with_public_metrics(emu: XEmulator, x: AsyncClient) -> None:
    emu.set_followers("museum", 321)
    museum = emu.museum["id"]
    body = await x.get_user(id=museum, user_fields=["public_metrics"], user_auth=False)
    check_spec("getUsersById", 200, body)
    assert body["data"]["public_metrics"]["followers_count"] == 321
    missing = await x.get_user(id="1999999999999999999", user_auth=False)
    check_spec("getUsersById", 200, missing)
    assert missing["errors"][0]["type"].endswith("/resource-not-found")


async def test_a_user_by_username_with_public_metrics(emu: XEmulator, x: AsyncClient) -> None:
    emu.add_user("ReligionMuseum")
    emu.set_followers("religionmuseum", 77)
    body = await x.get_user(username="religionmuseum", user_fields=["public_metrics"])
    check_spec("getUsersByUsername", 200, body)
    assert body["data"]["username"] == "ReligionMuseum"
    assert body["data"]["public_metrics"]["followers_count"] == 77
    missing = await x.get_user(username="nosuchmuseum", user_auth=False)
    check_spec("getUsersByUsername", 200, missing)
    assert missing["errors"][0]["type"].endswith("/resource-not-found")
    assert missing["errors"][0]["parameter"] == "username"
    with pytest.raises(tweepy.BadRequest):
        await x.get_user(username="not-a-handle!")


async def test_lookup_by_ids_tells_deleted_from_protected(emu: XEmulator, x: AsyncClient) -> None:
    kept = emu.visitor_posts("ivan", "@museum Hello #museumsalon")
    gone = emu.visitor_posts("olga", "@museum Bye #museumsalon")
    hidden = emu.visitor_posts("petr", "@museum Secret #museumsalon")
    emu.set_post_metrics(kept["id"], impression_count=42, like_count=3)
    emu.delete_post(gone["id"])
    emu.set_protected("petr")
    body = await x.get_tweets(
        [kept["id"], gone["id"], hidden["id"]], tweet_fields=["public_metrics"], user_auth=True
    )
    check_spec("getPostsByIds", 200, body)
    assert [p["id"] for p in body["data"]] == [kept["id"]]
    assert body["data"][0]["public_metrics"]["impression_count"] == 42
    problems = {e["resource_id"]: e["type"].rsplit("/", 1)[-1] for e in body["errors"]}
    assert problems == {
        gone["id"]: "resource-not-found",
        hidden["id"]: "not-authorized-for-resource",
    }
    found = await x.search_recent_tweets("#museumsalon")
    assert hidden["id"] not in {p["id"] for p in found.get("data", [])}
    single = await x.get_tweet(hidden["id"], user_auth=True)
    assert single["errors"][0]["title"] == "Authorization Error"
    with pytest.raises(KeyError):
        emu.set_post_metrics(kept["id"], views=1)


async def test_app_only_token_is_refused_where_x_needs_a_user(
    emu: XEmulator, x: AsyncClient
) -> None:
    with pytest.raises(tweepy.Forbidden) as caught:
        await x.get_me(user_auth=False)
    assert "Application-Only is forbidden" in str(caught.value)
    with pytest.raises(tweepy.Forbidden):
        await x.create_tweet(text="hello", user_auth=False)
    assert emu.museum_posts() == []


@pytest.mark.parametrize("wrong", ["api_secret", "access_token_secret", "access_token", "api_key"])
async def test_a_wrong_oauth_key_is_401(
    emu: XEmulator, make_client: ClientFactory, wrong: str
) -> None:
    client = make_client(emu, **{wrong: "not-the-right-one"})
    with pytest.raises(tweepy.Unauthorized):
        await client.get_me(user_auth=True)


async def test_a_wrong_or_missing_bearer_is_401(
    emu: XEmulator, make_client: ClientFactory, raw: aiohttp.ClientSession
) -> None:
    client = make_client(emu, bearer_token="nope")
    with pytest.raises(tweepy.Unauthorized):
        await client.get_users_mentions(emu.museum["id"])
    async with raw.get(X + f"/2/users/{emu.museum['id']}/mentions") as response:
        assert response.status == 401
        assert await response.json() == {
            "title": "Unauthorized",
            "type": "about:blank",
            "status": 401,
            "detail": "Unauthorized",
        }
        assert "x-rate-limit-limit" not in response.headers


async def test_oauth_signature_covers_the_encoded_query(emu: XEmulator, x: AsyncClient) -> None:
    # tweepy percent-encodes the colons of times in the query it signs; the emulator must
    # verify against exactly that.
    emu.visitor_posts("anna", "@museum hello")
    body = await x.get_users_mentions(
        emu.museum["id"],
        user_auth=True,
        start_time=datetime.now(UTC) - timedelta(hours=1),
        tweet_fields=["created_at", "author_id"],
    )
    assert body["meta"]["result_count"] == 1


async def test_a_replayed_oauth_request_is_401(emu: XEmulator, raw: aiohttp.ClientSession) -> None:
    signer = OAuthClient(
        KEYS["api_key"], KEYS["api_secret"], KEYS["access_token"], KEYS["access_token_secret"]
    )
    url, headers, _ = signer.sign(X + "/2/users/me", "GET")
    statuses = []
    for _ in range(2):
        async with raw.get(url, headers=headers) as response:
            statuses.append(response.status)
    assert statuses == [200, 401]


# --- mentions and timelines ---------------------------------------------------------------------


async def test_mentions_page_through_250_posts_newest_first(
    emu: XEmulator, x: AsyncClient, clock: Clock
) -> None:
    posted = []
    for i in range(250):
        clock.advance(1.5)
        posted.append(emu.visitor_posts(f"visitor{i % 7}", f"@museum question {i} #museumsalon"))
        if i % 50 == 0:
            emu.visitor_posts("chatter", f"nothing for the museum {i}")
            emu.visitor_posts("fan", "", retweet_of=posted[-1]["id"])
    pages, token = [], None
    while True:
        body = await x.get_users_mentions(
            emu.museum["id"],
            max_results=100,
            pagination_token=token,
            expansions=["author_id"],
            tweet_fields=["created_at", "author_id", "entities"],
            user_fields=["username", "name"],
        )
        check_spec("getUsersMentions", 200, body)
        pages.append(body)
        token = body["meta"].get("next_token")
        if token is None:
            break
    assert [p["meta"]["result_count"] for p in pages] == [100, 100, 50]
    ids = [post["id"] for page in pages for post in page["data"]]
    assert ids == [p["id"] for p in reversed(posted)]
    assert all(int(a) > int(b) for a, b in itertools.pairwise(ids))
    for page in pages:
        assert page["meta"]["newest_id"] == page["data"][0]["id"]
        assert page["meta"]["oldest_id"] == page["data"][-1]["id"]
        authors = {u["id"]: u["username"] for u in page["includes"]["users"]}
        assert {p["author_id"] for p in page["data"]} <= set(authors)
        mention = page["data"][0]["entities"]["mentions"][0]
        assert mention == {"start": 0, "end": 7, "username": "museum", "id": emu.museum["id"]}


async def test_mentions_since_id_until_id_and_nothing_new(
    emu: XEmulator, x: AsyncClient, clock: Clock
) -> None:
    first = [emu.visitor_posts("anna", f"@museum q{i}") for i in range(3)]
    body = await x.get_users_mentions(emu.museum["id"], since_id=first[-1]["id"])
    assert body == {"meta": {"result_count": 0}}
    check_spec("getUsersMentions", 200, body)
    clock.advance(5)
    later = [emu.visitor_posts("boris", f"@Museum later {i}") for i in range(2)]
    body = await x.get_users_mentions(emu.museum["id"], since_id=first[-1]["id"])
    assert [p["id"] for p in body["data"]] == [later[1]["id"], later[0]["id"]]
    body = await x.get_users_mentions(emu.museum["id"], until_id=later[0]["id"], max_results=5)
    assert [p["id"] for p in body["data"]] == [p["id"] for p in reversed(first)]


async def test_only_the_fields_asked_for(emu: XEmulator, x: AsyncClient) -> None:
    emu.visitor_posts("anna", "@museum hi")
    plain = await x.get_users_mentions(emu.museum["id"])
    assert set(plain["data"][0]) == {"id", "text", "edit_history_tweet_ids"}
    asked = await x.get_users_mentions(emu.museum["id"], tweet_fields=["created_at"])
    assert set(asked["data"][0]) == {"id", "text", "edit_history_tweet_ids", "created_at"}
    assert CREATED_AT.match(asked["data"][0]["created_at"])
    assert "includes" not in asked


async def test_invalid_parameters_answer_x_validation_errors(
    emu: XEmulator, x: AsyncClient, raw: aiohttp.ClientSession
) -> None:
    mentions = f"/2/users/{emu.museum['id']}/mentions"
    status, body, headers = await get_raw(raw, mentions, max_results="1000")
    assert status == 400
    assert body == {
        "errors": [
            {
                "parameters": {"max_results": ["1000"]},
                "message": "The `max_results` query parameter value [1000] is not between "
                "5 and 100",
            }
        ],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.x.com/2/problems/invalid-request",
    }
    assert headers["Content-Type"].startswith("application/problem+json")
    check_spec("getUsersMentions", 400, body, "application/problem+json")
    for params in (
        {"foo": "1"},
        {"tweet.fields": "created_at,bogus"},
        {"since_id": "12a"},
        {"pagination_token": "garbage"},
        {"start_time": "yesterday"},
    ):
        status, body, _ = await get_raw(raw, mentions, **params)
        assert status == 400, params
        assert body["errors"] and body["title"] == "Invalid Request"
    with pytest.raises(tweepy.BadRequest, match="not between 5 and 100"):
        await x.get_users_mentions(emu.museum["id"], max_results=4)
    with pytest.raises(tweepy.BadRequest):
        await x.search_recent_tweets("#museumsalon", max_results=5)


async def test_unknown_user_is_an_error_in_a_200(x: AsyncClient) -> None:
    body = await x.get_users_mentions("123")
    assert body["errors"][0]["resource_type"] == "user"
    check_spec("getUsersMentions", 200, body)


async def test_users_tweets_let_the_bot_find_its_own_replies(
    emu: XEmulator, x: AsyncClient
) -> None:
    question = emu.visitor_posts("anna", "@museum Когда открытие? #museumsalon")
    answer = "Выставка открывается в субботу."
    created = await x.create_tweet(text=answer, in_reply_to_tweet_id=question["id"], user_auth=True)
    check_spec("createPosts", 201, created)
    await x.create_tweet(text="Начинаем гостиную! #museumsalon", user_auth=True)
    body = await x.get_users_tweets(
        emu.museum["id"],
        tweet_fields=[
            "referenced_tweets",
            "in_reply_to_user_id",
            "conversation_id",
            "display_text_range",
        ],
    )
    check_spec("getUsersPosts", 200, body)
    reply = body["data"][1]
    assert reply["id"] == created["data"]["id"]
    assert reply["referenced_tweets"] == [{"type": "replied_to", "id": question["id"]}]
    assert reply["in_reply_to_user_id"] == question["author_id"]
    assert reply["conversation_id"] == question["id"]
    # X puts the replied-to author in front of the text and starts the display after it.
    assert reply["text"] == "@anna " + answer
    assert reply["text"][reply["display_text_range"][0] :] == answer
    no_replies = await x.get_users_tweets(emu.museum["id"], exclude=["replies"])
    assert [p["id"] for p in no_replies["data"]] == [body["data"][0]["id"]]
    assert emu.museum_posts()[0]["in_reply_to_tweet_id"] == question["id"]


async def test_lookup_by_id_with_expansions_and_missing_posts(
    emu: XEmulator, x: AsyncClient
) -> None:
    original = emu.visitor_posts("anna", "@museum Вопрос про выставку")
    quote = emu.visitor_posts("boris", "И мне интересно", quote_of=original["id"])
    body = await x.get_tweet(
        quote["id"],
        expansions=["author_id", "referenced_tweets.id", "referenced_tweets.id.author_id"],
        tweet_fields=["author_id", "referenced_tweets", "public_metrics", "lang"],
        user_fields=["username", "public_metrics"],
    )
    check_spec("getPostsById", 200, body)
    assert body["data"]["referenced_tweets"] == [{"type": "quoted", "id": original["id"]}]
    assert body["includes"]["tweets"][0]["public_metrics"]["quote_count"] == 1
    assert [t["id"] for t in body["includes"]["tweets"]] == [original["id"]]
    assert {u["username"] for u in body["includes"]["users"]} == {"anna", "boris"}
    emu.delete_post(original["id"])
    gone = await x.get_tweet(original["id"])
    assert "data" not in gone and gone["errors"][0]["resource_id"] == original["id"]
    check_spec("getPostsById", 200, gone)
    both = await x.get_tweets([quote["id"], original["id"]], expansions=["referenced_tweets.id"])
    check_spec("getPostsByIds", 200, both)
    assert [p["id"] for p in both["data"]] == [quote["id"]]
    assert {e["resource_id"] for e in both["errors"]} == {original["id"]}


async def test_every_post_handed_out_is_a_read_and_an_empty_answer_is_none(
    emu: XEmulator, x: AsyncClient
) -> None:
    first = emu.visitor_posts("anna", "@museum Вопрос про выставку #museumsalon")
    quote = emu.visitor_posts("boris", "И мне интересно", quote_of=first["id"])
    mentions = await x.get_users_mentions(emu.museum["id"])
    found = await x.search_recent_tweets("#museumsalon -@museum")
    looked_up = await x.get_tweet(quote["id"], expansions=["referenced_tweets.id"])
    await emu.wait_for(lambda: len(emu.reads) == 2)

    assert [p["id"] for p in mentions["data"]] == [first["id"]]
    assert "data" not in found
    assert looked_up["data"]["id"] == quote["id"]
    assert [(r.endpoint, r.post_ids, r.included_ids) for r in emu.reads] == [
        ("getUsersMentions", (first["id"],), ()),
        ("getPostsById", (quote["id"],), (first["id"],)),
    ]
    assert sum(read.count() for read in emu.reads) == 3


# --- recent search ----------------------------------------------------------------------------


async def test_search_finds_a_cyrillic_hashtag_in_any_case(
    emu: XEmulator, x: AsyncClient, clock: Clock
) -> None:
    old = emu.visitor_posts(
        "anna",
        "#музейнаягостиная давно",
        created_at=datetime.fromtimestamp(clock.now - 8 * 86400, UTC),
    )
    a = emu.visitor_posts("anna", "Вопрос куратору #МузейнаяГостиная")
    b = emu.visitor_posts("boris", "#музейнаягостиная а что с билетами?")
    emu.visitor_posts("clara", "#музейнаягостинаяплюс не тот тег")
    emu.visitor_posts("dan", "", retweet_of=a["id"])
    hidden = emu.visitor_posts("eve", "#музейнаягостиная спам")
    emu.hide_post(hidden["id"])
    deleted = emu.visitor_posts("fred", "#музейнаягостиная удалю")
    emu.delete_post(deleted["id"])
    emu.visitor_posts("museum", "Начинаем #музейнаягостиная")
    body = await x.search_recent_tweets(
        "#музейнаягостиная -is:retweet -from:museum",
        tweet_fields=["entities", "author_id"],
        expansions=["author_id"],
        max_results=10,
    )
    check_spec("searchPostsRecent", 200, body)
    assert [p["id"] for p in body["data"]] == [b["id"], a["id"]]
    assert body["data"][1]["entities"]["hashtags"] == [
        {"start": 16, "end": 33, "tag": "МузейнаяГостиная"}
    ]
    assert old["id"] not in {p["id"] for p in body["data"]}
    keyword = await x.search_recent_tweets("билетами")
    assert [p["id"] for p in keyword["data"]] == [b["id"]]


async def test_search_operators(emu: XEmulator, x: AsyncClient) -> None:
    announcement = emu.visitor_posts("museum", "Гостиная начинается #museumsalon")
    q1 = emu.visitor_posts("anna", "@museum Когда открыта выставка? #museumsalon")
    r1 = emu.visitor_posts("boris", "Тоже интересно #museumsalon", reply_to=q1["id"])
    quote = emu.visitor_posts("clara", "Отличный пост #MuseumSalon", quote_of=announcement["id"])
    rt = emu.visitor_posts("dan", "", retweet_of=q1["id"])
    other = emu.visitor_posts("eve", "Just a random post about art")
    names = {
        p["id"]: n
        for n, p in dict(
            announcement=announcement, q1=q1, r1=r1, quote=quote, rt=rt, other=other
        ).items()
    }
    cases = {
        "#museumsalon -from:museum": ["rt", "quote", "r1", "q1"],
        "#museumsalon -is:retweet -from:museum": ["quote", "r1", "q1"],
        "#museumsalon is:reply": ["r1"],
        "#museumsalon is:quote": ["quote"],
        "from:anna OR from:clara": ["quote", "q1"],
        "to:anna": ["r1"],
        f"conversation_id:{q1['id']}": ["r1", "q1"],
        "(#museumsalon OR art) -from:boris -is:retweet -from:museum": ["other", "quote", "q1"],
        "@museum -is:retweet": ["q1"],
        '"random post"': ["other"],
        f"quotes_of_tweet_id:{announcement['id']}": ["quote"],
        "retweets_of:anna": ["rt"],
        "RANDOM -(art OR museum)": [],
    }
    for query, expected in cases.items():
        body = await x.search_recent_tweets(query)
        assert [names[p["id"]] for p in body.get("data", [])] == expected, query
    assert r1["text"].startswith("@anna ")
    for bad in (
        "is:reply",
        "-#museumsalon",
        "foo:bar #museumsalon",
        "(#museumsalon",
        "#museumsalon OR",
        'url:"unclosed',
        "x" * 513,
    ):
        with pytest.raises(tweepy.BadRequest):
            await x.search_recent_tweets(bad)


async def test_search_time_bounds_and_paging(emu: XEmulator, x: AsyncClient, clock: Clock) -> None:
    for i in range(130):
        clock.advance(2)
        emu.visitor_posts(f"v{i % 5}", f"вопрос {i} #museumsalon")
    first = await x.search_recent_tweets("#museumsalon", max_results=100)
    assert first["meta"]["result_count"] == 100 and "next_token" in first["meta"]
    second = await x.search_recent_tweets(
        "#museumsalon", max_results=100, next_token=first["meta"]["next_token"]
    )
    assert second["meta"]["result_count"] == 30 and "next_token" not in second["meta"]
    assert not {p["id"] for p in first["data"]} & {p["id"] for p in second["data"]}
    with pytest.raises(tweepy.BadRequest, match=r"pagination_token|next_token"):
        await x.search_recent_tweets("#other", next_token=first["meta"]["next_token"])
    week_ago = datetime.fromtimestamp(clock.now - 7 * 86400 - 60, UTC)
    with pytest.raises(tweepy.BadRequest, match="start_time"):
        await x.search_recent_tweets("#museumsalon", start_time=week_ago)
    with pytest.raises(tweepy.BadRequest, match="end_time"):
        await x.search_recent_tweets(
            "#museumsalon", end_time=datetime.fromtimestamp(clock.now, UTC)
        )
    since = await x.search_recent_tweets("#museumsalon", since_id=first["data"][4]["id"])
    assert [p["id"] for p in since["data"]] == [p["id"] for p in first["data"][:4]]


async def test_a_cursor_older_than_the_search_window_is_400_but_mentions_take_it(
    emu: XEmulator, x: AsyncClient, clock: Clock
) -> None:
    old = emu.visitor_posts("anna", "@museum old #museumsalon")
    clock.advance(8 * 86400)
    new = emu.visitor_posts("anna", "@museum new #museumsalon")
    with pytest.raises(tweepy.BadRequest) as caught:
        await x.search_recent_tweets("#museumsalon", since_id=old["id"])
    assert [list(e["parameters"]) for e in caught.value.api_errors] == [["since_id"]]
    check_spec("searchPostsRecent", 400, await caught.value.response.json(), PROBLEM)
    mentions = await x.get_users_mentions(emu.museum["id"], since_id=old["id"])
    assert [p["id"] for p in mentions["data"]] == [new["id"]]
    eight_days_ago = datetime.fromtimestamp(clock.now - 8 * 86400, UTC)
    mentions = await x.get_users_mentions(emu.museum["id"], start_time=eight_days_ago)
    assert [p["id"] for p in mentions["data"]] == [new["id"], old["id"]]
    # X takes one lower bound on search, never both.
    a_day_ago = datetime.fromtimestamp(clock.now - 86400, UTC)
    with pytest.raises(tweepy.BadRequest, match="At most one of `start_time`, `since_id`"):
        await x.search_recent_tweets("#museumsalon", since_id=new["id"], start_time=a_day_ago)
    found = await x.search_recent_tweets("#museumsalon", start_time=a_day_ago)
    assert [p["id"] for p in found["data"]] == [new["id"]]


async def test_an_unenrolled_app_and_spent_credits_refuse_every_call(
    emu: XEmulator, x: AsyncClient, raw: aiohttp.ClientSession
) -> None:
    emu.set_account(enrolled=False)
    with pytest.raises(tweepy.Forbidden) as forbidden:
        await x.search_recent_tweets("#museumsalon")
    problem = await forbidden.value.response.json()
    assert problem["reason"] == "client-not-enrolled"
    assert problem["type"] == "https://api.x.com/2/problems/client-forbidden"
    with pytest.raises(tweepy.Forbidden, match="attached to a Project"):
        await x.create_tweet(text="Ответ", user_auth=True)
    emu.set_account(enrolled=True, credits=False)
    for call in (
        lambda: x.get_users_mentions(emu.museum["id"]),
        lambda: x.create_tweet(text="Ответ", user_auth=True),
    ):
        with pytest.raises(tweepy.HTTPException) as spent:
            await call()
        assert spent.value.response.status == 402
        assert spent.value.api_messages == ["credits depleted"]
    async with raw.get(X + f"/2/users/{emu.museum['id']}/mentions", headers=BEARER) as response:
        assert response.status == 402
        assert response.content_type == PROBLEM
        assert (await response.json())["type"] == "https://api.x.com/2/problems/credits-depleted"
    assert emu.museum_posts() == []
    async with aiohttp.ClientSession(base_url=emu.base_url) as http:
        async with http.post("/control/account", json={"credits": True}) as r:
            assert (await r.json())["data"] == {"enrolled": True, "credits": True}
        async with http.post("/control/account", json={"credits": "yes"}) as r:
            assert r.status == 400
        async with http.post("/control/faults", json={"status": 402}) as r:
            assert r.status == 201
    with pytest.raises(tweepy.HTTPException, match="credits depleted"):
        await x.search_recent_tweets("#museumsalon")
    assert await x.search_recent_tweets("#museumsalon") == {"meta": {"result_count": 0}}
    assert [r.status for r in emu.requests][-2:] == [402, 200]


# --- creating posts -----------------------------------------------------------------------------


URL_30 = "https://example.com/" + "p" * 10


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("a" * 280, 280),
        ("a" * 281, 281),
        ("я" * 280, 280),
        ("я" * 281, 281),
        ("😀" * 140, 280),
        ("😀" * 140 + "a", 281),
        ("a" * 256 + " " + URL_30, 280),
        ("a" * 257 + " " + URL_30, 281),
        ("e\u0301" * 280, 280),  # NFC makes each pair one character
        ("漢" * 140, 280),
    ],
)
async def test_weighted_length_boundary(
    emu: XEmulator, x: AsyncClient, text: str, length: int
) -> None:
    assert weighted_length(text) == length
    if length <= 280:
        created = await x.create_tweet(text=text, user_auth=True)
        check_spec("createPosts", 201, created)
        assert len(emu.museum_posts()) == 1
    else:
        with pytest.raises(tweepy.BadRequest, match=f"{length} weighted characters"):
            await x.create_tweet(text=text, user_auth=True)
        assert emu.museum_posts() == []


async def test_urls_become_tco_links_of_23(emu: XEmulator, x: AsyncClient) -> None:
    created = await x.create_tweet(text=f"Подробнее: {URL_30}", user_auth=True)
    text = created["data"]["text"]
    assert re.fullmatch(r"Подробнее: https://t\.co/[0-9A-Za-z]{10}", text)
    stored = emu.museum_posts()[0]
    assert stored["entities"]["urls"][0]["expanded_url"] == URL_30
    assert stored["entities"]["urls"][0]["end"] - stored["entities"]["urls"][0]["start"] == 23


@pytest.mark.parametrize("text", ["", "   \n"])
async def test_empty_text_is_400(emu: XEmulator, x: AsyncClient, text: str) -> None:
    with pytest.raises(tweepy.BadRequest):
        await x.create_tweet(text=text, user_auth=True)


async def test_duplicate_content_is_403_for_24_hours(
    emu: XEmulator, x: AsyncClient, clock: Clock, raw: aiohttp.ClientSession
) -> None:
    await x.create_tweet(text="Спасибо всем за вопросы!", user_auth=True)
    with pytest.raises(tweepy.Forbidden, match="duplicate content") as caught:
        await x.create_tweet(text="Спасибо всем за вопросы!", user_auth=True)
    assert caught.value.response.status == 403
    assert len(emu.museum_posts()) == 1
    # The same answer to two visitors differs by the @author X puts in front of it.
    a = emu.visitor_posts("anna", "@museum вопрос")
    b = emu.visitor_posts("boris", "@museum вопрос тоже")
    await x.create_tweet(text="Да!", in_reply_to_tweet_id=a["id"], user_auth=True)
    await x.create_tweet(text="Да!", in_reply_to_tweet_id=b["id"], user_auth=True)
    clock.advance(24 * 3600 + 1)
    await x.create_tweet(text="Спасибо всем за вопросы!", user_auth=True)
    assert len(emu.museum_posts()) == 4
    signer = OAuthClient(
        KEYS["api_key"], KEYS["api_secret"], KEYS["access_token"], KEYS["access_token_secret"]
    )
    url, headers, _ = signer.sign(
        X + "/2/tweets", "POST", headers={"Content-Type": "application/json"}
    )
    async with raw.post(
        url, headers=headers, data=json.dumps({"text": "Спасибо всем за вопросы!"})
    ) as response:
        assert response.status == 403
        assert await response.json() == {
            "detail": DUPLICATE_DETAIL,
            "type": "about:blank",
            "title": "Forbidden",
            "status": 403,
        }


async def test_a_new_post_reaches_search_and_timelines_after_the_indexing_delay(
    make_emu: EmuFactory, make_client: ClientFactory, clock: Clock
) -> None:
    emu = await make_emu(search_delay=5.0, timeline_delay=1.0)
    x = make_client(emu)
    museum = emu.museum["id"]
    question = emu.visitor_posts("anna", "@museum Когда открытие? #museumsalon")
    made = await x.create_tweet(text="Спасибо всем за вопросы!", user_auth=True)
    own = made["data"]["id"]

    async def seen() -> tuple[int, int, int, int]:
        search = await x.search_recent_tweets("#museumsalon")
        mentions = await x.get_users_mentions(museum, user_auth=True)
        timeline = await x.get_users_tweets(museum, user_auth=True)
        by_id = await x.get_tweet(own, user_auth=True)
        return (
            search["meta"]["result_count"],
            mentions["meta"]["result_count"],
            timeline["meta"]["result_count"],
            len([by_id["data"]]),
        )

    # A lookup by id and the duplicate check see a post at once; lists lag behind.
    assert await seen() == (0, 0, 0, 1)
    with pytest.raises(tweepy.Forbidden, match="duplicate content"):
        await x.create_tweet(text="Спасибо всем за вопросы!", user_auth=True)
    clock.advance(1.0)
    assert await seen() == (0, 1, 1, 1)
    clock.advance(4.0)
    assert await seen() == (1, 1, 1, 1)
    assert (await x.search_recent_tweets("#museumsalon"))["data"][0]["id"] == question["id"]


async def test_reply_restriction(emu: XEmulator, x: AsyncClient) -> None:
    own = (await x.create_tweet(text="Гостиная открыта #museumsalon", user_auth=True))["data"]
    plain = emu.visitor_posts("anna", "Когда открытие? #museumsalon")
    elsewhere = emu.visitor_posts(
        "boris",
        "@partner когда? #museumsalon",
    )
    mentioned = emu.visitor_posts("clara", "@museum когда открытие?")
    quoted = emu.visitor_posts("dan", "Вопрос про это", quote_of=own["id"])
    under_own = emu.visitor_posts("eve", "А во сколько?", reply_to=own["id"])
    gone = emu.visitor_posts("fred", "@museum удалю")
    emu.delete_post(gone["id"])
    for post in (plain, elsewhere):
        with pytest.raises(tweepy.Forbidden) as caught:
            await x.create_tweet(
                text=f"Ответ {post['id']}", in_reply_to_tweet_id=post["id"], user_auth=True
            )
        assert caught.value.api_messages == [REPLY_RESTRICTED_DETAIL]
    for post_id in (gone["id"], "1234567"):
        with pytest.raises(tweepy.Forbidden) as caught:
            await x.create_tweet(text="Ответ", in_reply_to_tweet_id=post_id, user_auth=True)
        assert caught.value.api_messages == [REPLY_MISSING_DETAIL]
    for post in (mentioned, quoted, under_own, own):
        await x.create_tweet(
            text=f"Ответ {post['id']}", in_reply_to_tweet_id=post["id"], user_auth=True
        )
    replies = [p for p in emu.museum_posts() if p["in_reply_to_tweet_id"]]
    assert [p["in_reply_to_tweet_id"] for p in replies] == [
        mentioned["id"],
        quoted["id"],
        under_own["id"],
        own["id"],
    ]
    assert replies[-1]["text"] == f"Ответ {own['id']}"  # no @ in front on its own thread


# --- rate limits ---------------------------------------------------------------------------------


async def test_rate_limit_headers_429_violations_and_recovery(
    make_emu: EmuFactory, make_client: ClientFactory, clock: Clock
) -> None:
    emu = await make_emu(limits={"getUsersMentions": 3}, window_seconds=60)
    x = make_client(emu)
    path = f"/2/users/{emu.museum['id']}/mentions"
    session = make_x_session(emu.base_url)
    try:
        seen = [await get_raw(session, path) for _ in range(3)]
        reset = seen[0][2]["x-rate-limit-reset"]
        assert [
            (s, h["x-rate-limit-limit"], h["x-rate-limit-remaining"], h["x-rate-limit-reset"])
            for s, _, h in seen
        ] == [(200, "3", "2", reset), (200, "3", "1", reset), (200, "3", "0", reset)]
        assert int(reset) >= clock.now + 60
        status, body, headers = await get_raw(session, path)
        assert (status, headers["x-rate-limit-remaining"]) == (429, "0")
        assert body == {
            "title": "Too Many Requests",
            "detail": "Too Many Requests",
            "type": "about:blank",
            "status": 429,
        }
        assert emu.violations == []
        with pytest.raises(tweepy.TooManyRequests) as caught:
            await x.get_users_mentions(emu.museum["id"])
        assert caught.value.reset_time == int(reset)
        for _ in range(4):
            await get_raw(session, path)
        assert len(emu.violations) == 5
        assert all("getUsersMentions" in v for v in emu.violations)
        # The user identity has its own window.
        await x.get_users_mentions(emu.museum["id"], user_auth=True)
        clock.now = float(reset)
        status, _, headers = await get_raw(session, path)
        assert (status, headers["x-rate-limit-remaining"]) == (200, "2")
        assert len(emu.violations) == 5
    finally:
        await session.close()
    assert [r.status for r in emu.requests if r.endpoint == "getUsersMentions"].count(429) == 6


async def test_a_client_that_waits_for_the_reset_makes_no_violations(
    make_emu: EmuFactory, make_client: ClientFactory, clock: Clock
) -> None:
    emu = await make_emu(limits={"createPosts": 2}, window_seconds=900)
    x = make_client(emu)
    await x.create_tweet(text="one", user_auth=True)
    await x.create_tweet(text="two", user_auth=True)
    with pytest.raises(tweepy.TooManyRequests) as caught:
        await x.create_tweet(text="three", user_auth=True)
    assert caught.value.reset_time is not None
    clock.now = float(caught.value.reset_time)
    await x.create_tweet(text="three", user_auth=True)
    assert emu.violations == []
    assert [p["text"] for p in emu.museum_posts()] == ["one", "two", "three"]


# --- faults ------------------------------------------------------------------------------------


async def test_503_fault_then_recovery(emu: XEmulator, x: AsyncClient) -> None:
    emu.inject_fault(Fault(endpoint="getUsersMentions", status=503, count=2))
    for _ in range(2):
        with pytest.raises(tweepy.TwitterServerError) as caught:
            await x.get_users_mentions(emu.museum["id"])
        assert caught.value.response.status == 503
        assert caught.value.api_messages == ["Service Unavailable"]
    assert (await x.get_users_mentions(emu.museum["id"])) == {"meta": {"result_count": 0}}
    assert [r.status for r in emu.requests] == [503, 503, 200]


async def test_a_slow_answer_times_the_client_out_without_side_effects(
    emu: XEmulator, make_client: ClientFactory
) -> None:
    x = make_client(emu, timeout=0.3)
    emu.inject_fault(Fault(endpoint="createPosts", status=0, delay=5.0))
    with pytest.raises(asyncio.TimeoutError):
        await x.create_tweet(text="slow", user_auth=True)
    assert emu.museum_posts() == []


async def test_accepted_then_lost_answer(emu: XEmulator, make_client: ClientFactory) -> None:
    x = make_client(emu, timeout=0.3)
    emu.inject_fault(Fault(endpoint="createPosts", status=503, accept=True))
    with pytest.raises(tweepy.TwitterServerError):
        await x.create_tweet(text="Ответ на вопрос", user_auth=True)
    assert [p["text"] for p in emu.museum_posts()] == ["Ответ на вопрос"]
    # Retrying is what the bot must not do blindly: X now says it is a duplicate.
    with pytest.raises(tweepy.Forbidden, match="duplicate"):
        await x.create_tweet(text="Ответ на вопрос", user_auth=True)
    emu.inject_fault(Fault(endpoint="createPosts", status=0, delay=5.0, accept=True))
    with pytest.raises(asyncio.TimeoutError):
        await x.create_tweet(text="Второй ответ", user_auth=True)
    await emu.wait_for(lambda: len(emu.museum_posts()) == 2, timeout=2)


async def test_429_fault_empties_the_window(emu: XEmulator, x: AsyncClient) -> None:
    emu.inject_fault(Fault(endpoint=None, status=429))
    with pytest.raises(tweepy.TooManyRequests) as caught:
        await x.search_recent_tweets("#museumsalon")
    assert caught.value.response.headers["x-rate-limit-remaining"] == "0"
    with pytest.raises(tweepy.TooManyRequests):
        await x.search_recent_tweets("#museumsalon")
    assert len(emu.violations) == 1
    await x.get_users_mentions(emu.museum["id"])  # other endpoints keep their windows


# --- control API ---------------------------------------------------------------------------------


async def test_control_api(emu: XEmulator, x: AsyncClient) -> None:
    async with aiohttp.ClientSession(base_url=emu.base_url) as http:
        async with http.post("/control/users", json={"username": "anna", "name": "Анна"}) as r:
            assert r.status == 201
            anna = (await r.json())["data"]
        assert anna["username"] == "anna" and anna["name"] == "Анна"
        async with http.post(
            "/control/posts", json={"username": "anna", "text": "@museum вопрос #museumsalon"}
        ) as r:
            assert r.status == 201
            question = (await r.json())["data"]
        async with http.post(
            "/control/posts", json={"username": "nobody", "text": "x", "reply_to": "999"}
        ) as r:
            assert r.status == 404
        async with http.post("/control/posts", json={"username": "bad name", "text": "x"}) as r:
            assert r.status == 400
        mentions = await x.get_users_mentions(emu.museum["id"])
        assert [p["id"] for p in mentions["data"]] == [question["id"]]
        await x.create_tweet(text="Ответ", in_reply_to_tweet_id=question["id"], user_auth=True)
        async with http.get("/control/posts", params={"author": "museum"}) as r:
            posts = (await r.json())["data"]
        assert [(p["text"], p["in_reply_to_tweet_id"]) for p in posts] == [
            ("@anna Ответ", question["id"])
        ]
        async with http.post(
            "/control/faults", json={"endpoint": "searchPostsRecent", "status": 500, "count": 3}
        ) as r:
            assert r.status == 201
        with pytest.raises(tweepy.TwitterServerError):
            await x.search_recent_tweets("#museumsalon")
        async with http.delete("/control/faults") as r:
            assert (await r.json())["data"] == {"cleared": 1}
        async with http.post(f"/control/posts/{question['id']}/hide") as r:
            assert r.status == 200
        assert "data" not in await x.search_recent_tweets("#museumsalon")
        async with http.post("/control/faults", json={"endpoint": "nope"}) as r:
            assert r.status == 400
        async with http.get("/control/requests") as r:
            log = await r.json()
        assert [(e["endpoint"], e["status"]) for e in log["data"]] == [
            ("getUsersMentions", 200),
            ("createPosts", 201),
            ("searchPostsRecent", 500),
            ("searchPostsRecent", 200),
        ]
        assert log["violations"] == []
        assert "Authorization" not in json.dumps(log)
        async with http.delete(f"/control/posts/{question['id']}") as r:
            assert r.status == 200
        assert "data" not in await x.get_tweet(question["id"])


async def test_delete_own_posts_only(emu: XEmulator, x: AsyncClient) -> None:
    own = (await x.create_tweet(text="Опечатка", user_auth=True))["data"]
    other = emu.visitor_posts("anna", "@museum вопрос")
    with pytest.raises(tweepy.Forbidden):
        await x.delete_tweet(other["id"], user_auth=True)
    assert await x.delete_tweet(own["id"], user_auth=True) == {"data": {"deleted": True}}
    assert emu.museum_posts() == []
    with pytest.raises(tweepy.Forbidden):
        await x.delete_tweet(own["id"], user_auth=False)


async def test_deleting_a_post_twice_and_the_delete_window(
    make_emu: EmuFactory, make_client: ClientFactory
) -> None:
    """A post already gone answers `deleted: false` (a retried delete is harmless); X allows
    50 deletes per user in 15 minutes."""
    emu = await make_emu()
    x = make_client(emu)
    own = (await x.create_tweet(text="Опечатка", user_auth=True))["data"]
    assert await x.delete_tweet(own["id"], user_auth=True) == {"data": {"deleted": True}}
    assert await x.delete_tweet(own["id"], user_auth=True) == {"data": {"deleted": False}}
    for _ in range(48):
        await x.delete_tweet(own["id"], user_auth=True)
    with pytest.raises(tweepy.TooManyRequests):
        await x.delete_tweet(own["id"], user_auth=True)


async def test_request_log_never_holds_a_key(emu: XEmulator, x: AsyncClient) -> None:
    await x.get_me(user_auth=True)
    await x.get_users_mentions(emu.museum["id"])
    dumped = repr(emu.requests) + repr(emu.violations)
    assert not any(secret in dumped for secret in KEYS.values())


# --- twitter-text conformance -------------------------------------------------------------------


def _conformance(name: str) -> dict[str, Any]:
    path = SHARED / "conformance" / "twitter-text" / name
    if not path.exists():
        pytest.skip(f"twitter-text conformance data is not at {path.parent}")
    data: dict[str, Any] = yaml.safe_load(path.read_text())["tests"]
    return data


@pytest.mark.parametrize(
    ("section", "kind"),
    [
        ("mentions", "mention"),
        ("hashtags", "hashtag"),
        ("cashtags", "cashtag"),
        ("urls", "url"),
    ],
)
def test_entities_follow_twitter_text(section: str, kind: str) -> None:
    for case in _conformance("extract.yml")[section]:
        got = [e.value for e in extract_entities(case["text"]) if e.kind == kind]
        assert got == case["expected"], case["description"]


def test_entity_indices_follow_twitter_text() -> None:
    tests = _conformance("extract.yml")
    for section, kind, key in [
        ("mentions_with_indices", "mention", "screen_name"),
        ("hashtags_with_indices", "hashtag", "hashtag"),
        ("cashtags_with_indices", "cashtag", "cashtag"),
        ("urls_with_indices", "url", "url"),
    ]:
        for case in tests[section]:
            if any(ord(c) > 0xFFFF for c in case["text"]):
                continue  # the expected offsets are UTF-16, X's v2 offsets are code points
            got = [
                (e.value, [e.start, e.end])
                for e in extract_entities(case["text"])
                if e.kind == kind
            ]
            assert got == [(c[key], c["indices"]) for c in case["expected"]], case["description"]


def test_weighted_length_follows_twitter_text_v3() -> None:
    tests = _conformance("validate.yml")
    for case in tests["WeightedTweetsWithDiscountedEmojiCounterTest"]:
        assert weighted_length(case["text"]) == case["expected"]["weightedLength"], case[
            "description"
        ]


# --- usage, as X bills it ---------------------------------------------------------------------


async def usage(
    session: aiohttp.ClientSession, **params: str
) -> tuple[int, dict[str, Any], CIMultiDictProxy[str]]:
    return await get_raw(session, "/2/usage/tweets", **params)


async def test_reads_are_billed_per_post_returned_once_a_utc_day(
    emu: XEmulator, x: AsyncClient, clock: Clock, raw: aiohttp.ClientSession
) -> None:
    clock.now = datetime(2026, 11, 28, 12, tzinfo=UTC).timestamp()
    posted = [emu.visitor_posts("anna", f"@museum q{i} #museumsalon") for i in range(3)]
    museum = emu.museum["id"]
    await x.get_users_mentions(museum)
    assert emu.billed_reads() == 3
    # The same posts again that day, by another endpoint too: billed once.
    await x.get_users_mentions(museum)
    await x.search_recent_tweets("#museumsalon")
    assert emu.billed_reads() == 3
    # An empty answer costs nothing; so does a refused one.
    await x.get_users_mentions(museum, since_id=posted[-1]["id"])
    with pytest.raises(tweepy.BadRequest):
        await x.search_recent_tweets("#museumsalon", max_results=5)
    assert emu.billed_reads() == 3
    # Posting is not a read.
    await x.create_tweet(text="Welcome to the salon", user_auth=True)
    assert emu.billed_reads() == 3
    clock.advance(24 * 3600)
    await x.get_users_mentions(museum, max_results=5)
    assert emu.billed_reads() == 3
    assert emu.billed_reads("2026-11-28") == 3

    status, body, headers = await usage(raw)
    check_spec("getUsage", status, body)
    assert status == 200
    assert body == {
        "data": {
            "cap_reset_day": 1,
            "project_cap": "2000000",
            "project_id": body["data"]["project_id"],
            "project_usage": "6",
        }
    }
    assert headers["x-rate-limit-limit"] == "50"

    status, body, _ = await usage(raw, days="3", **{"usage.fields": "daily_project_usage"})
    check_spec("getUsage", status, body)
    daily = body["data"]["daily_project_usage"]["usage"]
    assert set(body["data"]) == {"daily_project_usage"}
    assert daily == [
        {"date": "2026-11-27T00:00:00.000Z", "usage": "0"},
        {"date": "2026-11-28T00:00:00.000Z", "usage": "3"},
        {"date": "2026-11-29T00:00:00.000Z", "usage": "3"},
    ]


async def test_usage_cycle_restarts_on_the_reset_day(
    make_emu: EmuFactory, make_client: ClientFactory, clock: Clock
) -> None:
    emu = await make_emu(cap_reset_day=1)
    x = make_client(emu)
    clock.now = datetime(2026, 11, 30, 23, tzinfo=UTC).timestamp()
    emu.visitor_posts("anna", "@museum late in November")
    await x.get_users_mentions(emu.museum["id"])
    clock.now = datetime(2026, 12, 1, 1, tzinfo=UTC).timestamp()
    emu.visitor_posts("anna", "@museum early in December")
    await x.get_users_mentions(emu.museum["id"], max_results=5)
    body = await x.request("GET", "/2/usage/tweets")
    # Both posts read again on the 1st are billed that day; November's read is last cycle's.
    assert (await body.json())["data"]["project_usage"] == "2"


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"days": "0"}, "days"),
        ({"days": "91"}, "days"),
        ({"days": "a week"}, "days"),
        ({"usage.fields": "project_usage,money"}, "usage.fields"),
        ({"since_id": "1"}, "since_id"),
    ],
)
async def test_usage_refuses_what_x_refuses(
    raw: aiohttp.ClientSession, params: dict[str, str], parameter: str
) -> None:
    status, body, headers = await usage(raw, **params)
    assert status == 400
    assert headers["content-type"].startswith(PROBLEM)
    check_spec("getUsage", status, body, PROBLEM)
    assert body["type"] == "https://api.x.com/2/problems/invalid-request"
    assert parameter in body["errors"][0]["parameters"]


async def test_usage_needs_the_apps_bearer_token(emu: XEmulator, x: AsyncClient) -> None:
    with pytest.raises(tweepy.Forbidden) as caught:
        await x.request("GET", "/2/usage/tweets", params={}, user_auth=True)
    assert "OAuth 1.0a User Context is forbidden" in str(caught.value)
    client = make_x_client(base_url=emu.base_url, **{**KEYS, "bearer_token": "wrong"})
    try:
        with pytest.raises(tweepy.Unauthorized):
            await client.request("GET", "/2/usage/tweets")
    finally:
        await client.session.close()
