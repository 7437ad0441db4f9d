"""A partner museum lets the museum's X app post as its account: X's OAuth 1.0a PIN flow.

tweepy's `OAuth1UserHandler` does the two signed steps (a request token, then the access
token for the PIN); it is synchronous (requests), so each step runs in a thread. Like the
AsyncClient's session (`session.py`), its requests are moved to the configured X base URL
after they are signed, so the emulator checks the signature X would check.

Between the two steps the request token waits here, in memory, per person: a restart loses
it and the person starts again with /partner connect. Nothing here logs a token, a secret or
a PIN; `logs.hide` masks the tokens in every log line from the moment they are known.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from requests_oauthlib import OAuth1Session  # type: ignore[import-untyped]
from requests_oauthlib.oauth1_session import TokenRequestDenied  # type: ignore[import-untyped]
from tweepy import OAuth1UserHandler, TweepyException

from opsbot import logs
from opsbot.clock import Clock
from opsbot.x.gateway import XAuthFailed, XUnavailable

# X's request tokens expire after minutes; the bot forgets a waiting one after this.
PIN_WAIT_SECONDS = 15 * 60.0
OAUTH_HOST = "https://api.twitter.com/"


class _ToBaseUrl(HTTPAdapter):
    """Sends a request signed for api.twitter.com to the configured host instead."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__()
        self._target = urlsplit(base_url)
        self._timeout = timeout

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        parts = urlsplit(request.url or "")
        request.url = urlunsplit(
            (self._target.scheme, self._target.netloc, parts.path, parts.query, parts.fragment)
        )
        kwargs["timeout"] = kwargs.get("timeout") or self._timeout
        return super().send(request, **kwargs)


class _Handler(OAuth1UserHandler):  # type: ignore[misc]
    """tweepy's handler, whose sessions (it makes a new one for the second step) go to the
    configured base URL, with a timeout."""

    def __init__(self, key: str, secret: str, base_url: str | None, timeout: float) -> None:
        self._base_url = base_url
        self._timeout = timeout
        super().__init__(key, secret, callback="oob")

    @property
    def oauth(self) -> OAuth1Session:
        return self._oauth

    @oauth.setter
    def oauth(self, session: OAuth1Session) -> None:
        session.mount(OAUTH_HOST, _ToBaseUrl(self._base_url or OAUTH_HOST, self._timeout))
        self._oauth = session


@dataclass(frozen=True)
class Tokens:
    """The partner's access token and secret: never logged, stored only sealed."""

    token: str
    secret: str

    def __repr__(self) -> str:
        return "Tokens(***)"


class PinNotAsked(Exception):
    """No /partner connect waits for this person's PIN (never asked, expired, or restarted)."""


@dataclass
class _Waiting:
    partner_id: int
    handler: _Handler
    since: float


def _failure(exc: TweepyException) -> Exception:
    cause: object = exc
    # tweepy wraps what requests-oauthlib raised, once or twice.
    while isinstance(cause, TweepyException) and cause.args:
        cause = cause.args[0]
    if isinstance(cause, TokenRequestDenied):
        status = cause.status_code
        if status in (400, 401, 403):
            # The message X gives may quote the request; only its status is kept.
            return XAuthFailed(f"X refused the authorisation ({status})")
        return XUnavailable(f"X did not complete the authorisation ({status})", status)
    return XUnavailable("X could not be reached for the authorisation")


class PinFlow:
    def __init__(
        self,
        *,
        api_key: str,
        api_secret: str,
        base_url: str | None,
        clock: Clock,
        timeout: float = 30.0,
    ) -> None:
        self._key = api_key
        self._secret = api_secret
        self._base_url = base_url
        self._clock = clock
        self._timeout = timeout
        self._waiting: dict[int, _Waiting] = {}

    def waiting_for(self, user_id: int) -> int | None:
        """The partner whose PIN this person is asked for, if any."""
        waiting = self._live(user_id)
        return waiting.partner_id if waiting is not None else None

    def _live(self, user_id: int) -> _Waiting | None:
        waiting = self._waiting.get(user_id)
        if waiting is not None and self._clock.monotonic() - waiting.since > PIN_WAIT_SECONDS:
            self._forget(user_id)
            return None
        return waiting

    def _forget(self, user_id: int) -> None:
        if self._waiting.pop(user_id, None) is not None:
            logs.pin_settled()

    async def start(self, user_id: int, partner_id: int) -> str:
        """The link where the partner's account allows the app (X then shows a PIN)."""
        handler = _Handler(self._key, self._secret, self._base_url, self._timeout)
        try:
            url = await asyncio.to_thread(handler.get_authorization_url)
        except TweepyException as exc:
            raise _failure(exc) from None
        self._forget(user_id)
        self._waiting[user_id] = _Waiting(partner_id, handler, self._clock.monotonic())
        logs.pin_awaited()
        return str(url)

    async def finish(self, user_id: int, pin: str) -> tuple[int, Tokens]:
        """Exchange the PIN: the partner it was asked for and its access token and secret.

        The request token is spent whatever X answers, as X spends it.
        """
        waiting = self._live(user_id)
        if waiting is None:
            raise PinNotAsked
        self._forget(user_id)
        logs.hide(pin)
        try:
            token, secret = await asyncio.to_thread(waiting.handler.get_access_token, pin)
        except TweepyException as exc:
            raise _failure(exc) from None
        logs.hide(token, secret)
        return waiting.partner_id, Tokens(str(token), str(secret))
