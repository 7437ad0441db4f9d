"""A local Telegram Bot API that the real python-telegram-bot talks to over HTTP.

It keeps a small world (users, groups, private chats, messages, forum topics) and answers
``/bot<token>/<method>`` as Telegram does, limits and errors included: a lenient emulator
would hide the bugs the tests are meant to find. Tests drive the people in that world through
the Python API (``add_user``, ``user_sends``, ``user_presses``, ``chat_view`` ...); the sandbox
and the demo drive it through the control API below, so a person can play the audience.

Control API
===========

Plain JSON over HTTP on the same port, no token. Every answer is
``{"ok": true, "result": ...}``, or ``{"ok": false, "description": "..."}`` with HTTP 400 when
the world refuses (an unknown user, a button that does not exist ...).

``POST /control/users``
    ``{"user_id": 42, "first_name": "Anna", "username": "anna", "last_name": null,
    "language_code": "ru", "is_bot": false}`` -> the Telegram ``User``.
``POST /control/groups``
    ``{"chat_id": -1001234567890, "title": "Staff", "supergroup": true, "forum": false}``
    -> the ``Chat``. The bot is not a member until added.
``POST /control/members``
    ``{"chat_id": -100..., "user_id": 42, "status": "member", "rights": {...}}`` sets a member
    quietly (statuses: creator, administrator, member, restricted, left, kicked). With the
    bot's id and ``"by_user_id": 42`` it adds the bot the way a person does, so the bot gets
    ``my_chat_member`` and a ``new_chat_members`` message -> ``{"chat_id", "user_id", "status"}``.
``POST /control/migrate``
    ``{"chat_id": -123}`` upgrades a basic group -> ``{"migrate_to_chat_id": -100...}``.
``POST /control/topics``
    ``{"chat_id": -100..., "name": "Questions", "by_user_id": 42}`` -> ``{"message_thread_id"}``.
``POST /control/topics/{close|reopen|delete}``
    ``{"chat_id": -100..., "message_thread_id": 7, "by_user_id": 42}`` -> ``true``, as a person
    does it (closing and reopening leave a service message in the topic). A closed topic takes
    messages only from the chat's creator and from administrators who may manage topics; anyone
    else, the bot too, gets ``400 TOPIC_CLOSED``. Deleting a topic deletes its messages with it;
    sending there then fails with ``message thread not found``.
``POST /control/messages``
    ``{"chat_id": -100... | user_id for a private chat, "user_id": 42, "text": "...",
    "reply_to_message_id": 7, "message_thread_id": null}`` -> the ``Message`` the bot receives.
``POST /control/press``
    ``{"chat_id": ..., "user_id": 42, "message_id": 7, "callback_data": "v1:take:3",
    "forge": false}`` -> ``{"query_id": "..."}``.
``POST /control/faults``
    a Fault: ``{"endpoint": "sendMessage", "status": 429, "retry_after": 3, "count": 1,
    "delay": 0, "description": null, "accept": false}`` -> ``true``.
``DELETE /control/faults``
    drops every pending fault -> ``true``.
``GET /control/chats/{chat_id}?thread_id=&include_deleted=1``
    the chat as a person sees it (``chat_view``); a document's bytes come as
    ``document.content_base64``.
``GET /control/menu?chat_id=&user_id=``
    the command menu that person sees in that chat (``menu_for``; a private chat's id is the
    user's) -> ``[{"command", "description"}]``.
``GET /control/requests``
    every Bot API call: ``[{"at", "endpoint", "params", "status"}]``.
``GET /control/state``
    ``{"violations", "callback_answers", "commands", "left_chats", "pending_updates"}``.

Bot API as served
=================

``GET|POST /bot<token>/<method>`` with parameters in the query string, a JSON body, a form or
multipart (nested objects as JSON strings, as python-telegram-bot sends them); method names are
case-insensitive. ``GET /file/bot<token>/<file_path>`` serves uploaded files (see ``getFile``).
Methods: getMe, deleteWebhook, getWebhookInfo, getUpdates, sendMessage, sendDocument,
editMessageText, editMessageReplyMarkup, deleteMessage, answerCallbackQuery, setMyCommands,
getMyCommands, deleteMyCommands, getChat, getChatMember, getChatAdministrators, leaveChat,
createForumTopic, getFile. Any other method answers 404 ``Not Found``, which PTB reports as
``InvalidToken`` or ``EndPointNotFound``: the emulator does not pretend to support what it does
not.

The package
===========

One concern a module, composed into ``TelegramEmulator`` in ``emulator.py``: ``world.py`` the
records (users, chats, members, messages, topics, files) and the bot's update queue;
``people.py`` what the people in that world do; ``formatting/`` Telegram's text rules (HTML
parse mode, entities, links); ``markup.py`` formatted text and reply markup as a request
carries them; ``limits.py`` sizes, counts and flood control; ``methods.py`` and
``messages.py`` the Bot API methods; ``wire.py`` request parameters and errors as they
travel; ``bot_api.py`` the Bot API over HTTP; ``control.py`` the control API above.
"""

from __future__ import annotations

from opsbot.emulators.telegram.emulator import TelegramEmulator

__all__ = ["TelegramEmulator"]
