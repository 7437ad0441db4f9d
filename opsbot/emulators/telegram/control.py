"""The control API: plain JSON over HTTP that lets `opsbot sandbox` and the demo play the people.

The endpoints are documented in the package's docstring (`pydoc opsbot.emulators.telegram`);
each calls the same `People` method a test calls, so the two ways in cannot drift apart.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from aiohttp import web

from opsbot.emulators.base import Fault
from opsbot.emulators.telegram.limits import FloodControl
from opsbot.emulators.telegram.people import People
from opsbot.emulators.telegram.wire import JSON, _dumps


class ControlApi(People, FloodControl):
    """The ``/control/...`` endpoints."""

    async def _control(self, request: web.Request, action: Callable[[JSON], Any]) -> web.Response:
        try:
            body = await request.json() if request.can_read_body else {}
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            result = action(body)
        except (ValueError, KeyError, TypeError) as error:
            message = str(error) if not isinstance(error, KeyError) else f"missing {error}"
            return web.json_response({"ok": False, "description": message}, status=400,
                                     dumps=_dumps)  # fmt: skip
        return web.json_response({"ok": True, "result": result}, dumps=_dumps)

    async def _control_users(self, request: web.Request) -> web.Response:
        return await self._control(
            request,
            lambda b: self.add_user(
                int(b["user_id"]), str(b["first_name"]), username=b.get("username"),
                last_name=b.get("last_name"), language_code=b.get("language_code", "ru"),
                is_bot=bool(b.get("is_bot", False)),
            ),
        )  # fmt: skip

    async def _control_groups(self, request: web.Request) -> web.Response:
        return await self._control(
            request,
            lambda b: self.add_group(
                int(b["chat_id"]), str(b["title"]), supergroup=bool(b.get("supergroup", True)),
                forum=bool(b.get("forum", False)),
            ),
        )  # fmt: skip

    async def _control_members(self, request: web.Request) -> web.Response:
        def act(body: JSON) -> JSON:
            chat_id, user_id = int(body["chat_id"]), int(body["user_id"])
            status = str(body.get("status", "member"))
            if user_id == self.bot_id and body.get("by_user_id") is not None:
                self.add_bot_to_group(chat_id, int(body["by_user_id"]), status=status)
            else:
                self.add_member(chat_id, user_id, status, rights=body.get("rights"))
            return {"chat_id": chat_id, "user_id": user_id, "status": status}

        return await self._control(request, act)

    async def _control_migrate(self, request: web.Request) -> web.Response:
        return await self._control(
            request,
            lambda b: {"migrate_to_chat_id": self.migrate_group(
                int(b["chat_id"]), by_user_id=b.get("by_user_id"))},
        )  # fmt: skip

    async def _control_topics(self, request: web.Request) -> web.Response:
        return await self._control(
            request,
            lambda b: {"message_thread_id": self.add_topic(
                int(b["chat_id"]), str(b["name"]), by_user_id=int(b["by_user_id"]))},
        )  # fmt: skip

    async def _control_topic(self, request: web.Request) -> web.Response:
        change = {
            "close": self.close_topic, "reopen": self.reopen_topic, "delete": self.delete_topic,
        }[request.match_info["action"]]  # fmt: skip

        def act(body: JSON) -> bool:
            change(int(body["chat_id"]), int(body["message_thread_id"]),
                   by_user_id=int(body["by_user_id"]))  # fmt: skip
            return True

        return await self._control(request, act)

    async def _control_messages(self, request: web.Request) -> web.Response:
        return await self._control(
            request,
            lambda b: self.user_sends(
                int(b["chat_id"]), int(b["user_id"]), str(b["text"]),
                reply_to_message_id=b.get("reply_to_message_id"),
                message_thread_id=b.get("message_thread_id"),
            ),
        )  # fmt: skip

    async def _control_press(self, request: web.Request) -> web.Response:
        return await self._control(
            request,
            lambda b: {"query_id": self.user_presses(
                int(b["chat_id"]), int(b["user_id"]), int(b["message_id"]),
                str(b["callback_data"]), forge=bool(b.get("forge", False)))},
        )  # fmt: skip

    async def _control_add_fault(self, request: web.Request) -> web.Response:
        def act(body: JSON) -> bool:
            self.inject_fault(Fault(**body))
            return True

        return await self._control(request, act)

    async def _control_clear_faults(self, request: web.Request) -> web.Response:
        self.faults.clear()
        return web.json_response({"ok": True, "result": True})

    async def _control_chat(self, request: web.Request) -> web.Response:
        def act(_body: JSON) -> list[JSON]:
            thread = request.query.get("thread_id")
            view = self.chat_view(
                int(request.match_info["chat_id"]),
                thread_id=int(thread) if thread else None,
                include_deleted=request.query.get("include_deleted", "") in ("1", "true"),
            )
            for entry in view:
                document = entry["document"]
                if document is not None:
                    content = document.pop("content")
                    document["content_base64"] = base64.b64encode(content).decode()
            return view

        return await self._control(request, act)

    async def _control_menu(self, request: web.Request) -> web.Response:
        def act(_body: JSON) -> list[JSON]:
            try:
                chat_id = int(request.query["chat_id"])
                user_id = int(request.query["user_id"])
            except (KeyError, ValueError):
                raise ValueError("chat_id and user_id are required integers") from None
            return self.menu_for(chat_id, user_id)

        return await self._control(request, act)

    async def _control_requests(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"ok": True, "result": [asdict(r) for r in self.requests]}, dumps=_dumps
        )

    async def _control_state(self, request: web.Request) -> web.Response:
        state = {
            "violations": self.violations,
            "callback_answers": self.callback_answers,
            "commands": [
                {"scope": scope, "language_code": lang, "commands": commands}
                for (scope, lang), commands in self.commands.items()
            ],
            "left_chats": sorted(self.left_chats),
            "pending_updates": self.pending_updates(),
        }
        return web.json_response({"ok": True, "result": state}, dumps=_dumps)
