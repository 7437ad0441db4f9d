"""The emulated world: users, chats, members, messages, topics, files and the bot's updates.

The records are plain dataclasses; `World` keeps them, with the rules every path shares: who is
an active member, which thread a message belongs to, what a bot in privacy mode receives, how an
update is queued (or dropped when the bot did not ask for its kind), and how each record looks
as Bot API JSON. Every change wakes the long poll and everyone in `wait_for` (`_touch`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field

from opsbot.emulators.base import EmulatorServer
from opsbot.emulators.telegram.limits import CALLBACK_UPDATE_TTL, PENDING_UPDATE_TTL
from opsbot.emulators.telegram.wire import JSON

# Without allowed_updates Telegram sends everything except these.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

MEMBER_STATUSES = ("creator", "administrator", "member", "restricted", "left", "kicked")
_ACTIVE_STATUSES = frozenset({"creator", "administrator", "member", "restricted"})
_ADMIN_RIGHTS = (
    "can_manage_chat", "can_delete_messages", "can_manage_video_chats", "can_restrict_members",
    "can_promote_members", "can_change_info", "can_invite_users", "can_post_stories",
    "can_edit_stories", "can_delete_stories",
)  # fmt: skip
_SUPERGROUP_ADMIN_RIGHTS = ("can_pin_messages", "can_manage_topics")
_RESTRICTED_RIGHTS = (
    "can_send_messages", "can_send_audios", "can_send_documents", "can_send_photos",
    "can_send_videos", "can_send_video_notes", "can_send_voice_notes", "can_send_polls",
    "can_send_other_messages", "can_add_web_page_previews", "can_react_to_messages",
    "can_edit_tag", "can_change_info", "can_invite_users", "can_pin_messages",
    "can_manage_topics",
)  # fmt: skip
_TOPIC_COLOR = 0x6FB9F0


@dataclass
class _File:
    file_id: str
    file_unique_id: str
    file_name: str
    mime_type: str
    content: bytes
    file_path: str


@dataclass
class _Member:
    status: str
    rights: dict[str, bool] = field(default_factory=dict)
    until_date: int = 0


@dataclass
class _Message:
    message_id: int
    chat_id: int
    from_id: int
    date: int
    text: str | None = None
    entities: list[JSON] = field(default_factory=list)
    caption: str | None = None
    caption_entities: list[JSON] = field(default_factory=list)
    document: _File | None = None
    reply_markup: JSON | None = None
    reply_to: int | None = None
    thread_id: int | None = None
    is_topic_message: bool = False
    edit_date: int | None = None
    edit_history: list[str] = field(default_factory=list)
    deleted: bool = False
    service: JSON = field(default_factory=dict)
    link_preview_options: JSON | None = None
    # When it was stored, to the microsecond (`date` is whole seconds, as Telegram sends it).
    sent_at: float = 0.0


@dataclass
class _Topic:
    name: str
    icon_color: int
    created_by: int
    closed: bool = False


@dataclass
class _Chat:
    id: int
    type: str
    title: str | None = None
    is_forum: bool = False
    user_id: int | None = None
    members: dict[int, _Member] = field(default_factory=dict)
    messages: dict[int, _Message] = field(default_factory=dict)
    next_message_id: int = 1
    migrated_to: int | None = None
    started: bool = False
    blocked: bool = False
    topics: dict[int, _Topic] = field(default_factory=dict)


@dataclass
class _Query:
    id: str
    chat_id: int
    message_id: int
    user_id: int
    data: str
    created_at: float
    answered: bool = False


@dataclass
class _Update:
    update_id: int
    kind: str
    payload: JSON
    expires_at: float


class _Poll:
    """One pending getUpdates; a newer one terminates it, as on Telegram."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.terminated = False


