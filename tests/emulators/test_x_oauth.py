"""X's OAuth 1.0a PIN flow in the emulator, driven by tweepy's OAuth1UserHandler over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
import tweepy

from opsbot.clock import ManualClock
from opsbot.emulators.x import REPLY_RESTRICTED_DETAIL, XEmulator
from opsbot.emulators.x.oauth import REQUEST_TOKEN_SECONDS
from opsbot.x.pin_flow import PinFlow
from opsbot.x.session import make_x_client, make_x_session

KEYS = {
    "bearer_token": "test-bearer-token",
    "api_key": "test-api-key",
    "api_secret": "test-api-secret",
    "access_token": "test-access-token",
    "access_token_secret": "test-access-token-secret",
}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def emu(clock: ManualClock) -> AsyncIterator[XEmulator]:
    emulator = XEmulator(**KEYS, clock=clock.timestamp)
    emulator.add_user("partner_museum", "Partner Museum")
    await emulator.start()
    yield emulator
    await emulator.stop()


def flow(emu: XEmulator, clock: ManualClock, **overrides: str) -> PinFlow:
    keys = {"api_key": KEYS["api_key"], "api_secret": KEYS["api_secret"], **overrides}
    return PinFlow(**keys, base_url=emu.base_url, clock=clock)


def request_token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["oauth_token"][0]


async def test_pin_flow_hands_out_tokens_that_post_as_the_partner(
    emu: XEmulator, clock: ManualClock
) -> None:
    pins = flow(emu, clock)
    url = await pins.start(7, partner_id=3)
    assert url.startswith("https://api.twitter.com/oauth/authorize?oauth_token=")
    pin = emu.authorize(request_token(url), "partner_museum")
    assert len(pin) == 7 and pin.isdigit()
    partner_id, tokens = await pins.finish(7, pin)
    assert partner_id == 3 and tokens.token in emu.access_tokens_of("partner_museum")
    assert tokens.secret not in repr(tokens)

    question = emu.visitor_posts("ivan", "@partner_museum what is on the shelf? #museumsalon")
    other = emu.visitor_posts("olga", "@museum and this one? #museumsalon")
    client = make_x_client(
        base_url=emu.base_url,
        **{**KEYS, "access_token": tokens.token, "access_token_secret": tokens.secret},
    )
    try:
        me = await client.get_me(user_auth=True)
        assert me["data"]["username"] == "partner_museum"
        reply = await client.create_tweet(
            text="It is a samovar.", in_reply_to_tweet_id=question["id"], user_auth=True
        )
        stored = emu._posts[reply["data"]["id"]]
        assert stored["author_id"] == me["data"]["id"]
        assert stored["referenced_tweets"] == [{"type": "replied_to", "id": question["id"]}]
        # X's reply rule holds per account: the partner was not engaged by this author.
        with pytest.raises(tweepy.Forbidden) as refused:
            await client.create_tweet(
                text="We know too.", in_reply_to_tweet_id=other["id"], user_auth=True
            )
        assert REPLY_RESTRICTED_DETAIL in str(refused.value)
    finally:
        await client.session.close()


async def test_a_wrong_pin_is_401_and_spends_the_request_token(
    emu: XEmulator, clock: ManualClock
) -> None:
    pins = flow(emu, clock)
    url = await pins.start(7, partner_id=3)
    pin = emu.authorize(request_token(url), "partner_museum")
    wrong = f"{(int(pin) + 1) % 10**7:07d}"
    with pytest.raises(Exception, match=r"refused the authorisation \(401\)"):
        await pins.finish(7, wrong)
    # The right PIN does not work after a wrong one: the request token is spent.
    with pytest.raises(KeyError):
        emu.authorize(request_token(url), "partner_museum")


async def test_an_unapproved_or_expired_request_token_is_401(
    emu: XEmulator, clock: ManualClock
) -> None:
    pins = flow(emu, clock)
    await pins.start(7, partner_id=3)
    with pytest.raises(Exception, match="401"):
        await pins.finish(7, "1234567")
    url = await pins.start(8, partner_id=3)
    clock.advance(REQUEST_TOKEN_SECONDS + 1)
    with pytest.raises(KeyError):
        emu.authorize(request_token(url), "partner_museum")


async def test_a_request_token_needs_the_apps_keys_and_oob(
    emu: XEmulator, clock: ManualClock
) -> None:
    with pytest.raises(Exception, match="401"):
        await flow(emu, clock, api_secret="not-the-secret").start(7, partner_id=3)
    session = make_x_session(emu.base_url)
    try:
        async with session.post("https://api.twitter.com/oauth/request_token") as response:
            assert response.status == 401
    finally:
        await session.close()


async def test_the_authorisation_page_and_the_control_hook(
    emu: XEmulator, clock: ManualClock
) -> None:
    url = await flow(emu, clock).start(7, partner_id=3)
    token = request_token(url)
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{emu.base_url}/oauth/authorize?oauth_token={token}") as page:
            assert page.status == 200 and "Authorize" in await page.text()
        async with session.post(
            f"{emu.base_url}/control/oauth/authorize",
            json={"oauth_token": token, "username": "nobody_here"},
        ) as response:
            assert response.status == 404
        async with session.post(
            f"{emu.base_url}/control/oauth/authorize",
            json={"oauth_token": token, "username": "partner_museum"},
        ) as response:
            body = await response.json()
    assert len(body["data"]["oauth_verifier"]) == 7
