"""Registered last: button presses no feature understood (forged, or from a retired version)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler

from opsbot.telegram.context import OpsbotContext
from opsbot.telegram.handlers.common import answer_query, audit_refusal, translator_for


async def on_unknown_button(update: Update, context: OpsbotContext) -> None:
    query = update.callback_query
    assert query is not None
    _ = await translator_for(context, query.from_user)
    await audit_refusal(context, update, "button", "unknown data")
    await answer_query(query, _.plain("This button is not valid any more."), alert=True)


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CallbackQueryHandler(on_unknown_button))
