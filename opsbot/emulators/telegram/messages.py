"""Bot API methods that post, edit and delete messages, and that answer button presses.

A post or a change passes the flood-control gate (`limits`) once the request is valid, so a
refused request is not counted. An edit that changes nothing answers "message is not
modified"; a message older than 48 hours can no longer be deleted.
"""

from __future__ import annotations

import base64
import mimetypes
import re
from typing import Any

from opsbot.emulators.telegram.limits import (
    MAX_CALLBACK_ANSWER_LENGTH,
    MAX_CAPTION_LENGTH,
    MAX_TEXT_LENGTH,
    MAX_UPLOAD_BYTES,
    MESSAGE_EDIT_WINDOW,
    FloodControl,
)
from opsbot.emulators.telegram.markup import Markup
from opsbot.emulators.telegram.methods import Methods
from opsbot.emulators.telegram.wire import (
    JSON,
    ApiError,
    _as_int,
    _bad,
    _obj_bool,
    _obj_int,
    _Params,
)
from opsbot.emulators.telegram.world import _Chat, _File, _inline, _Message

QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


class Messages(Methods, Markup, FloodControl):
    """sendMessage, sendDocument, the edits, deleteMessage and answerCallbackQuery."""

    callback_timeout: float

    async def _send_message(self, params: _Params) -> JSON:
        raw_chat = self._require_chat_id(params)
        text_raw = params.string("text")
        if text_raw is None:
            raise _bad("message text is empty")
        text, entities = self._formatted(params, text_raw, "parse_mode", "entities")
        markup = self._reply_markup(params, inline_only=False)
        preview = self._link_preview(params)
        chat = self._sendable_chat(raw_chat, "text messages")
        if len(text) > MAX_TEXT_LENGTH:
            raise _bad("message is too long")
        reply_to, thread_id, is_topic = self._reply_target(params, chat)
        self._rate_gate(chat.id)
        message = self._store(
            chat, self.bot_id, text=text, entities=entities, reply_markup=markup,
            reply_to=reply_to, thread_id=thread_id, is_topic=is_topic,
        )  # fmt: skip
        message.link_preview_options = preview
        await self.notify()
        return self._message_json(message)

    async def _send_document(self, params: _Params) -> JSON:
        raw_chat = self._require_chat_id(params)
        reference = params.string("document")
        if reference is None:
            raise _bad("there is no document in the request")
        caption: str | None = None
        caption_entities: list[JSON] = []
        caption_raw = params.string("caption")
        if caption_raw:
            caption, caption_entities = self._formatted(
                params, caption_raw, "parse_mode", "caption_entities", allow_empty=True
            )
        markup = self._reply_markup(params, inline_only=False)
        chat = self._sendable_chat(raw_chat, "documents")
        if caption is not None and len(caption) > MAX_CAPTION_LENGTH:
            raise _bad("message caption is too long")
        stored = self._document(params, reference)
        reply_to, thread_id, is_topic = self._reply_target(params, chat)
        self._rate_gate(chat.id)
        message = self._store(
            chat, self.bot_id, document=stored, caption=caption or None,
            caption_entities=caption_entities if caption else [], reply_markup=markup,
            reply_to=reply_to, thread_id=thread_id, is_topic=is_topic,
        )  # fmt: skip
        await self.notify()
        return self._message_json(message)

    async def _edit_message_text(self, params: _Params) -> JSON:
        chat, message = self._editable_message(params)
        text_raw = params.string("text")
        if text_raw is None:
            raise _bad("message text is empty")
        text, entities = self._formatted(params, text_raw, "parse_mode", "entities")
        # Telegram drops the keyboard of a message edited without reply_markup.
        markup = self._reply_markup(params, inline_only=True)
        if message.text is None:
            raise _bad("there is no text in the message to edit")
        if len(text) > MAX_TEXT_LENGTH:
            raise _bad("message is too long")
        if (
            text == message.text
            and entities == message.entities
            and markup == _inline(message.reply_markup)
        ):
            raise ApiError(400, NOT_MODIFIED)
        self._rate_gate(chat.id)
        message.edit_history.append(message.text)
        message.text, message.entities = text, entities
        message.reply_markup = markup
        message.edit_date = int(self.clock())
        if params.has("link_preview_options"):
            message.link_preview_options = self._link_preview(params)
        await self.notify()
        return self._message_json(message)

    async def _edit_message_reply_markup(self, params: _Params) -> JSON:
        chat, message = self._editable_message(params)
        markup = self._reply_markup(params, inline_only=True)
        if markup == _inline(message.reply_markup):
            raise ApiError(400, NOT_MODIFIED)
        self._rate_gate(chat.id)
        message.reply_markup = markup
        message.edit_date = int(self.clock())
        await self.notify()
        return self._message_json(message)

    async def _delete_message(self, params: _Params) -> bool:
        raw_chat = self._require_chat_id(params)
        message_id = params.integer("message_id", error="message identifier is not specified")
        chat = self._bot_chat(raw_chat)
        message = chat.messages.get(message_id or 0)
        if message is None or message.deleted:
            raise _bad("message to delete not found")
        if "forum_topic_created" in message.service or "migrate_from_chat_id" in message.service:
            raise _bad("message can't be deleted")
        if self.clock() - message.date > MESSAGE_EDIT_WINDOW:
            raise _bad("message can't be deleted")
        if message.from_id != self.bot_id and chat.type != "private":
            bot = chat.members[self.bot_id]
            may = bot.status == "creator" or (
                bot.status == "administrator"
                and (chat.type == "group" or bot.rights.get("can_delete_messages", False))
            )
            if not may:
                raise _bad("message can't be deleted")
        message.deleted = True
        await self.notify()
        return True

    async def _answer_callback_query(self, params: _Params) -> bool:
        query_id = params.string("callback_query_id")
        text = params.string("text")
        if text is not None and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise _bad("MESSAGE_TOO_LONG")
        url = params.string("url")
        # Only a deep link into this bot: a start payload is 1-64 of A-Z, a-z, 0-9, _ and -.
        if url is not None and not re.fullmatch(
            rf"(https?://)?t\.me/{re.escape(self.bot_username)}\?start=[A-Za-z0-9_-]{{1,64}}",
            url,
            flags=re.IGNORECASE | re.ASCII,
        ):
            raise _bad("URL_INVALID")
        query = self.callback_queries.get(query_id or "")
        now = self.clock()
        if query is None or query.answered or now - query.created_at > self.callback_timeout:
            raise ApiError(400, QUERY_TOO_OLD)
        query.answered = True
        self.callback_answers[query.id] = {
            "text": text,
            "show_alert": params.boolean("show_alert"),
            "url": url,
            "cache_time": params.integer("cache_time") or 0,
            "answered_at": now,
        }
        await self.notify()
        return True

    def _sendable_chat(self, raw: Any, what: str) -> _Chat:
        chat = self._bot_chat(raw)
        member = chat.members.get(self.bot_id)
        if member is not None and member.status == "restricted":
            right = "can_send_documents" if what == "documents" else "can_send_messages"
            if not member.rights.get(right, False):
                raise _bad(f"not enough rights to send {what} to the chat")
        return chat

    def _editable_message(self, params: _Params) -> tuple[_Chat, _Message]:
        if params.has("inline_message_id"):
            raise _bad("MESSAGE_ID_INVALID")
        raw_chat = self._require_chat_id(params)
        message_id = params.integer("message_id", error="message identifier is not specified")
        if message_id is None:
            raise _bad("message identifier is not specified")
        chat = self._bot_chat(raw_chat)
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise _bad("message to edit not found")
        if message.from_id != self.bot_id or message.service:
            raise _bad("message can't be edited")
        return chat, message

    def _reply_target(self, params: _Params, chat: _Chat) -> tuple[int | None, int | None, bool]:
        """(reply_to, message_thread_id, is_topic_message) for a message the bot sends."""
        reply_to: int | None = None
        allow_without = params.boolean("allow_sending_without_reply")
        raw = params.json_value("reply_parameters", "can't parse reply parameters JSON object")
        if raw is not None:
            if not isinstance(raw, dict):
                raise _bad("can't parse reply parameters JSON object")
            reply_to = _obj_int(raw, "message_id", required=True)
            target_chat = raw.get("chat_id")
            if target_chat is not None and _as_int(target_chat) != chat.id:
                raise _bad("message to be replied not found")
            allow_without = bool(_obj_bool(raw, "allow_sending_without_reply"))
        elif params.has("reply_to_message_id"):
            reply_to = params.integer("reply_to_message_id")
        if reply_to is not None:
            target = chat.messages.get(reply_to)
            if target is None or target.deleted:
                if not allow_without:
                    raise _bad("message to be replied not found")
                reply_to = None
        requested = params.integer("message_thread_id")
        try:
            thread_id, is_topic = self._thread_for(chat, reply_to, requested)
        except ValueError:
            raise _bad("message thread not found") from None
        if self._topic_closed_to(chat, thread_id, self.bot_id):
            raise _bad("TOPIC_CLOSED")
        return reply_to, thread_id, is_topic

    def _document(self, params: _Params, reference: str) -> _File:
        if reference.startswith("attach://"):
            upload = params.files.get(reference.removeprefix("attach://"))
            if upload is None:
                raise _bad("there is no document in the request")
            if not upload.content:
                raise _bad("file must be non-empty")
            if len(upload.content) > MAX_UPLOAD_BYTES:
                raise ApiError(413, "Request Entity Too Large")
            number = next(self._ids)
            name = upload.filename or f"file_{number}"
            mime = (
                mimetypes.guess_type(name)[0] or upload.content_type or "application/octet-stream"
            )
            extension = name.rsplit(".", 1)[-1] if "." in name else "bin"
            stored = _File(
                file_id=f"BQACAgIAAxkBAAI{number:06d}" + base64.b32encode(
                    number.to_bytes(5, "big")).decode().lower(),
                file_unique_id=f"AgAD{number:06d}",
                file_name=name,
                mime_type=mime,
                content=upload.content,
                file_path=f"documents/file_{number}.{extension}",
            )  # fmt: skip
            self.files[stored.file_id] = stored
            return stored
        if reference in self.files:
            return self.files[reference]
        if re.match(r"https?://", reference, flags=re.IGNORECASE):
            # The emulator has no network: fetching a URL fails as an unreachable host would.
            raise _bad("failed to get HTTP URL content")
        raise _bad("wrong file identifier/HTTP URL specified")
