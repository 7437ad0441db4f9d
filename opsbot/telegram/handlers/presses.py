"""Every button press is checked the same way before a feature sees it: readable data, the
staff group or a linked partner museum's group (or, for `private=True`, the presser's own
private chat with the bot), a member of that group (or a moderator). Declared once per
handler with `@button(...)`.

Refusals are answered in the presser's language and written to the audit log.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from functools import wraps
from typing import Any, NamedTuple

from telegram import CallbackQuery, Update
from telegram.constants import ChatType

from opsbot.i18n import Translator
from opsbot.telegram import staff_groups
from opsbot.telegram.callback_data import Callback, unpack
from opsbot.telegram.context import OpsbotContext
from opsbot.telegram.handlers.common import answer_query, audit_refusal, translator_for
from opsbot.telegram.roles import ANONYMOUS_ADMIN_ID, Role


class Press(NamedTuple):
    """A checked press: the query, the presser's translator, the data, the presser's role."""

    query: CallbackQuery
    translator: Translator
    callback: Callback
    role: Role


PressHandler = Callable[[Update, OpsbotContext, Press], Coroutine[Any, Any, None]]
Handler = Callable[[Update, OpsbotContext], Coroutine[Any, Any, None]]


def button(
    *, moderators_only: bool = False, private: bool = False
) -> Callable[[PressHandler], Handler]:
    """Run the handler only for a press that passes `authorise`."""

    def wrap(handler: PressHandler) -> Handler:
        @wraps(handler)
        async def checked(update: Update, context: OpsbotContext) -> None:
            query = update.callback_query
            assert query is not None
            _ = await translator_for(context, query.from_user)
            allowed = await authorise(
                update, context, _, moderators_only=moderators_only, private=private
            )
            if allowed is not None:
                callback, role = allowed
                await handler(update, context, Press(query, _, callback, role))

        return checked

    return wrap


async def _refuse(
    update: Update, context: OpsbotContext, _: Translator, text: str, reason: str, qid: int | None
) -> None:
    assert update.callback_query is not None
    await audit_refusal(context, update, "button", reason, qid)
    await answer_query(update.callback_query, text, alert=True)


async def authorise(
    update: Update,
    context: OpsbotContext,
    _: Translator,
    *,
    moderators_only: bool = False,
    private: bool = False,
) -> tuple[Callback, Role] | None:
    """Check the press: readable data, the staff group (or a private chat with the bot, when
    `private`), a member (or a moderator).

    A private chat is anyone's own; a press there still needs a member of the staff group,
    and each feature checks whose draft or question it is.

    Refusals are answered and written to the audit log.
    """
    query = update.callback_query
    assert query is not None
    callback = unpack(query.data)
    user = query.from_user
    if callback is None:
        await _refuse(
            update, context, _, _.plain("This button is not valid any more."), "forged data", None
        )
        return None
    message = query.message
    runtime = context.runtime
    in_private = private and message is not None and message.chat.type == ChatType.PRIVATE
    in_partner_group = (
        message is not None
        and not in_private
        and await staff_groups.is_partner_group(runtime, message.chat.id)
    )
    if message is None or (
        message.chat.id != runtime.staff_chat_id and not in_private and not in_partner_group
    ):
        await _refuse(
            update,
            context,
            _,
            _.plain("This button works only in the staff group."),
            "wrong chat",
            callback.target,
        )
        return None
    if user.id == ANONYMOUS_ADMIN_ID:
        await _refuse(
            update,
            context,
            _,
            _.plain("Anonymous administrators cannot act on questions: please post as yourself."),
            "anonymous admin",
            callback.target,
        )
        return None
    role = (
        await runtime.roles.role_of(message.chat.id, user.id)
        if in_partner_group
        else await staff_groups.staff_role(runtime, user.id)
    )
    if role is None:
        await _refuse(
            update,
            context,
            _,
            _.plain("Only members of the staff group can do this."),
            "not a member",
            callback.target,
        )
        return None
    if moderators_only and role != Role.MODERATOR:
        await _refuse(
            update,
            context,
            _,
            _.plain("Only moderators can do this."),
            "not a moderator",
            callback.target,
        )
        return None
    return callback, role
