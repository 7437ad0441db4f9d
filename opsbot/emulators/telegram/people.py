"""What the people around the bot do: the world as tests and the control API drive it.

Each action refuses, with ValueError, what Telegram's apps would not let a person do (a
non-member posting, pressing a button that is not there); then it stores the result and queues
the updates the bot would get, as Telegram does.
"""

from __future__ import annotations

import re

from opsbot.emulators.telegram import formatting as th
from opsbot.emulators.telegram.limits import MAX_TEXT_LENGTH
from opsbot.emulators.telegram.wire import JSON
from opsbot.emulators.telegram.world import (
    _ACTIVE_STATUSES,
    _TOPIC_COLOR,
    MEMBER_STATUSES,
    World,
    _Chat,
    _Member,
    _Message,
    _Query,
    _Topic,
)


class People(World):
    """Users, groups, members and topics set up by tests, and what people post and press."""

    def add_user(
        self,
        user_id: int,
        first_name: str,
        *,
        username: str | None = None,
        last_name: str | None = None,
        language_code: str | None = "ru",
        is_bot: bool = False,
    ) -> JSON:
        if user_id <= 0:
            raise ValueError("a user id is a positive integer")
        if user_id == self.bot_id:
            raise ValueError("that id is the bot's own")
        user: JSON = {"id": user_id, "is_bot": is_bot, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code and not is_bot:
            user["language_code"] = language_code
        self.users[user_id] = user
        self._touch()
        return dict(user)

    def add_group(
        self, chat_id: int, title: str, *, supergroup: bool = True, forum: bool = False
    ) -> JSON:
        if chat_id >= 0:
            raise ValueError("a group id is negative")
        if supergroup and not str(chat_id).startswith("-100"):
            raise ValueError("a supergroup id looks like -100xxxxxxxxxx")
        if not supergroup and str(chat_id).startswith("-100"):
            raise ValueError("a basic group id does not start with -100")
        if forum and not supergroup:
            raise ValueError("only a supergroup can be a forum")
        if chat_id in self.chats:
            raise ValueError(f"chat {chat_id} exists")
        chat = _Chat(id=chat_id, type="supergroup" if supergroup else "group", title=title,
                     is_forum=forum)  # fmt: skip
        self.chats[chat_id] = chat
        self._touch()
        return self._chat_json(chat)

    def add_member(
        self,
        chat_id: int,
        user_id: int,
        status: str = "member",
        *,
        rights: dict[str, bool] | None = None,
    ) -> None:
        """Set a member's status quietly, as if it had always been so (no update is sent)."""
        chat = self._group(chat_id)
        self._user(user_id)
        if status not in MEMBER_STATUSES:
            raise ValueError(f"status must be one of {', '.join(MEMBER_STATUSES)}")
        chat.members[user_id] = self._member(chat, status, rights)
        if user_id == self.bot_id and status in _ACTIVE_STATUSES:
            self.left_chats.discard(chat_id)
        self._touch()

    def add_bot_to_group(
        self, chat_id: int, by_user_id: int, *, status: str = "administrator"
    ) -> JSON:
        """A person adds the bot: my_chat_member, then the new_chat_members service message."""
        chat = self._group(chat_id)
        adder = self._active_member(chat, by_user_id)
        if status not in ("administrator", "member"):
            raise ValueError("a bot joins as administrator or member")
        if adder.status not in ("creator", "administrator") and status == "administrator":
            raise ValueError("only an administrator can add the bot as an administrator")
        old = chat.members.get(self.bot_id, _Member("left"))
        new = self._member(chat, status, None)
        chat.members[self.bot_id] = new
        self.left_chats.discard(chat_id)
        self._queue_my_chat_member(chat, by_user_id, old, new)
        message = self._store(chat, by_user_id, service={"new_chat_members": [self.bot_user]})
        self._queue("message", self._message_json(message))
        return self._chat_json(chat)

    def remove_bot_from_group(self, chat_id: int, by_user_id: int, *, ban: bool = True) -> None:
        """A person removes the bot (kicked, or left when `ban` is false)."""
        chat = self._group(chat_id)
        self._active_member(chat, by_user_id)
        old = chat.members.get(self.bot_id, _Member("left"))
        new = _Member("kicked" if ban else "left")
        chat.members[self.bot_id] = new
        self._queue_my_chat_member(chat, by_user_id, old, new)
        self._touch()

    def change_member(self, chat_id: int, user_id: int, status: str, *, by_user_id: int) -> None:
        """An administrator removes, bans, restores or promotes a person.

        As on Telegram, an administrator bot that asked for ``chat_member`` updates hears of it.
        """
        chat = self._group(chat_id)
        self._user(user_id)
        self._active_member(chat, by_user_id)
        if status not in MEMBER_STATUSES:
            raise ValueError(f"status must be one of {', '.join(MEMBER_STATUSES)}")
        old = chat.members.get(user_id, _Member("left"))
        new = self._member(chat, status, None)
        chat.members[user_id] = new
        bot = chat.members.get(self.bot_id)
        if bot is not None and bot.status == "administrator":
            self._queue(
                "chat_member",
                {
                    "chat": self._chat_json(chat),
                    "from": dict(self.users[by_user_id]),
                    "date": int(self.clock()),
                    "old_chat_member": self._member_json(chat, user_id, old),
                    "new_chat_member": self._member_json(chat, user_id, new),
                },
            )
        self._touch()

    def user_blocks_bot(self, user_id: int) -> None:
        chat = self.chats.get(user_id)
        if chat is None:
            raise ValueError("the user has no private chat with the bot")
        chat.blocked = True
        self._queue_my_chat_member(chat, user_id, _Member("member"), _Member("kicked"))

    def migrate_group(self, chat_id: int, *, by_user_id: int | None = None) -> int:
        """Upgrade a basic group to a supergroup; returns the new id."""
        old = self._group(chat_id)
        if old.type != "group":
            raise ValueError("only a basic group can be upgraded")
        if old.migrated_to is not None:
            raise ValueError("the group was upgraded already")
        actor = by_user_id
        if actor is None:
            actor = next((u for u, m in old.members.items() if m.status == "creator"), None)
        if actor is None:
            raise ValueError("who upgrades the group? pass by_user_id or add a creator")
        new_id = -(10**12 + abs(chat_id))
        new = _Chat(id=new_id, type="supergroup", title=old.title)
        for user_id, member in old.members.items():
            new.members[user_id] = self._member(new, member.status, dict(member.rights))
        self.chats[new_id] = new
        old.migrated_to = new_id
        bot_in = old.members.get(self.bot_id, _Member("left")).status in _ACTIVE_STATUSES
        note = self._store(old, actor, service={"migrate_to_chat_id": new_id})
        if bot_in:
            self._queue("message", self._message_json(note))
        note = self._store(new, actor, service={"migrate_from_chat_id": chat_id})
        if bot_in:
            self._queue("message", self._message_json(note))
        self._touch()
        return new_id

    def add_topic(self, chat_id: int, name: str, *, by_user_id: int) -> int:
        """A person creates a forum topic; returns its message_thread_id."""
        chat = self._group(chat_id)
        self._active_member(chat, by_user_id)
        if not chat.is_forum:
            raise ValueError("the chat is not a forum")
        return self._create_topic(chat, by_user_id, name, _TOPIC_COLOR)

    def close_topic(self, chat_id: int, thread_id: int, *, by_user_id: int) -> None:
        """A person closes a forum topic: only those who may manage topics write there now."""
        self._toggle_topic(chat_id, thread_id, by_user_id, closed=True)

    def reopen_topic(self, chat_id: int, thread_id: int, *, by_user_id: int) -> None:
        self._toggle_topic(chat_id, thread_id, by_user_id, closed=False)

    def delete_topic(self, chat_id: int, thread_id: int, *, by_user_id: int) -> None:
        """A person deletes a forum topic, and every message in it with the topic."""
        chat = self._group(chat_id)
        self._topic_manager(chat, thread_id, by_user_id)
        del chat.topics[thread_id]
        for message in chat.messages.values():
            if message.thread_id == thread_id:
                message.deleted = True
        self._touch()

    def _toggle_topic(self, chat_id: int, thread_id: int, by_user_id: int, *, closed: bool) -> None:
        chat = self._group(chat_id)
        topic = self._topic_manager(chat, thread_id, by_user_id)
        if topic.closed == closed:
            raise ValueError("TOPIC_NOT_MODIFIED")
        topic.closed = closed
        kind = "forum_topic_closed" if closed else "forum_topic_reopened"
        note = self._store(chat, by_user_id, service={kind: {}}, thread_id=thread_id,
                           is_topic=True)  # fmt: skip
        if self._bot_receives(chat, note):
            self._queue("message", self._message_json(note))
        else:
            self._touch()

    def _topic_manager(self, chat: _Chat, thread_id: int, user_id: int) -> _Topic:
        """The topic, if `user_id` may close or delete it (its creator or a topic manager)."""
        topic = chat.topics.get(thread_id)
        if topic is None:
            raise ValueError(f"no topic {thread_id} in chat {chat.id}")
        if user_id != topic.created_by and not self._manages_topics(chat, user_id):
            raise ValueError(f"user {user_id} may not manage topics in chat {chat.id}")
        return topic

    def user_sends(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
    ) -> JSON:
        """A person posts a text message; returns the Message (as the bot would receive it)."""
        user = self._user(user_id)
        if user["is_bot"]:
            raise ValueError("bots do not type messages")
        if chat_id == user_id:
            chat = self._private_chat(user_id)
            if chat.blocked:
                # Writing again means unblocking ("Restart"): the bot is told, as on Telegram.
                self._queue_my_chat_member(chat, user_id, _Member("kicked"), _Member("member"))
            chat.started = True
            chat.blocked = False
        else:
            chat = self._group(chat_id)
            if chat.migrated_to is not None:
                raise ValueError(f"the group moved to {chat.migrated_to}")
            member = self._active_member(chat, user_id)
            if member.status == "restricted" and not member.rights.get("can_send_messages"):
                raise ValueError("the user may not send messages here")
        plain, entities = th.normalize(text, [])
        if len(plain) > MAX_TEXT_LENGTH:
            raise ValueError("a client splits messages longer than 4096 characters")
        thread_id, is_topic = self._thread_for(chat, reply_to_message_id, message_thread_id)
        if self._topic_closed_to(chat, thread_id, user_id):
            raise ValueError("the topic is closed")
        message = self._store(
            chat, user_id, text=plain, entities=entities, reply_to=reply_to_message_id,
            thread_id=thread_id, is_topic=is_topic,
        )  # fmt: skip
        api = self._message_json(message)
        if self._bot_receives(chat, message):
            self._queue("message", api)
        else:
            self._touch()
        return api

    def user_starts_bot(self, user_id: int, payload: str | None = None) -> JSON:
        """A person presses Start in the bot's chat, or opens t.me/<bot>?start=<payload>.

        Telegram sends the bot "/start" or "/start <payload>"; a payload is 1-64 characters of
        A-Z, a-z, 0-9, _ and -, or the link does not open the bot at all.
        """
        if payload is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", payload):
            raise ValueError("a start payload is 1-64 characters of A-Z, a-z, 0-9, _ and -")
        return self.user_sends(
            user_id, user_id, "/start" if payload is None else f"/start {payload}"
        )

    def user_presses(
        self,
        chat_id: int,
        user_id: int,
        message_id: int,
        callback_data: str,
        *,
        forge: bool = False,
    ) -> str:
        """A person presses an inline button; returns the callback query id."""
        self._user(user_id)
        chat = self.chats.get(chat_id)
        if chat is None:
            raise ValueError(f"no chat {chat_id}")
        # A modified client can send any data for any message, even from outside the chat;
        # only Telegram's own checks (the chat and the user exist) still apply.
        if not forge:
            if chat.type != "private":
                self._active_member(chat, user_id)
            elif chat.user_id != user_id:
                raise ValueError("a private chat is seen only by its user")
        message = chat.messages.get(message_id)
        if not forge:
            if message is None or message.deleted:
                raise ValueError(f"no message {message_id} in chat {chat_id}")
            buttons = (message.reply_markup or {}).get("inline_keyboard", [])
            datas = [b.get("callback_data") for row in buttons for b in row]
            if callback_data not in datas:
                raise ValueError(
                    f"message {message_id} has no button with callback_data {callback_data!r}"
                )
        query_id = str(4_000_000_000_000_000 + next(self._ids) * 7919)
        self.callback_queries[query_id] = _Query(
            id=query_id, chat_id=chat_id, message_id=message_id, user_id=user_id,
            data=callback_data, created_at=self.clock(),
        )  # fmt: skip
        payload: JSON = {
            "id": query_id,
            "from": dict(self.users[user_id]),
            "chat_instance": str(abs(chat_id * 1_000_003 + 17) % 10**19),
            "data": callback_data,
        }
        if message is not None and not message.deleted:
            payload["message"] = self._message_json(message)
        else:
            payload["message"] = {"chat": self._chat_json(chat), "message_id": message_id,
                                  "date": 0}  # fmt: skip
        self._queue("callback_query", payload)
        return query_id

    def menu_for(self, chat_id: int, user_id: int) -> list[JSON]:
        """The command menu a person's app shows in a chat: the first list set along the Bot
        API's "Determining list of commands", for the person's app language."""
        user = self._user(user_id)
        language = str(user.get("language_code") or "").split("-")[0].lower()
        chat = self.chats.get(chat_id)
        if chat_id == user_id:
            keys = [f"chat:{chat_id}", "all_private_chats"]
        elif chat is not None and chat.type != "private":
            member = chat.members.get(user_id)
            admin = member is not None and member.status in ("creator", "administrator")
            keys = [
                f"chat_member:{chat_id}:{user_id}",
                *([f"chat_administrators:{chat_id}"] if admin else []),
                f"chat:{chat_id}",
                *(["all_chat_administrators"] if admin else []),
                "all_group_chats",
            ]
        else:
            raise ValueError(f"no chat {chat_id}")
        codes = [language, ""] if language else [""]
        for key in [*keys, "default"]:
            for code in codes:
                found = self.commands.get((key, code))
                if found:
                    return [dict(c) for c in found]
        return []

    def chat_view(
        self,
        chat_id: int,
        *,
        thread_id: int | None = None,
        include_deleted: bool = False,
        after: int = 0,
    ) -> list[JSON]:
        """The chat as a person sees it, oldest first; with `after`, only the messages whose
        id is greater (rendering a long chat again and again is slow).

        Each entry: message_id, from, date, sent_at (the emulator's clock when it was stored,
        to the microsecond), text (the visible text: a caption for a document,
        what a client writes for a service message, never None), entities, html (the text
        rendered back to Telegram HTML), reply_markup (as sent, ForceReply included),
        reply_to_message_id, message_thread_id, edited, edit_history (earlier texts), deleted,
        document ({filename, mime_type, size, content}) and service (the raw service fields).
        """
        chat = self.chats.get(chat_id)
        if chat is None:
            raise ValueError(f"no chat {chat_id}")
        view = []
        for message in sorted(chat.messages.values(), key=lambda m: m.message_id):
            if message.message_id <= after or (message.deleted and not include_deleted):
                continue
            if thread_id is not None and message.thread_id != thread_id:
                continue
            if message.service:
                text, entities = self._service_text(message), []
            elif message.text is not None:
                text, entities = message.text, message.entities
            else:
                text, entities = message.caption or "", message.caption_entities
            document = None
            if message.document is not None:
                document = {
                    "filename": message.document.file_name,
                    "mime_type": message.document.mime_type,
                    "size": len(message.document.content),
                    "content": message.document.content,
                }
            view.append(
                {
                    "message_id": message.message_id,
                    "from": dict(self.users[message.from_id]),
                    "date": message.date,
                    "sent_at": message.sent_at,
                    "text": text,
                    "entities": [dict(e) for e in entities],
                    "html": th.entities_to_html(text, entities),
                    "reply_markup": message.reply_markup,
                    "reply_to_message_id": message.reply_to,
                    "message_thread_id": message.thread_id,
                    "edited": message.edit_date is not None,
                    "edit_history": list(message.edit_history),
                    "deleted": message.deleted,
                    "document": document,
                    "service": dict(message.service) or None,
                }
            )
        return view

    def _service_text(self, message: _Message) -> str:
        """What a Telegram client writes in place of a service message."""
        actor = self.users[message.from_id]["first_name"]
        service = message.service
        if "new_chat_members" in service:
            names = ", ".join(u["first_name"] for u in service["new_chat_members"])
            return f"{actor} added {names}"
        if "left_chat_member" in service:
            return f"{actor} removed {service['left_chat_member']['first_name']}"
        if "migrate_to_chat_id" in service:
            return "The group was upgraded to a supergroup"
        if "migrate_from_chat_id" in service:
            return f"{actor} upgraded the group to a supergroup"
        if "forum_topic_created" in service:
            return f"{actor} created the topic «{service['forum_topic_created']['name']}»"
        if "forum_topic_closed" in service:
            return f"{actor} closed the topic"
        if "forum_topic_reopened" in service:
            return f"{actor} reopened the topic"
        return ""

    def pending_updates(self) -> list[JSON]:
        """Updates Telegram holds for the bot, not yet confirmed by an offset."""
        return [self._update_json(u) for u in self._live_updates()]
