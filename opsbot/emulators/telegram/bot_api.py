"""The Bot API over HTTP: ``/bot<token>/<method>`` and ``/file/bot<token>/<file_path>``.

A call is logged (its parameters; the token lives only in the URL), refused first if a
retry_after binds it, given an injected fault if one is pending, then handed to its method.
A crash answers 500 as Telegram would and logs the method's name, never the URL.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from opsbot.emulators.base import Fault, LoggedRequest
from opsbot.emulators.telegram.limits import COUNTED_METHODS
from opsbot.emulators.telegram.messages import Messages
from opsbot.emulators.telegram.wire import JSON, ApiError, _bad, _dumps, _loggable, _Params, _Upload

log = logging.getLogger(__name__)

Handler = Callable[[_Params], Awaitable[Any]]


class BotApi(Messages):
    """Routes a Bot API request to its method, with flood control and injected faults."""

    _token: str
    _methods: dict[str, tuple[str, Handler]]

    async def _serve_api(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        name = request.match_info["method"]
        entry = self._methods.get(name.lower())
        endpoint = entry[0] if entry else name
        if token != self._token:
            if re.fullmatch(r"\d+:[\w-]+", token):
                return self._reply(ApiError(401, "Unauthorized"), endpoint, {})
            return self._reply(ApiError(404, "Not Found"), endpoint, {})
        try:
            params = await self._read_params(request)
        except ApiError as error:
            return self._reply(error, endpoint, {})
        logged = LoggedRequest(at=self.clock(), endpoint=endpoint, params=_loggable(params))
        self.requests.append(logged)
        if entry is None:
            return self._finish(logged, ApiError(404, "Not Found"))
        canonical, handler = entry
        if canonical in COUNTED_METHODS:
            try:
                self._check_penalty(canonical, params.raw("chat_id"))
            except ApiError as error:
                return self._finish(logged, error)

        fault = self.faults.take(canonical)
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.status and not fault.accept:
            return self._finish(logged, self._fault_error(fault, canonical))
        try:
            result = await handler(params)
        except ApiError as error:
            return self._finish(logged, error)
        except Exception:
            # The bot sees what Telegram shows when it breaks; the traceback names the method
            # only, never the URL, which carries the token.
            log.exception("the Telegram emulator failed on %s", canonical)
            return self._finish(logged, ApiError(500, "Internal Server Error"))
        if fault is not None and fault.status:
            return self._finish(logged, self._fault_error(fault, canonical))
        return self._finish(logged, result)

    def _finish(self, logged: LoggedRequest, outcome: Any) -> web.StreamResponse:
        response = self._reply(outcome, logged.endpoint, logged.params)
        logged.status = response.status
        return response

    def _reply(self, outcome: Any, endpoint: str, params: JSON) -> web.StreamResponse:
        if isinstance(outcome, web.StreamResponse):
            return outcome
        if isinstance(outcome, ApiError):
            body: JSON = {
                "ok": False,
                "error_code": outcome.status,
                "description": outcome.description,
            }
            if outcome.parameters:
                body["parameters"] = outcome.parameters
            return web.json_response(body, status=outcome.status, dumps=_dumps)
        return web.json_response({"ok": True, "result": outcome}, dumps=_dumps)

    def _fault_error(self, fault: Fault, method: str) -> ApiError | web.Response:
        status = fault.status
        if status == 429:
            retry_after = max(1, int(fault.retry_after or 1))
            if method in COUNTED_METHODS:
                # A real 429 binds the whole bot: later counted calls are violations too.
                until = self.clock() + retry_after
                self._penalties[None] = max(self._penalties.get(None, 0.0), until)
            return ApiError(
                429,
                fault.description or f"Too Many Requests: retry after {retry_after}",
                {"retry_after": retry_after},
            )
        if status in (502, 503, 504) and not fault.description:
            # Telegram's front end answers these with an nginx page, not JSON.
            phrase = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Time-out"}
            html = (
                f"<html>\r\n<head><title>{status} {phrase[status]}</title></head>\r\n<body>\r\n"
                f"<center><h1>{status} {phrase[status]}</h1></center>\r\n"
                "<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n"
            )
            return web.Response(status=status, text=html, content_type="text/html")
        default = {
            400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            409: "Conflict", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable", 504: "Gateway Timeout",
        }  # fmt: skip
        description = fault.description or default.get(status, "Error")
        parameters = {"retry_after": fault.retry_after} if fault.retry_after else None
        return ApiError(status, description, parameters)

    async def _read_params(self, request: web.Request) -> _Params:
        values: dict[str, Any] = dict(request.query)
        files: dict[str, _Upload] = {}
        if request.method == "POST" and request.can_read_body:
            content_type = request.content_type
            if content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise _bad("can't parse JSON encoded request") from None
                if not isinstance(body, dict):
                    raise _bad("can't parse JSON encoded request")
                values.update(body)
            elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                try:
                    form = await request.post()
                except web.HTTPRequestEntityTooLarge:
                    raise ApiError(413, "Request Entity Too Large") from None
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        content = value.file.read()
                        files[key] = _Upload(value.filename, value.content_type, content)
                        values[key] = f"attach://{key}"
                    else:
                        values[key] = value
        return _Params(values, files)

    async def _serve_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self._token:
            return web.Response(status=404, text="Not Found")
        path = request.match_info["path"]
        for stored in self.files.values():
            if stored.file_path == path:
                return web.Response(body=stored.content, content_type=stored.mime_type)
        return web.Response(status=404, text="Not Found")
