"""Where in the staff group a post to X was asked for: the outbox shows its outcome there."""

from __future__ import annotations

from telegram import CallbackQuery, Message

from opsbot.services.outbox import Origin


def of_press(query: CallbackQuery) -> Origin:
    """A button press: its message (a preview) and whoever pressed."""
    message = query.message
    if not isinstance(message, Message):
        return Origin(requested_by=query.from_user.id)
    return Origin(
        requested_by=query.from_user.id,
        chat_id=message.chat_id,
        message_id=message.message_id,
        thread_id=_topic(message),
    )


def of_command(message: Message) -> Origin:
    """A command: its message, to be answered in reply, and its sender."""
    return Origin(
        requested_by=message.from_user.id if message.from_user else None,
        chat_id=message.chat_id,
        message_id=message.message_id,
        thread_id=_topic(message),
    )


def _topic(message: Message) -> int | None:
    # Outside forum topics Telegram also numbers reply threads; those are not for sending.
    return message.message_thread_id if message.is_topic_message else None
