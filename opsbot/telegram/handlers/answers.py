"""Answering a card: the prompt, the curator's text, the preview, Post / Split / Edit / Cancel."""

from __future__ import annotations

import asyncio
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters

from opsbot.db.base import utcnow
from opsbot.db.models import QuestionStatus
from opsbot.i18n import Translator
from opsbot.services import answers, audit, questions, staff, templates
from opsbot.services.answers import ClaimOutcome, DraftOutcome
from opsbot.telegram.answer_views import show_preview
from opsbot.telegram.callback_data import Action, matches, pack
from opsbot.telegram.card_updates import refresh_card
from opsbot.telegram.cards import shorten
from opsbot.telegram.context import OpsbotContext
from opsbot.telegram.handlers.common import answer_query, audit_refusal, translator_for
from opsbot.telegram.handlers.presses import Press, button
from opsbot.telegram.origin import of_press
from opsbot.telegram.prompts import send_prompt
from opsbot.telegram.roles import ANONYMOUS_ADMIN_ID, Role

log = logging.getLogger(__name__)

MAX_TEMPLATE_BUTTONS = 5
REPLY_LOOKUPS = 5
REPLY_LOOKUP_PAUSE = 0.2
PREVIEW_ACTIONS = {Action.POST, Action.EDIT, Action.CANCEL, Action.SPLIT}


async def prompt_for_text(
    update: Update, context: OpsbotContext, _: Translator, question_id: int
) -> None:
    """Ask the curator for the answer's text, with a reply field opened for them alone."""
    query = update.callback_query
    assert query is not None and query.message is not None
    services = context.services
    user = query.from_user
    async with services.sessionmaker.begin() as session:
        question = await questions.load(session, question_id)
        saved = await templates.for_language(session, _.language, MAX_TEMPLATE_BUTTONS)
    if question is None:
        await answer_query(query, _.plain("This question is no longer in the queue."), alert=True)
        return
    await send_prompt(context.bot, services, question, user.id, user.first_name, _)
    if saved:
        rows = [
            [
                InlineKeyboardButton(
                    shorten(template.text, 40),
                    callback_data=pack(Action.TEMPLATE, question_id, template.id),
                )
            ]
            for template in saved
        ]
        await context.bot.send_message(
            services.staff_chat_id,
            _("Or use a saved reply:"),
            parse_mode=ParseMode.HTML,
            message_thread_id=question.card_thread_id,
            reply_markup=InlineKeyboardMarkup(rows),
        )
    await answer_query(query, _.plain("Reply to my message with the text."))


@button()
async def on_answer_button(update: Update, context: OpsbotContext, press: Press) -> None:
    query, _, callback, role = press
    services = context.services
    async with services.sessionmaker.begin() as session:
        question = await questions.load(session, callback.target)
        holder = await staff.display_name(session, question.taken_by if question else None)
    refusal = None
    if question is None:
        refusal = _.plain("This question is no longer in the queue.")
    elif question.status == QuestionStatus.ANSWERED:
        refusal = _.plain("This question has already been answered.")
    elif question.status == QuestionStatus.HIDDEN:
        refusal = _.plain("This question is hidden; unhide it first.")
    elif question.taken_by not in (None, query.from_user.id) and role != Role.MODERATOR:
        refusal = _.plain("{curator} is already answering this question.", curator=holder or "?")
    if refusal is not None:
        await audit_refusal(context, update, "answer", refusal, callback.target)
        await answer_query(query, refusal, alert=True)
        return
    async with services.sessionmaker.begin() as session:
        await audit.record(
            session, actor_id=query.from_user.id, action="answer", question_id=callback.target
        )
    await prompt_for_text(update, context, _, callback.target)


@button()
async def on_template_button(update: Update, context: OpsbotContext, press: Press) -> None:
    query, _, callback, role = press
    services = context.services
    async with services.sessionmaker.begin() as session:
        template = await templates.get(session, callback.extra) if callback.extra else None
        question = await questions.load(session, callback.target)
    if template is None or question is None:
        await audit_refusal(context, update, "template", "unknown template", callback.target)
        await answer_query(query, _.plain("This saved reply no longer exists."), alert=True)
        return
    text = templates.fill(template, question.author_handle)
    await answer_query(query, _.plain("Draft made from the saved reply."))
    await make_draft(update, context, _, callback.target, text, role)


