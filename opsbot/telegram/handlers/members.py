"""Telegram's word on who joined, left, was removed or promoted in the staff group."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, ChatMemberHandler

from opsbot.telegram.context import OpsbotContext


async def member_changed(update: Update, context: OpsbotContext) -> None:
    change = update.chat_member
    runtime = context.runtime
    if change is None or change.chat.id != runtime.staff_chat_id:
        return
    runtime.roles.learn(change.chat.id, change.new_chat_member)


# Before the guards, which wait for the database: two changes in a row (promoted, then
# demoted) must be learnt in the order Telegram sent them, and updates run concurrently.
GROUP_MEMBERS = -4


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(
        ChatMemberHandler(member_changed, ChatMemberHandler.CHAT_MEMBER), group=GROUP_MEMBERS
    )
