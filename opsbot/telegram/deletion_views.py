"""What the staff see of Delete on X: the card's confirmation step, and the outcome."""

from __future__ import annotations

from telegram import Bot

from opsbot.db.models import Delivery, DeliveryState
from opsbot.i18n import translator
from opsbot.services import deletions, questions
from opsbot.telegram.card_updates import refresh_card, replace_buttons
from opsbot.telegram.cards import deletion_buttons
from opsbot.telegram.context import Runtime
from opsbot.telegram.delivery_failures import why_failed


async def ask_to_confirm(bot: Bot, runtime: Runtime, question_id: int) -> bool:
    """Yes / No in place of the card's button; No (or a failure) brings it back with one
    edit. False if the question has no card."""
    _ = translator(runtime.settings.default_language)
    return await replace_buttons(bot, runtime, question_id, deletion_buttons(question_id, _))


async def tell_outcome(bot: Bot, runtime: Runtime, row: Delivery) -> None:
    """Deleted: the card is back in the queue. Not deleted: why, where it was asked."""
    async with runtime.sessionmaker.begin() as session:
        question_id = await deletions.question_of(session, row)
        question = await questions.load(session, question_id) if question_id else None
    if question is None:
        return
    await refresh_card(bot, runtime, question.id)
    if row.state == DeliveryState.SENT:
        return
    _ = translator(runtime.settings.default_language)
    await bot.send_message(
        runtime.staff_chat_id,
        _(
            "⚠️ The answer to @{handle} could not be deleted on X: {reason}",
            handle=question.author_handle,
            reason=why_failed(row, _),
        ),
        message_thread_id=row.origin_thread_id,
    )
