"""The aiohttp session tweepy's AsyncClient talks through, pointed at X or at a local emulator.

tweepy always builds `https://api.twitter.com/2/...` URLs and signs OAuth 1.0a requests over
them. To reach the emulator without patching tweepy, the session carries a client middleware
that moves every request to the configured base URL after tweepy has signed it: the
signature stays the one X would see, and the emulator checks it against the original URL.
"""

from __future__ import annotations

from aiohttp import (
    ClientHandlerType,
    ClientMiddlewareType,
    ClientRequest,
    ClientResponse,
    ClientSession,
    ClientTimeout,
    hdrs,
)
from tweepy.asynchronous import AsyncClient
from yarl import URL

DEFAULT_TIMEOUT = 30.0


def _redirect_to(target: URL) -> ClientMiddlewareType:
    host = target.host
    host_header = target.host_port_subcomponent
    if host is None or host_header is None:
        raise ValueError("the base URL needs a host")

    async def redirect(req: ClientRequest, handler: ClientHandlerType) -> ClientResponse:
        # with_* keep the already-encoded path and query untouched, so what arrives is
        # byte for byte what tweepy signed.
        req.url = req.url.with_scheme(target.scheme).with_host(host).with_port(target.port)
        # The Host header was computed from the original URL when the request was built.
        req.headers[hdrs.HOST] = host_header
        return await handler(req)

    return redirect


def make_x_session(base_url: str | None, *, timeout: float = DEFAULT_TIMEOUT) -> ClientSession:
    """A session for tweepy: to the real X API when `base_url` is None, else to `base_url`.

    `base_url` is `scheme://host[:port]` (e.g. the emulator's `http://127.0.0.1:PORT`).
    Must be called with an event loop running; the caller closes the session.
    """
    client_timeout = ClientTimeout(total=timeout)
    if base_url is None:
        return ClientSession(timeout=client_timeout)
    target = URL(base_url)
    if target.scheme not in ("http", "https") or target.path not in ("", "/"):
        raise ValueError("the X base URL must look like http(s)://host[:port], without a path")
    if target.query_string or target.fragment:
        raise ValueError("the X base URL must not carry a query or a fragment")
    return ClientSession(timeout=client_timeout, middlewares=(_redirect_to(target),))


def make_x_client(
    *,
    base_url: str | None,
    bearer_token: str,
    api_key: str,
    api_secret: str,
    access_token: str,
    access_token_secret: str,
    timeout: float = DEFAULT_TIMEOUT,
) -> AsyncClient:
    """tweepy's AsyncClient with our session: plain dicts back, and 429s raised, not slept on.

    Sleeping inside tweepy would freeze whichever task made the call for up to 15 minutes;
    the bot paces itself from the rate-limit headers instead. Call it with an event loop
    running (the session binds to it) and close with `await client.session.close()`.
    """
    client = AsyncClient(
        bearer_token=bearer_token,
        consumer_key=api_key,
        consumer_secret=api_secret,
        access_token=access_token,
        access_token_secret=access_token_secret,
        return_type=dict,
        wait_on_rate_limit=False,
    )
    client.session = make_x_session(base_url, timeout=timeout)
    return client
