"""The buttons on a question card: Take, Release, Hide, Unhide (Answer lives in answers.py),
and those under a digest: a number answers that question, 🗂 brings its full card.

A number answers without a card in the group: a curator the bot may write to takes the
question and is asked in private (the press answered with the deep link, as Answer is); anyone
else, or a question that cannot be answered now, gets the full card, where it is taken, hidden
or answered in the group.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler

from opsbot.db.models import QuestionStatus
from opsbot.i18n import Translator
from opsbot.services import audit, cohosting, presence, questions, staff
from opsbot.services.questions import Outcome, Result
from opsbot.telegram import take_lapse
from opsbot.telegram.callback_data import Action, matches
from opsbot.telegram.card_queue import FullCard
from opsbot.telegram.card_updates import refresh_card
from opsbot.telegram.cohost_views import not_yours
from opsbot.telegram.context import OpsbotContext
from opsbot.telegram.handlers.answers import answer_in_private
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
    runtime = context.runtime
    user_id = query.from_user.id
    moderator = role == Role.MODERATOR
    async with runtime.sessionmaker.begin() as session:
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
        if callback.action == Action.TAKE and result.outcome == Outcome.DONE:
            await presence.start_take_clock(session, callback.target, user_id, runtime.clock.now())
        holder = await cohosting.holder_label(
            session,
            result.question.salon_id if result.question else None,
            result.holder_id,
            runtime.settings.x_account,
        )
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
        await not_yours(runtime, callback.target, _)
        if result.outcome == Outcome.NOT_YOURS
        else _outcome_text(_, callback.action, result, holder),
        alert=result.outcome not in (Outcome.DONE, Outcome.UNCHANGED),
    )
    if result.outcome == Outcome.DONE or result.outcome == Outcome.WRONG_STATE:
        await refresh_card(context.bot, runtime, callback.target)
    if callback.action == Action.TAKE:
        await take_lapse.arm_question(runtime, callback.target)


@button(private=True)
async def on_keep_take(update: Update, context: OpsbotContext, press: Press) -> None:
    """Keep it, under the warning of a lapsing take: the idle time starts again."""
    query, _, callback, _role = press
    runtime = context.runtime
    async with runtime.sessionmaker.begin() as session:
        kept = await presence.start_take_clock(
            session, callback.target, query.from_user.id, runtime.clock.now()
        )
        await audit.record(
            session,
            actor_id=query.from_user.id,
            action="keep_take",
            outcome=audit.OK if kept else audit.REFUSED,
            question_id=callback.target,
        )
    if not kept:
        await answer_query(
            query,
            _.plain("This question is not taken by you (any more)."),
            alert=True,
        )
        return
    await take_lapse.arm_question(runtime, callback.target)
    await answer_query(
        query,
        _.plain(
            "It stays yours for another {minutes} minutes.",
            minutes=runtime.settings.take_minutes,
        ),
    )


@button()
async def on_digest_answer(update: Update, context: OpsbotContext, press: Press) -> None:
    """A number under a digest: answer the question in private, else its full card."""
    query, _, callback, _role = press
    runtime = context.runtime
    async with runtime.sessionmaker.begin() as session:
        question = await questions.load(session, callback.target)
        private = await staff.has_private_chat(session, query.from_user.id)
    if (
        private
        and question is not None
        and question.status not in (QuestionStatus.ANSWERED, QuestionStatus.HIDDEN)
    ):
        async with runtime.sessionmaker.begin() as session:
            await audit.record(
                session, actor_id=query.from_user.id, action="answer", question_id=question.id
            )
        if await answer_in_private(update, context, press, question):
            return
    await _full_card(context, press)


@button()
async def on_digest_number(update: Update, context: OpsbotContext, press: Press) -> None:
    """🗂 under a digest: the question's full card, where it is taken, hidden and answered."""
    await _full_card(context, press)


async def _full_card(context: OpsbotContext, press: Press) -> None:
    query, _, callback, _role = press
    outcome = await context.runtime.cards.send_full_card(callback.target)
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
    application.add_handler(CallbackQueryHandler(on_keep_take, pattern=matches(Action.KEEP_TAKE)))
    application.add_handler(
        CallbackQueryHandler(on_digest_answer, pattern=matches(Action.DIGEST_ANSWER))
    )
