"""Delete on X, on an answered card: the press, the confirmation, and No.

The rules are checked at both steps (`services.deletions`): a moderator any time, a curator
their own answer within ten minutes of its posting. The deletion itself is the outbox's.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler

from opsbot.i18n import Translator
from opsbot.services import audit, deletions
from opsbot.services.deletions import Refusal
from opsbot.telegram.callback_data import Action, matches
from opsbot.telegram.card_updates import refresh_card
from opsbot.telegram.context import OpsbotContext
from opsbot.telegram.deletion_views import ask_to_confirm
from opsbot.telegram.handlers.common import answer_query
from opsbot.telegram.handlers.presses import Press, button
from opsbot.telegram.origin import of_press
from opsbot.telegram.roles import Role


def _refusal_text(_: Translator, refusal: Refusal) -> str:
    if refusal == Refusal.NOT_YOURS:
        return _.plain("Only a moderator can delete someone else's answer.")
    if refusal == Refusal.TOO_LATE:
        return _.plain(
            "You can delete your own answer only within {minutes} minutes of posting it; "
            "ask a moderator.",
            minutes=int(deletions.CURATOR_WINDOW.total_seconds() // 60),
        )
    if refusal == Refusal.UNDER_WAY:
        return _.plain("This answer is already being deleted.")
    return _.plain("This question has no answer on X to delete.")


async def _decided(context: OpsbotContext, press: Press, *, confirmed: bool) -> Refusal | None:
    """Check the rules and, once confirmed, hand the deletion to the outbox, in one
    transaction; a refusal is told with its reason, and both are in the audit."""
    query, _, callback, role = press
    runtime = context.runtime
    user_id, moderator, now = query.from_user.id, role == Role.MODERATOR, runtime.clock.now()
    async with runtime.sessionmaker.begin() as session:
        if confirmed:
            refusal = await deletions.request(
                session,
                callback.target,
                user_id,
                moderator=moderator,
                now=now,
                origin=of_press(query),
            )
        else:
            refusal = await deletions.refusal(
                session, callback.target, user_id, moderator=moderator, now=now
            )
        if confirmed or refusal is not None:
            await audit.record(
                session,
                actor_id=user_id,
                action="delete_on_x",
                outcome=audit.OK if refusal is None else audit.REFUSED,
                question_id=callback.target,
                detail="requested" if refusal is None else refusal.value,
            )
    if refusal is not None:
        await answer_query(query, _refusal_text(_, refusal), alert=True)
    return refusal


@button()
async def on_delete(update: Update, context: OpsbotContext, press: Press) -> None:
    if await _decided(context, press, confirmed=False) is not None:
        return
    query, _, callback, _role = press
    await answer_query(query, _.plain("Delete this answer on X? It cannot be undone."))
    await ask_to_confirm(context.bot, context.runtime, callback.target)


@button()
async def on_confirm(update: Update, context: OpsbotContext, press: Press) -> None:
    query, _, callback, _role = press
    if await _decided(context, press, confirmed=True) is not None:
        await refresh_card(context.bot, context.runtime, callback.target)
        return
    # The outbox deletes it and brings the card back to the queue.
    context.runtime.outbox.wake()
    await answer_query(query, _.plain("Deleting on X…"))


@button()
async def on_keep(update: Update, context: OpsbotContext, press: Press) -> None:
    query, _, callback, _role = press
    await answer_query(query, _.plain("The answer stays on X."))
    await refresh_card(context.bot, context.runtime, callback.target)


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CallbackQueryHandler(on_delete, pattern=matches(Action.DELETE)))
    application.add_handler(
        CallbackQueryHandler(on_confirm, pattern=matches(Action.CONFIRM_DELETE))
    )
    application.add_handler(CallbackQueryHandler(on_keep, pattern=matches(Action.KEEP_ANSWER)))
