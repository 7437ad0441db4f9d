"""Who is calling: the app, by its bearer token, or the museum's account, by OAuth 1.0a.

Signatures are verified against the URL the client signed (`https://api.twitter.com/...`), not
the loopback one; a timestamp off by more than five minutes and a replayed nonce are refused.
Keys are compared in constant time.
"""

from __future__ import annotations

import hmac
import time
import types
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
    """Authenticates a request; `XEmulator.__init__` sets the keys."""

    _bearer_token: str
    _api_key: str
    _api_secret: str
    _access_token: str
    _access_token_secret: str
    _nonces: dict[str, float]

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
