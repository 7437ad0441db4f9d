"""Every command is checked the same way before a feature sees it: a member of the staff group
(a curator), or a moderator where the command needs one. Declared once per handler with
`@command(role, action)`.

Refusals are answered in the sender's language and written to the audit log under the
command's action. Where the command is sent (the staff group, or a private chat with a member)
is already settled by the guards in `guards`.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from functools import wraps
from typing import Any, NamedTuple

from telegram import Message, Update, User

from opsbot.i18n import Translator
from opsbot.telegram import staff_groups
from opsbot.telegram.context import OpsbotContext
from opsbot.telegram.handlers.common import audit_refusal, translator_for
from opsbot.telegram.roles import Role


class Sent(NamedTuple):
    """A checked command: its message, the sender, their translator and their role."""

    message: Message
    user: User
    translator: Translator
    role: Role


SentHandler = Callable[[Update, OpsbotContext, Sent], Coroutine[Any, Any, None]]
Handler = Callable[[Update, OpsbotContext], Coroutine[Any, Any, None]]


def command(role: Role, action: str, *, partners: bool = False) -> Callable[[SentHandler], Handler]:
    """Run the handler only for a sender who holds `role` (a moderator holds both roles);
    with `partners`, a role held for a partner museum counts too."""

    def wrap(handler: SentHandler) -> Handler:
        @wraps(handler)
        async def checked(update: Update, context: OpsbotContext) -> None:
            sent = await authorise(update, context, role, action, partners=partners)
            if sent is not None:
                await handler(update, context, sent)

        return checked

    return wrap


async def authorise(
    update: Update, context: OpsbotContext, needed: Role, action: str, *, partners: bool = False
) -> Sent | None:
    """The checked command, or None after a translated refusal and a row in the audit log."""
    user = update.effective_user
    message = update.effective_message
    if user is None or message is None:
        return None
    _ = await translator_for(context, user)
    runtime = context.runtime
    role = await runtime.roles.role_of(runtime.staff_chat_id, user.id)
    if partners and role != Role.MODERATOR:
        held = {held for _partner, held in await staff_groups.partners_of(runtime, user.id)}
        role = Role.MODERATOR if Role.MODERATOR in held else role or next(iter(held), None)
    if role == Role.MODERATOR or (role is not None and needed == Role.CURATOR):
        return Sent(message, user, _, role)
    # On record before the answer: whoever sees the refusal finds it in the audit log.
    if role is None:
        await audit_refusal(context, update, action, "not a member")
        await message.reply_text(_("Only members of the staff group can do this."))
    else:
        await audit_refusal(context, update, action, "not a moderator")
        await message.reply_text(_("Only moderators can do this."))
    return None