class World(EmulatorServer):
    """The world's records and the plumbing every change goes through.

    `TelegramEmulator.__init__` sets the attributes.
    """

    bot_id: int
    bot_username: str
    bot_user: JSON
    privacy_mode: bool
    users: dict[int, JSON]
    chats: dict[int, _Chat]
    files: dict[str, _File]
    callback_queries: dict[str, _Query]
    callback_answers: dict[str, JSON]
    commands: dict[tuple[str, str], list[JSON]]
    left_chats: set[int]
    _updates: list[_Update]
    _next_update_id: int
    _allowed_updates: frozenset[str] | None
    _poll: _Poll | None
    _closing: bool
    _ids: itertools.count[int]
    _tasks: set[asyncio.Task[None]]

    # --- the world's plumbing -------------------------------------------------------------------

    def _user(self, user_id: int) -> JSON:
        user = self.users.get(user_id)
        if user is None:
            raise ValueError(f"no user {user_id}: add_user first")
        return user

    def _group(self, chat_id: int) -> _Chat:
        chat = self.chats.get(chat_id)
        if chat is None or chat.type == "private":
            raise ValueError(f"no group {chat_id}: add_group first")
        return chat

    def _active_member(self, chat: _Chat, user_id: int) -> _Member:
        self._user(user_id)
        member = chat.members.get(user_id)
        if member is None or member.status not in _ACTIVE_STATUSES:
            raise ValueError(f"user {user_id} is not a member of chat {chat.id}")
        if member.status == "restricted" and not member.rights.get("is_member", True):
            raise ValueError(f"user {user_id} is not a member of chat {chat.id}")
        return member

    def _private_chat(self, user_id: int) -> _Chat:
        chat = self.chats.get(user_id)
        if chat is None:
            chat = _Chat(id=user_id, type="private", user_id=user_id)
            self.chats[user_id] = chat
        return chat

    def _member(self, chat: _Chat, status: str, rights: dict[str, bool] | None) -> _Member:
        granted: dict[str, bool] = {}
        if status == "administrator":
            granted = {right: right != "can_promote_members" for right in _ADMIN_RIGHTS}
            if chat.type == "supergroup":
                granted.update({right: True for right in _SUPERGROUP_ADMIN_RIGHTS})
                granted["can_manage_topics"] = chat.is_forum
        elif status == "restricted":
            granted = {right: False for right in _RESTRICTED_RIGHTS}
            granted["is_member"] = True
        granted.update(rights or {})
        return _Member(status, granted)

    def _create_topic(self, chat: _Chat, creator: int, name: str, color: int) -> int:
        note = self._store(chat, creator, service={"forum_topic_created": {"name": name,
                           "icon_color": color}})  # fmt: skip
        note.thread_id = note.message_id
        note.is_topic_message = True
        chat.topics[note.message_id] = _Topic(name, color, creator)
        if creator != self.bot_id and self._bot_receives(chat, note):
            self._queue("message", self._message_json(note))
        else:
            self._touch()
        return note.message_id

    def _store(
        self,
        chat: _Chat,
        from_id: int,
        *,
        text: str | None = None,
        entities: list[JSON] | None = None,
        caption: str | None = None,
        caption_entities: list[JSON] | None = None,
        document: _File | None = None,
        reply_markup: JSON | None = None,
        reply_to: int | None = None,
        thread_id: int | None = None,
        is_topic: bool = False,
        service: JSON | None = None,
    ) -> _Message:
        message = _Message(
            message_id=chat.next_message_id, chat_id=chat.id, from_id=from_id,
            date=int(self.clock()), text=text, entities=list(entities or []), caption=caption,
            caption_entities=list(caption_entities or []), document=document,
            reply_markup=reply_markup, reply_to=reply_to, thread_id=thread_id,
            is_topic_message=is_topic, service=dict(service or {}), sent_at=self.clock(),
        )  # fmt: skip
        chat.next_message_id += 1
        chat.messages[message.message_id] = message
        return message

    def _bot_receives(self, chat: _Chat, message: _Message) -> bool:
        if chat.type == "private":
            return not chat.blocked
        bot = chat.members.get(self.bot_id)
        if bot is None or bot.status not in _ACTIVE_STATUSES:
            return False
        if message.service or not self.privacy_mode or bot.status in ("creator", "administrator"):
            return True
        # Privacy mode: commands, and replies to the bot's own messages.
        if message.reply_to is not None:
            target = chat.messages.get(message.reply_to)
            if target is not None and target.from_id == self.bot_id:
                return True
        text = message.text or ""
        command = next(
            (e for e in message.entities if e["type"] == "bot_command" and e["offset"] == 0), None
        )
        if command is None:
            return False
        addressed = text[: command["length"]].partition("@")[2]
        return not addressed or addressed.lower() == self.bot_username.lower()

    def _queue(self, kind: str, payload: JSON) -> None:
        allowed = self._allowed_updates
        if allowed is None:
            if kind in _OPT_IN_UPDATES:
                return self._touch()
        elif kind not in allowed:
            return self._touch()
        ttl = CALLBACK_UPDATE_TTL if kind == "callback_query" else PENDING_UPDATE_TTL
        self._updates.append(_Update(self._next_update_id, kind, payload, self.clock() + ttl))
        self._next_update_id += 1
        self._touch()
        return None

    def _queue_my_chat_member(self, chat: _Chat, by: int, old: _Member, new: _Member) -> None:
        self._queue(
            "my_chat_member",
            {
                "chat": self._chat_json(chat),
                "from": dict(self.users[by]),
                "date": int(self.clock()),
                "old_chat_member": self._member_json(chat, self.bot_id, old),
                "new_chat_member": self._member_json(chat, self.bot_id, new),
            },
        )

    def _live_updates(self) -> list[_Update]:
        now = self.clock()
        return [u for u in self._updates if u.expires_at > now]

    def _update_json(self, update: _Update) -> JSON:
        return {"update_id": update.update_id, update.kind: update.payload}

    def _touch(self) -> None:
        """Wake the long poll and everyone in wait_for (also from synchronous world methods)."""
        if self._poll is not None:
            self._poll.event.set()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = loop.create_task(self.notify())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _manages_topics(self, chat: _Chat, user_id: int) -> bool:
        member = chat.members.get(user_id)
        return member is not None and (
            member.status == "creator"
            or (member.status == "administrator" and member.rights.get("can_manage_topics", False))
        )

    def _topic_closed_to(self, chat: _Chat, thread_id: int | None, user_id: int) -> bool:
        topic = chat.topics.get(thread_id) if thread_id is not None else None
        return topic is not None and topic.closed and not self._manages_topics(chat, user_id)

    def _thread_for(
        self, chat: _Chat, reply_to: int | None, requested: int | None
    ) -> tuple[int | None, bool]:
        target = chat.messages.get(reply_to) if reply_to is not None else None
        if reply_to is not None and (target is None or target.deleted):
            raise ValueError(f"no message {reply_to} in chat {chat.id}")
        if chat.is_forum:
            thread = requested
            if thread is None and target is not None:
                thread = target.thread_id
            if thread is None:
                return None, False  # the General topic
            if thread not in chat.topics:
                raise ValueError(f"no topic {thread} in chat {chat.id}")
            if target is not None and target.thread_id != thread:
                raise ValueError("the replied message is in another topic")
            return thread, True
        if requested is not None:
            if chat.type != "supergroup" or requested not in chat.messages:
                raise ValueError(f"no thread {requested} in chat {chat.id}")
            return requested, False
        if chat.type == "supergroup" and target is not None:
            # Replies in a supergroup belong to the thread of the message they answer.
            return target.thread_id or target.message_id, False
        return None, False

    # --- JSON shapes ----------------------------------------------------------------------------

    def _chat_json(self, chat: _Chat) -> JSON:
        if chat.type == "private":
            user = self.users[chat.user_id or chat.id]
            result: JSON = {"id": chat.id, "type": "private", "first_name": user["first_name"]}
            for name in ("last_name", "username"):
                if name in user:
                    result[name] = user[name]
            return result
        result = {"id": chat.id, "type": chat.type, "title": chat.title}
        if chat.is_forum:
            result["is_forum"] = True
        return result

    def _message_json(self, message: _Message, *, nested: bool = False) -> JSON:
        chat = self.chats[message.chat_id]
        result: JSON = {
            "message_id": message.message_id,
            "from": dict(self.users[message.from_id]),
            "chat": self._chat_json(chat),
            "date": message.date,
        }
        if message.thread_id is not None:
            result["message_thread_id"] = message.thread_id
        if message.is_topic_message:
            result["is_topic_message"] = True
        if not nested:
            replied = message.reply_to
            if replied is None and message.is_topic_message and not message.service:
                # A topic message without an explicit reply answers the topic's first message.
                replied = message.thread_id
            target = chat.messages.get(replied) if replied is not None else None
            if target is not None and not target.deleted:
                result["reply_to_message"] = self._message_json(target, nested=True)
        if message.edit_date is not None:
            result["edit_date"] = message.edit_date
        if message.text is not None:
            result["text"] = message.text
            if message.entities:
                result["entities"] = [dict(e) for e in message.entities]
            if message.link_preview_options:
                result["link_preview_options"] = dict(message.link_preview_options)
        if message.document is not None:
            result["document"] = {
                "file_id": message.document.file_id,
                "file_unique_id": message.document.file_unique_id,
                "file_name": message.document.file_name,
                "mime_type": message.document.mime_type,
                "file_size": len(message.document.content),
            }
        if message.caption is not None:
            result["caption"] = message.caption
            if message.caption_entities:
                result["caption_entities"] = [dict(e) for e in message.caption_entities]
        result.update(json.loads(json.dumps(message.service)))
        inline = _inline(message.reply_markup)
        if inline is not None:
            result["reply_markup"] = json.loads(json.dumps(inline))
        return result

    def _member_json(self, chat: _Chat, user_id: int, member: _Member) -> JSON:
        result: JSON = {"status": member.status, "user": dict(self.users[user_id])}
        rights = member.rights
        if member.status == "creator":
            result["is_anonymous"] = False
        elif member.status == "administrator":
            result["can_be_edited"] = False
            result["is_anonymous"] = False
            for right in _ADMIN_RIGHTS:
                result[right] = rights.get(right, False)
            if chat.type == "supergroup":
                for right in _SUPERGROUP_ADMIN_RIGHTS:
                    result[right] = rights.get(right, False)
            else:
                result["can_pin_messages"] = rights.get("can_pin_messages", True)
        elif member.status == "restricted":
            result["is_member"] = rights.get("is_member", True)
            for right in _RESTRICTED_RIGHTS:
                result[right] = rights.get(right, False)
            result["until_date"] = member.until_date
        elif member.status == "kicked":
            result["until_date"] = member.until_date
        return result


def _inline(markup: JSON | None) -> JSON | None:
    if markup is not None and "inline_keyboard" in markup:
        return markup
    return None
