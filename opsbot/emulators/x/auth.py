"""Who is calling: the app, by its bearer token, or an account, by OAuth 1.0a: the museum's
own, or one that authorised the app through the PIN flow.

Signatures are verified against the URL the client signed (`https://api.twitter.com/...`), not
the loopback one; a timestamp off by more than five minutes and a replayed nonce are refused.
Keys are compared in constant time.
"""

from __future__ import annotations

import hmac
import time
import types
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from oauthlib.oauth1.rfc5849 import signature as oauth_signature  # type: ignore[import-untyped]
from oauthlib.oauth1.rfc5849 import utils as oauth_utils

from opsbot.emulators.x.problems import _about_blank, _ApiError
from opsbot.emulators.x.world import World

OAUTH_SKEW = 300.0
# The hosts tweepy and other clients sign for; the emulator itself is reached at another one.
SIGNED_HOSTS = ("api.twitter.com", "api.x.com")


@dataclass(frozen=True)
class _Identity:
    kind: str  # "app" (bearer token) or "user" (OAuth 1.0a)
    user_id: str


class Auth(World):
    """Authenticates a request; `XEmulator.__init__` sets the keys.

    Access tokens are the museum's own (set at start) and those handed out by the PIN flow
    (`oauth.py`): each signs as its own account.
    """

    _bearer_token: str
    _api_key: str
    _api_secret: str
    # access token -> (its secret, the account it acts for)
    _access_tokens: dict[str, tuple[str, str]]
    _nonces: dict[str, float]

    async def _authenticate(self, request: web.Request) -> _Identity:
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            if hmac.compare_digest(header[7:].encode(), self._bearer_token.encode()):
                return _Identity("app", "")
        elif header[:6].lower() == "oauth ":
            oauth = await self._signed(request, header, self._access_secret)
            if oauth is not None:
                return _Identity("user", self._access_tokens[oauth["oauth_token"]][1])
        raise _ApiError(401, _about_blank(401))

    def _access_secret(self, token: str | None) -> str | None:
        known = self._access_tokens.get(token or "")
        return known[0] if known is not None else None

    async def _signed(
        self,
        request: web.Request,
        header: str,
        token_secret: Callable[[str | None], str | None],
        *,
        needs_token: bool = True,
    ) -> dict[str, str] | None:
        """The request's OAuth parameters when its signature holds, else None.

        `token_secret` gives the secret of the token it names (None: no such token); a
        request for a request token (`needs_token=False`) is signed with the app's secret alone.
        """
        try:
            oauth = {
                k: oauth_utils.unescape(v)
                for k, v in oauth_utils.parse_authorization_header(header)
            }
        except ValueError:
            return None
        needed = (
            "oauth_consumer_key",
            "oauth_signature_method",
            "oauth_timestamp",
            "oauth_nonce",
            "oauth_signature",
        ) + (("oauth_token",) if needs_token else ())
        if any(name not in oauth for name in needed):
            return None
        if (
            oauth["oauth_signature_method"] != "HMAC-SHA1"
            or oauth.get("oauth_version", "1.0") != "1.0"
        ):
            return None
        if not hmac.compare_digest(oauth["oauth_consumer_key"].encode(), self._api_key.encode()):
            return None
        secret = token_secret(oauth.get("oauth_token")) if needs_token else ""
        if secret is None:
            return None
        # The client stamps wall-clock time, whatever clock the emulator's windows run on.
        now = time.time()
        try:
            stamp = int(oauth["oauth_timestamp"])
        except ValueError:
            return None
        if abs(now - stamp) > OAUTH_SKEW:
            return None
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
            client_secret=self._api_secret, resource_owner_secret=secret
        )
        for host in SIGNED_HOSTS:
            uri = oauth_signature.base_string_uri(f"https://{host}{request.rel_url.raw_path}")
            base = oauth_signature.signature_base_string(request.method, uri, normalized)
            expected = oauth_signature.sign_hmac_sha1_with_client(base, secrets)
            if hmac.compare_digest(expected.encode(), oauth["oauth_signature"].encode()):
                break
        else:
            return None
        for nonce, seen in list(self._nonces.items()):
            if now - seen > 2 * OAUTH_SKEW:
                del self._nonces[nonce]
        replay_key = f"{oauth['oauth_nonce']}:{stamp}"
        if replay_key in self._nonces:
            return None  # a replayed request, as X refuses it
        self._nonces[replay_key] = now
        return oauth
