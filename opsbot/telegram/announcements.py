"""Posting one of the museum's own announcements on X after a moderator pressed Post.

The caller has already claimed the announcement in the database (so a second press cannot
post it again); this posts it, gives the claim back if X refuses, and tells the group.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import CallbackQuery

from opsbot.i18n import Translator, translator
from opsbot.telegram.context import OpsbotContext
from opsbot.telegram.handlers.common import answer_query, clear_buttons
from opsbot.x.gateway import XError


async def post_announcement(
    context: OpsbotContext,
    query: CallbackQuery,
    _: Translator,
    text: str,
    *,
    release: Callable[[], Awaitable[None]],
    record: Callable[[str], Awaitable[None]],
    done: str,
    thread_id: int | None = None,
) -> None:
    """`done` is a msgid with a `{url}` placeholder, shown to the group once it is on X."""
    services = context.services
    await clear_buttons(query)
    try:
        post_id = await services.gateway.create_post(text, None)
    except XError as exc:
        await release()
        reason = _.plain("X did not take it: {reason}", reason=str(exc))
        await answer_query(query, reason, alert=True)
        return
    await record(post_id)
    await answer_query(query, _.plain("Posted on X."))
    group = translator(services.settings.default_language)
    url = f"https://x.com/{services.settings.x_account}/status/{post_id}"
    await context.bot.send_message(
        services.staff_chat_id, group(done, url=url), message_thread_id=thread_id
    )
