"""X's OAuth 1.0a PIN flow, by which another account lets the app post as it.

The three steps as X serves them: `POST /oauth/request_token` (signed with the app's keys
alone, `oauth_callback=oob`) answers a request token, form-encoded; a person opens
`GET /oauth/authorize?oauth_token=…`, signs in as their account and is shown a PIN (here
`authorize(token, username)` or the control API stands for that person); `POST
/oauth/access_token` (signed with the request token, carrying the PIN as `oauth_verifier`)
answers the account's access token and secret, its id and handle. A request token lives
`REQUEST_TOKEN_SECONDS` and is spent by its first exchange, right or wrong PIN; anything else
is X's 401. The access token then signs API calls as that account (`auth.py`).
"""

from __future__ import annotations

import html
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from aiohttp import web

from opsbot.emulators.base import LoggedRequest
from opsbot.emulators.x.auth import Auth

# X's request tokens expire within minutes if nobody authorises them.
REQUEST_TOKEN_SECONDS = 900.0
_NOT_AUTHENTICATED = '{"errors":[{"code":32,"message":"Could not authenticate you."}]}'


@dataclass
class _RequestToken:
    secret: str
    issued_at: float
    # Set when a person signs in and allows the app: their account and the PIN shown to them.
    user_id: str | None = None
    verifier: str | None = None


class OAuthFlow(Auth):
    """The PIN flow's endpoints; `XEmulator.__init__` sets the state."""

    _request_tokens: dict[str, _RequestToken]

    # --- in-process API ---

    def authorize(self, oauth_token: str, username: str) -> str:
        """`username` signs in on the authorisation page and allows the app: the PIN X shows."""
        request_token = self._live_request_token(oauth_token)
        uid = self._user_id_for(username)
        if request_token is None:
            raise KeyError("no such request token, or it expired")
        if uid is None:
            raise KeyError(f"no user @{username}")
        request_token.user_id = uid
        request_token.verifier = f"{secrets.randbelow(10**7):07d}"
        return request_token.verifier

    def access_tokens_of(self, username: str) -> list[str]:
        """The access tokens handed to the app for this account (the museum's own included)."""
        uid = self._user_id_for(username)
        return [token for token, (_s, owner) in self._access_tokens.items() if owner == uid]

    def revoke_access(self, username: str) -> int:
        """The account withdraws the app's access in its X settings: its tokens stop working,
        and X answers a request signed with one 401 as for any unknown token. How many."""
        revoked = self.access_tokens_of(username)
        for token in revoked:
            del self._access_tokens[token]
        return len(revoked)

    # --- HTTP ---

    def _live_request_token(self, token: str) -> _RequestToken | None:
        found = self._request_tokens.get(token)
        if found is None or self.clock() - found.issued_at > REQUEST_TOKEN_SECONDS:
            return None
        return found

    def _request_token_secret(self, token: str | None) -> str | None:
        found = self._live_request_token(token or "")
        return found.secret if found is not None else None

    def _log(self, endpoint: str, status: int) -> None:
        # Tokens, secrets and PINs stay out of the log.
        self.requests.append(
            LoggedRequest(at=self.clock(), endpoint=endpoint, params={}, status=status)
        )

    @staticmethod
    def _refused(message: str = _NOT_AUTHENTICATED) -> web.Response:
        return web.Response(status=401, text=message, content_type="application/json")

    async def _oauth_request_token(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        oauth = await self._signed(request, header, self._request_token_secret, needs_token=False)
        if oauth is None:
            self._log("oauth/request_token", 401)
            return self._refused()
        if oauth.get("oauth_callback") != "oob":
            # The app has no callback URL registered: only the PIN flow is open to it.
            self._log("oauth/request_token", 401)
            return self._refused(
                '{"errors":[{"code":417,"message":"Desktop applications only support the '
                "oauth_callback value 'oob'\"}]}"
            )
        token = secrets.token_urlsafe(24)
        self._request_tokens[token] = _RequestToken(secrets.token_urlsafe(30), self.clock())
        self._log("oauth/request_token", 200)
        await self.notify()
        body = urlencode(
            {
                "oauth_token": token,
                "oauth_token_secret": self._request_tokens[token].secret,
                "oauth_callback_confirmed": "true",
            }
        )
        return web.Response(text=body, content_type="text/html")

    async def _oauth_authorize(self, request: web.Request) -> web.Response:
        token = request.query.get("oauth_token", "")
        found = self._live_request_token(token)
        self._log("oauth/authorize", 200)
        if found is None:
            page = (
                "<html><body><h1>Whoa there!</h1><p>The request token for this page is "
                "invalid. It may have already been used, or expired because it is too old. "
                "Please go back to the site or application that sent you here and try "
                "again; it was probably just a mistake.</p></body></html>"
            )
        else:
            page = (
                "<html><body><h1>Authorize the app to access your account?</h1>"
                '<form method="post"><input type="hidden" name="oauth_token" value="'
                + html.escape(token)
                + '"><input type="submit" value="Authorize app"></form></body></html>'
            )
        return web.Response(text=page, content_type="text/html")

    async def _oauth_access_token(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        oauth = await self._signed(request, header, self._request_token_secret)
        if oauth is None:
            self._log("oauth/access_token", 401)
            return self._refused()
        # A request token is exchanged once, whatever the outcome.
        found = self._request_tokens.pop(oauth["oauth_token"])
        verifier = oauth.get("oauth_verifier")
        if verifier is None and request.content_type == "application/x-www-form-urlencoded":
            verifier = (await request.post()).get("oauth_verifier")  # type: ignore[assignment]
        if (
            found.verifier is None
            or found.user_id is None
            or not isinstance(verifier, str)
            or not secrets.compare_digest(verifier.encode(), found.verifier.encode())
        ):
            self._log("oauth/access_token", 401)
            return web.Response(
                status=401,
                text="Error processing your OAuth request: Invalid oauth_verifier parameter",
                content_type="text/plain",
            )
        access_token = f"{found.user_id}-{secrets.token_urlsafe(30)}"
        access_secret = secrets.token_urlsafe(32)
        self._access_tokens[access_token] = (access_secret, found.user_id)
        self._log("oauth/access_token", 200)
        await self.notify()
        body = urlencode(
            {
                "oauth_token": access_token,
                "oauth_token_secret": access_secret,
                "user_id": found.user_id,
                "screen_name": self._users[found.user_id]["username"],
            }
        )
        return web.Response(text=body, content_type="text/html")

    async def _control_authorize(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict) or not all(
            isinstance(body.get(key), str) for key in ("oauth_token", "username")
        ):
            return web.json_response(
                {"error": "oauth_token and username must be strings"}, status=400
            )
        try:
            verifier = self.authorize(body["oauth_token"], body["username"])
        except KeyError as exc:
            return web.json_response({"error": str(exc.args[0])}, status=404)
        return web.json_response({"data": {"oauth_verifier": verifier}})
