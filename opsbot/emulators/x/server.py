"""The X API over HTTP: who calls, the account's state, the rate limit, faults, the operation.

Every call is logged, then refused in X's order: 401; an app not enrolled (403) or out of
credits (402); app-only authentication on a user-only operation, or a user's on an app-only
one (403); the rate limit (429). A read that answers is billed as X bills it (`usage.py`).
A fault's `delay` holds the answer back; stopping the emulator cuts it short with a 503.
Every answer that hands out posts is written down in `reads` (X bills each post read), and so
is an answer a fault then loses: X charged for it all the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from opsbot.emulators.base import Fault, LoggedRequest
from opsbot.emulators.x.auth import Auth, _Identity
from opsbot.emulators.x.limits import APP_ONLY, USER_ONLY, Limits
from opsbot.emulators.x.operations import Operations
from opsbot.emulators.x.problems import (
    APP_CLIENT_ID,
    APP_ONLY_AUTH_DETAIL,
    PROBLEMS,
    UNSUPPORTED_AUTH_DETAIL,
    _about_blank,
    _ApiError,
    _credits_depleted,
    _not_enrolled,
)
from opsbot.emulators.x.usage import Usage

ApiHandler = Callable[[web.Request, _Identity], Awaitable[tuple[int, dict[str, Any]]]]
# The operations that answer with posts: each post in an answer is a post read.
READ_OPERATIONS = frozenset(
    {"getUsersMentions", "getUsersPosts", "searchPostsRecent", "getPostsById", "getPostsByIds"}
)


@dataclass(frozen=True)
class PostsRead:
    """The posts one answer handed out: `post_ids` in its data, `included_ids` expanded into
    `includes.tweets` (a referenced post, which X bills as a read too)."""

    at: float
    endpoint: str
    post_ids: tuple[str, ...]
    included_ids: tuple[str, ...] = ()

    def count(self) -> int:
        return len(self.post_ids) + len(self.included_ids)


def _posts_in(body: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    data = body.get("data")
    items = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
    included = (body.get("includes") or {}).get("tweets") or []
    return (
        tuple(str(item["id"]) for item in items if isinstance(item, dict) and "id" in item),
        tuple(str(item["id"]) for item in included if isinstance(item, dict) and "id" in item),
    )


class Server(Operations, Usage, Auth, Limits):
    """Serves an X operation; `XEmulator` routes the paths to it."""

    _stopping: asyncio.Event
    reads: list[PostsRead]

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
            if (op in USER_ONLY and identity.kind == "app") or (
                op in APP_ONLY and identity.kind == "user"
            ):
                raise _ApiError(
                    403,
                    {
                        "title": "Unsupported Authentication",
                        "detail": APP_ONLY_AUTH_DETAIL
                        if op in APP_ONLY
                        else UNSUPPORTED_AUTH_DETAIL,
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
            if op in READ_OPERATIONS and status == 200:
                ids, included = _posts_in(body)
                if ids or included:
                    self.reads.append(PostsRead(self.clock(), op, ids, included))
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
        if status == 200 and isinstance(body, dict):
            data = body.get("data")
            entry.returned = len(data) if isinstance(data, list) else int(isinstance(data, dict))
        self._bill(op, status, body)
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