async def make_draft(
    update: Update,
    context: OpsbotContext,
    _: Translator,
    question_id: int,
    text: str,
    role: Role,
) -> None:
    services = context.services
    user = update.effective_user
    assert user is not None
    async with services.sessionmaker.begin() as session:
        signature = await staff.signature_of(session, user.id)
        result = await answers.create_draft(
            session,
            question_id,
            user.id,
            text,
            hashtags=services.settings.hashtags,
            signature=signature,
            moderator=role == Role.MODERATOR,
        )
        holder = await staff.display_name(session, result.holder_id)
        await audit.record(
            session,
            actor_id=user.id,
            action="draft",
            outcome=audit.OK if result.outcome == DraftOutcome.CREATED else audit.REFUSED,
            question_id=question_id,
            detail=result.outcome.value,
        )
    message = update.effective_message
    if result.outcome != DraftOutcome.CREATED or result.answer is None:
        texts = {
            DraftOutcome.NOT_FOUND: _("This question is no longer in the queue."),
            DraftOutcome.ANSWERED: _("This question has already been answered."),
            DraftOutcome.HIDDEN: _("This question is hidden; unhide it first."),
            DraftOutcome.TAKEN_BY_OTHER: _(
                "{curator} is already answering this question.", curator=holder or "?"
            ),
            DraftOutcome.EMPTY: _("The answer is empty."),
            DraftOutcome.TEXT_TOO_LONG: _(
                "An answer can be at most {limit} characters.", limit=answers.MAX_ANSWER_CHARS
            ),
        }
        if message is not None and update.callback_query is None:
            await message.reply_text(texts[result.outcome], parse_mode=ParseMode.HTML)
        elif update.callback_query is not None:
            await answer_query(update.callback_query, texts[result.outcome], alert=True)
        return
    await show_preview(
        context.bot,
        services,
        result.answer.id,
        _,
        reply_to=message if update.callback_query is None else None,
        signature=signature,
    )
    if result.question is not None:
        await refresh_card(context.bot, services, question_id)


async def on_reply(update: Update, context: OpsbotContext) -> None:
    """A staff member's reply to a prompt or to a card: the text of an answer."""
    message = update.effective_message
    user = update.effective_user
    services = context.services
    if message is None or user is None or message.reply_to_message is None:
        return
    if message.chat_id != services.staff_chat_id or user.id == ANONYMOUS_ADMIN_ID:
        return
    replied = message.reply_to_message
    question_id = None
    for _attempt in range(REPLY_LOOKUPS):
        async with services.sessionmaker.begin() as session:
            question_id = await answers.question_for_reply(
                session, message.chat_id, replied.message_id
            )
        # The bot writes down a prompt or card just after Telegram shows it; a very quick
        # reply can arrive in between, so a reply to the bot's own message gets a moment.
        if (
            question_id is not None
            or replied.from_user is None
            or replied.from_user.id != context.bot.id
        ):
            break
        await asyncio.sleep(REPLY_LOOKUP_PAUSE)
    if question_id is None:
        return
    _ = await translator_for(context, user)
    role = await services.roles.role_of(services.staff_chat_id, user.id)
    if role is None:
        await audit_refusal(context, update, "draft", "not a member", question_id)
        return
    await make_draft(update, context, _, question_id, message.text or "", role)


async def _the_author_or_a_moderator(update: Update, context: OpsbotContext, press: Press) -> bool:
    """A preview button is for the draft's author or a moderator (beyond any member)."""
    query, _, callback, role = press
    async with context.services.sessionmaker.begin() as session:
        parts = await answers.thread_of(session, callback.target)
    if not parts or parts[0].thread_root_id is not None:
        await audit_refusal(context, update, "preview", "unknown answer", None)
        await answer_query(query, _.plain("This button is not valid any more."), alert=True)
        return False
    if parts[0].curator_id != query.from_user.id and role != Role.MODERATOR:
        await audit_refusal(context, update, "preview", "not the author", parts[0].question_id)
        await answer_query(
            query, _.plain("Only the author of this answer or a moderator can do this."), alert=True
        )
        return False
    return True


@button()
async def on_preview_button(update: Update, context: OpsbotContext, press: Press) -> None:
    if not await _the_author_or_a_moderator(update, context, press):
        return
    query, _, callback, _role = press
    if query.message is not None:
        # The press can outrun the bot's note of where the preview is; then it would send a
        # second preview instead of updating this one.
        async with context.services.sessionmaker.begin() as session:
            await answers.adopt_preview(
                session, callback.target, query.message.chat.id, query.message.message_id
            )
    if callback.action == Action.POST:
        await post(update, context, _, callback.target)
    elif callback.action == Action.CANCEL:
        await cancel(update, context, _, callback.target)
    elif callback.action == Action.SPLIT:
        await split(update, context, _, callback.target)
    else:
        await edit(update, context, _, callback.target)


