"""The control API: plain JSON over HTTP for `opsbot sandbox` and the demo.

The endpoints are documented in the package's docstring (`pydoc opsbot.emulators.x`). No auth
and no rate limits; a refusal is `{"error": "<why>"}` with status 400 or 404.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from aiohttp import web

from opsbot.emulators.base import Fault
from opsbot.emulators.x.limits import DEFAULT_LIMITS, Limits
from opsbot.emulators.x.world import World


class ControlApi(World, Limits):
    """The ``/control/...`` endpoints."""

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
