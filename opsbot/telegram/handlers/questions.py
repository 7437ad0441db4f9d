"""The buttons on a question card: Take, Release, Hide, Unhide (Answer lives in answers.py)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler

from opsbot.i18n import Translator
from opsbot.services import audit, questions, staff
from opsbot.services.questions import Outcome, Result
from opsbot.telegram.callback_data import Action, matches
from opsbot.telegram.card_queue import FullCard
from opsbot.telegram.card_updates import refresh_card
from opsbot.telegram.context import OpsbotContext
from opsbot.telegram.handlers.common import answer_query
from opsbot.telegram.handlers.presses import Press, button
from opsbot.telegram.roles import Role

CARD_ACTIONS = {Action.TAKE, Action.RELEASE, Action.HIDE, Action.UNHIDE}


def _outcome_text(_: Translator, action: Action, result: Result, holder: str | None) -> str:
    if result.outcome == Outcome.NOT_FOUND:
        return _.plain("This question is no longer in the queue.")
    if result.outcome == Outcome.TAKEN_BY_OTHER:
        return _.plain("{curator} is already answering this question.", curator=holder or "?")
    if result.outcome == Outcome.WRONG_STATE:
        return _.plain("This button is out of date: the question has moved on.")
    if action == Action.TAKE:
        return _.plain("The question is yours.")
    if action == Action.RELEASE:
        return _.plain("The question is back in the queue.")
    if action == Action.HIDE:
        return _.plain("The question is hidden.")
    return _.plain("The question is back in the queue.")


@button()
async def on_card_button(update: Update, context: OpsbotContext, press: Press) -> None:
    query, _, callback, role = press
    services = context.services
    user_id = query.from_user.id
    moderator = role == Role.MODERATOR
    async with services.sessionmaker.begin() as session:
        if callback.action == Action.TAKE:
            result = await questions.take(session, callback.target, user_id, moderator=moderator)
        elif callback.action == Action.RELEASE:
            result = await questions.release(session, callback.target, user_id, moderator=moderator)
        elif callback.action == Action.HIDE:
            result = await questions.hide(session, callback.target, user_id)
        elif callback.action == Action.UNHIDE:
            result = await questions.unhide(session, callback.target, user_id)
        else:
            result = Result(Outcome.UNCHANGED)
        holder = await staff.display_name(session, result.holder_id)
        await audit.record(
            session,
            actor_id=user_id,
            action=str(callback.action.name.lower()),
            outcome=audit.OK
            if result.outcome in (Outcome.DONE, Outcome.UNCHANGED)
            else audit.REFUSED,
            question_id=callback.target,
            detail=result.outcome.value,
        )
    await answer_query(
        query,
        _outcome_text(_, callback.action, result, holder),
        alert=result.outcome not in (Outcome.DONE, Outcome.UNCHANGED),
    )
    if result.outcome == Outcome.DONE or result.outcome == Outcome.WRONG_STATE:
        await refresh_card(context.bot, services, callback.target)


@button()
async def on_digest_number(update: Update, context: OpsbotContext, press: Press) -> None:
    """A number under a digest: the question's full card, where it is taken and answered."""
    query, _, callback, _role = press
    outcome = await context.services.cards.send_full_card(callback.target)
    texts = {
        FullCard.SENT: _.plain("Here is its card."),
        FullCard.ALREADY_SENT: _.plain("Its card is already in the chat: look for it above."),
        FullCard.GONE: _.plain("This question is no longer in the queue."),
        FullCard.REFUSED: _.plain("Telegram refused the card; the question is in /queue."),
    }
    await answer_query(query, texts[outcome], alert=outcome == FullCard.REFUSED)


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CallbackQueryHandler(on_card_button, pattern=matches(*CARD_ACTIONS)))
    application.add_handler(
        CallbackQueryHandler(on_digest_number, pattern=matches(Action.FULL_CARD))
    )