async def post(update: Update, context: OpsbotContext, _: Translator, root_id: int) -> None:
    query = update.callback_query
    assert query is not None
    services = context.services
    async with services.sessionmaker.begin() as session:
        claimed = await answers.claim(session, root_id, now=utcnow(), origin=of_press(query))
        outcome = claimed.outcome
        parts = await answers.thread_of(session, root_id)
        await audit.record(
            session,
            actor_id=query.from_user.id,
            action="post",
            outcome=audit.OK if outcome == ClaimOutcome.CLAIMED else audit.REFUSED,
            question_id=parts[0].question_id,
            detail=outcome.value,
        )
    if outcome != ClaimOutcome.CLAIMED:
        refusals = {
            ClaimOutcome.ALREADY_POSTING: _.plain("This answer is already being posted."),
            ClaimOutcome.ALREADY_POSTED: _.plain("This answer is already on X."),
            ClaimOutcome.CANCELLED: _.plain("This draft was cancelled or replaced."),
            ClaimOutcome.NOT_FOUND: _.plain("This button is not valid any more."),
            ClaimOutcome.QUESTION_ANSWERED: _.plain("This question has already been answered."),
            ClaimOutcome.QUESTION_HIDDEN: _.plain("This question is hidden; unhide it first."),
            ClaimOutcome.OTHER_ANSWER: _.plain(
                "Another answer to this question is already being posted."
            ),
            ClaimOutcome.NOT_REPLYABLE: _.plain(
                "X will not accept a reply to this visitor; answer by hand."
            ),
            ClaimOutcome.TOO_LONG: _.plain("Too long for one post: shorten it or split it."),
        }
        await answer_query(query, refusals[outcome], alert=True)
        return
    # The outbox posts it and brings the preview and the card up to date.
    services.outbox.wake()
    await answer_query(query, _.plain("Posting…"))


async def cancel(update: Update, context: OpsbotContext, _: Translator, root_id: int) -> None:
    query = update.callback_query
    assert query is not None
    services = context.services
    async with services.sessionmaker.begin() as session:
        done = await answers.cancel(session, root_id)
        await audit.record(
            session,
            actor_id=query.from_user.id,
            action="cancel",
            outcome=audit.OK if done else audit.REFUSED,
            detail=f"answer {root_id}",
        )
    if not done:
        await answer_query(query, _.plain("This answer can no longer be cancelled."), alert=True)
        return
    await answer_query(query, _.plain("Cancelled."))
    await show_preview(context.bot, services, root_id, _)


async def split(update: Update, context: OpsbotContext, _: Translator, root_id: int) -> None:
    query = update.callback_query
    assert query is not None
    services = context.services
    async with services.sessionmaker.begin() as session:
        parts = await answers.thread_of(session, root_id)
        signature = await staff.signature_of(session, parts[0].curator_id)
        thread = await answers.split_into_thread(
            session, root_id, hashtags=services.settings.hashtags, signature=signature
        )
        await audit.record(
            session,
            actor_id=query.from_user.id,
            action="split",
            outcome=audit.OK if thread else audit.REFUSED,
            question_id=parts[0].question_id,
            detail=f"{len(thread or [])} parts",
        )
    if not thread:
        await answer_query(query, _.plain("This draft was cancelled or replaced."), alert=True)
        return
    await answer_query(query, _.plain("Split into a thread; check it and press Post."))
    await show_preview(context.bot, services, root_id, _)


async def edit(update: Update, context: OpsbotContext, _: Translator, root_id: int) -> None:
    query = update.callback_query
    assert query is not None
    async with context.services.sessionmaker.begin() as session:
        parts = await answers.thread_of(session, root_id)
    await prompt_for_text(update, context, _, parts[0].question_id)


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CallbackQueryHandler(on_answer_button, pattern=matches(Action.ANSWER)))
    application.add_handler(
        CallbackQueryHandler(on_template_button, pattern=matches(Action.TEMPLATE))
    )
    application.add_handler(
        CallbackQueryHandler(on_preview_button, pattern=matches(*PREVIEW_ACTIONS))
    )
    application.add_handler(
        MessageHandler(filters.REPLY & filters.TEXT & ~filters.COMMAND, on_reply)
    )
