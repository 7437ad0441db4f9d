"""Answering a card: the prompt, the curator's text, the preview, Post / Split / Edit / Cancel.

The dialogue happens in the curator's private chat with the bot when they have one
(`private_answers`), else in the staff group; every step works in either chat.
"""

from __future__ import annotations

import html
import logging

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters

from opsbot.db.models import Question, QuestionStatus
from opsbot.i18n import Translator
from opsbot.services import answers, audit, cohosting, presence, questions, staff, templates
from opsbot.services import approvals as approval_service
from opsbot.services.answers import ClaimOutcome, DraftOutcome
from opsbot.telegram import staff_groups
from opsbot.telegram.answer_views import claim_refusal, show_preview
from opsbot.telegram.callback_data import Action, matches
from opsbot.telegram.cohost_views import not_yours
from opsbot.telegram.context import OpsbotContext
from opsbot.telegram.handlers import approvals
from opsbot.telegram.handlers.common import answer_query, audit_refusal, translator_for
from opsbot.telegram.handlers.presses import Press, button
from opsbot.telegram.origin import of_press
from opsbot.telegram.private_answers import (
    answer_payload,
    ask_in_private,
    asked_already,
    deep_link,
    hint,
    presence_ended,
    send_saved_replies,
    show_take_later,
    show_take_now,
)
from opsbot.telegram.prompts import send_prompt
from opsbot.telegram.roles import ANONYMOUS_ADMIN_ID, Role

log = logging.getLogger(__name__)

REPLY_LOOKUPS = 5
REPLY_LOOKUP_PAUSE = 0.2
PREVIEW_ACTIONS = {Action.POST, Action.EDIT, Action.CANCEL, Action.SPLIT, Action.SUBMIT}


async def prompt_for_text(
    update: Update, context: OpsbotContext, _: Translator, question_id: int, note: str = ""
) -> None:
    """Ask for the answer's text in the chat of the press (the group, or the private chat)."""
    query = update.callback_query
    assert query is not None and query.message is not None
    runtime = context.runtime
    user = query.from_user
    chat_id = query.message.chat.id
    async with runtime.sessionmaker.begin() as session:
        question = await questions.load(session, question_id)
    if question is None:
        await answer_query(query, _.plain("This question is no longer in the queue."), alert=True)
        return
    await send_prompt(
        context.bot, runtime, question, user.id, user.first_name, _, chat_id=chat_id, hint=note
    )
    await send_saved_replies(context.bot, runtime, question, chat_id, _)
    await answer_query(query, _.plain("Reply to my message with the text."))


async def answer_in_private(
    update: Update, context: OpsbotContext, press: Press, question: Question
) -> bool:
    """Take the question and ask in the curator's private chat; False if Telegram refuses."""
    query, _, _callback, role = press
    runtime = context.runtime
    user = query.from_user
    async with runtime.sessionmaker.begin() as session:
        taken = await questions.take(
            session, question.id, user.id, moderator=role == Role.MODERATOR
        )
        holder = await cohosting.holder_label(
            session, question.salon_id, taken.holder_id, runtime.settings.x_account
        )
    if taken.outcome not in (questions.Outcome.DONE, questions.Outcome.UNCHANGED):
        refusal = (
            _.plain("{curator} is already answering this question.", curator=holder or "?")
            if taken.outcome == questions.Outcome.TAKEN_BY_OTHER
            else await not_yours(runtime, question.id, _)
            if taken.outcome == questions.Outcome.NOT_YOURS
            else _.plain("This question is no longer in the queue.")
        )
        await audit_refusal(context, update, "answer", refusal, question.id)
        await answer_query(query, refusal, alert=True)
        return True
    if not await ask_in_private(context.bot, runtime, question, user.id, user.first_name, _):
        return False
    show_take_later(context, question.id)
    await answer_query(
        query,
        _.plain("I have asked you in our private chat."),
        url=deep_link(context.bot.username, answer_payload(question.id)),
    )
    return True


@button()
async def on_answer_button(update: Update, context: OpsbotContext, press: Press) -> None:
    query, _, callback, role = press
    runtime = context.runtime
    async with runtime.sessionmaker.begin() as session:
        question = await questions.load(session, callback.target)
        holder = await cohosting.holder_label(
            session,
            question.salon_id if question else None,
            question.taken_by if question else None,
            runtime.settings.x_account,
        )
        private = await staff.has_private_chat(session, query.from_user.id)
        ours = question is not None and await cohosting.allowed(
            session, question, query.from_user.id
        )
        # A moderator takes over only from a curator of their own museum.
        may_take_over = role == Role.MODERATOR and await cohosting.same_museum(
            session, question.taken_by if question else None, query.from_user.id
        )
    refusal = None
    if question is None:
        refusal = _.plain("This question is no longer in the queue.")
    elif question.status == QuestionStatus.ANSWERED:
        refusal = _.plain("This question has already been answered.")
    elif question.status == QuestionStatus.HIDDEN:
        refusal = _.plain("This question is hidden; unhide it first.")
    elif question.taken_by not in (None, query.from_user.id) and not may_take_over:
        refusal = _.plain("{curator} is already answering this question.", curator=holder or "?")
    elif not ours:
        refusal = await not_yours(runtime, question.id, _)
    if refusal is not None or question is None:
        await audit_refusal(context, update, "answer", refusal or "", callback.target)
        await answer_query(query, refusal or "", alert=True)
        return
    async with runtime.sessionmaker.begin() as session:
        await audit.record(
            session, actor_id=query.from_user.id, action="answer", question_id=callback.target
        )
    if private and await answer_in_private(update, context, press, question):
        return
    note = ""
    async with runtime.sessionmaker.begin() as session:
        if await staff.claim_private_hint(session, query.from_user.id, runtime.clock.now()):
            note = hint(context.bot.username, _)
    await prompt_for_text(update, context, _, callback.target, note=note)
    show_take_later(context, callback.target)


async def answer_from_link(update: Update, context: OpsbotContext, question_id: int) -> None:
    """/start a<question> in private: the deep link of an Answer press, opened by the app.

    A prompt already sent there is enough (the app opened the chat to show it); otherwise the
    curator is asked here, if the question is still theirs to answer.
    """
    user = update.effective_user
    message = update.effective_message
    assert user is not None and message is not None
    runtime = context.runtime
    _ = await translator_for(context, user)
    if await asked_already(runtime, user.id, question_id):
        return
    role = await staff_groups.staff_role(runtime, user.id)
    async with runtime.sessionmaker.begin() as session:
        question = await questions.load(session, question_id)
        taken = (
            await questions.take(session, question_id, user.id, moderator=role == Role.MODERATOR)
            if question is not None and role is not None
            else None
        )
        holder = await staff.display_name(session, taken.holder_id if taken else None)
    if question is None or taken is None or taken.outcome == questions.Outcome.NOT_FOUND:
        await message.reply_text(_("This question is no longer in the queue."))
        return
    if question.status == QuestionStatus.ANSWERED:
        await message.reply_text(_("This question has already been answered."))
        return
    if taken.outcome == questions.Outcome.TAKEN_BY_OTHER:
        await message.reply_text(
            _("{curator} is already answering this question.", curator=holder or "?")
        )
        return
    if taken.outcome == questions.Outcome.WRONG_STATE:
        await message.reply_text(_("This question is hidden; unhide it first."))
        return
    if taken.outcome == questions.Outcome.NOT_YOURS:
        await message.reply_text(await not_yours(runtime, question_id, _))
        return
    if await ask_in_private(context.bot, runtime, question, user.id, user.first_name, _):
        show_take_later(context, question_id)


@button(private=True)
async def on_template_button(update: Update, context: OpsbotContext, press: Press) -> None:
    query, _, callback, role = press
    runtime = context.runtime
    async with runtime.sessionmaker.begin() as session:
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
    runtime = context.runtime
    user = update.effective_user
    assert user is not None
    async with runtime.sessionmaker.begin() as session:
        signature = await staff.signature_of(session, user.id)
        result = await answers.create_draft(
            session,
            question_id,
            user.id,
            text,
            hashtags=runtime.settings.hashtags,
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
        if result.outcome == DraftOutcome.CREATED:
            await presence.start_writing(session, question_id, user.id)
    message = update.effective_message
    if result.outcome != DraftOutcome.CREATED or result.answer is None:
        texts = {
            DraftOutcome.NOT_FOUND: _("This question is no longer in the queue."),
            DraftOutcome.ANSWERED: _("This question has already been answered."),
            DraftOutcome.HIDDEN: _("This question is hidden; unhide it first."),
            DraftOutcome.TAKEN_BY_OTHER: _(
                "{curator} is already answering this question.", curator=holder or "?"
            ),
            DraftOutcome.NOT_YOURS: html.escape(
                await not_yours(runtime, question_id, _), quote=False
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
    chat = update.effective_chat
    chat_id = chat.id if chat is not None else runtime.staff_chat_id
    await show_preview(
        context.bot,
        runtime,
        result.answer.id,
        _,
        reply_to=message if update.callback_query is None else None,
        signature=signature,
        chat_id=chat_id,
    )
    await approvals.withdrawn(context, result.withdrawn)
    if result.question is None:
        return
    if chat_id != user.id:
        await show_take_now(context, question_id)
    else:
        # The group sees the answer once it is on X (private_answers explains).
        show_take_later(context, question_id)


async def on_reply(update: Update, context: OpsbotContext) -> None:
    """A staff member's reply to a prompt or to a card: the text of an answer."""
    message = update.effective_message
    user = update.effective_user
    runtime = context.runtime
    if message is None or user is None or message.reply_to_message is None:
        return
    if user.id == ANONYMOUS_ADMIN_ID or (
        message.chat_id not in (runtime.staff_chat_id, user.id)
        and not await staff_groups.is_partner_group(runtime, message.chat_id)
    ):
        return
    replied = message.reply_to_message
    question_id = None
    review = None
    for _attempt in range(REPLY_LOOKUPS):
        async with runtime.sessionmaker.begin() as session:
            question_id = await answers.question_for_reply(
                session, message.chat_id, replied.message_id
            )
            review = await approval_service.prompt_at(session, message.chat_id, replied.message_id)
        # The bot writes down a prompt or card just after Telegram shows it; a very quick
        # reply can arrive in between, so a reply to the bot's own message gets a moment.
        if (
            question_id is not None
            or review is not None
            or replied.from_user is None
            or replied.from_user.id != context.bot.id
        ):
            break
        await runtime.clock.sleep(REPLY_LOOKUP_PAUSE)
    if review is not None:
        await approvals.on_review_reply(update, context, review)
        return
    if question_id is None and message.chat_id == user.id:
        # In private, a reply to anything else is meant for the latest prompt.
        await on_private_text(update, context)
        return
    await _draft_from(update, context, question_id)


async def on_private_text(update: Update, context: OpsbotContext) -> None:
    """Text in the private chat without a reply: the answer to the latest prompt there."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None or message.chat_id != user.id:
        return
    async with context.runtime.sessionmaker.begin() as session:
        question_id = await answers.last_prompt_in(session, message.chat_id)
    if question_id is None:
        _ = await translator_for(context, user)
        await message.reply_text(
            _("To answer a question, press Answer on its card in the staff group.")
        )
        return
    await _draft_from(update, context, question_id)


async def _draft_from(update: Update, context: OpsbotContext, question_id: int | None) -> None:
    message = update.effective_message
    user = update.effective_user
    runtime = context.runtime
    if question_id is None or message is None or user is None:
        return
    _ = await translator_for(context, user)
    chat_id = message.chat_id
    role = (
        await runtime.roles.role_of(chat_id, user.id)
        if chat_id < 0 and chat_id != runtime.staff_chat_id
        else await staff_groups.staff_role(runtime, user.id)
    )
    if role is None:
        await audit_refusal(context, update, "draft", "not a member", question_id)
        return
    await make_draft(update, context, _, question_id, message.text or "", role)


async def _the_author_or_a_moderator(update: Update, context: OpsbotContext, press: Press) -> bool:
    """A preview button is for the draft's author or a moderator (beyond any member)."""
    query, _, callback, role = press
    async with context.runtime.sessionmaker.begin() as session:
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


@button(private=True)
async def on_preview_button(update: Update, context: OpsbotContext, press: Press) -> None:
    if not await _the_author_or_a_moderator(update, context, press):
        return
    query, _, callback, _role = press
    if query.message is not None:
        # The press can outrun the bot's note of where the preview is; then it would send a
        # second preview instead of updating this one.
        async with context.runtime.sessionmaker.begin() as session:
            await answers.adopt_preview(
                session, callback.target, query.message.chat.id, query.message.message_id
            )
    if callback.action == Action.POST:
        await post(update, context, _, callback.target)
    elif callback.action == Action.SUBMIT:
        await approvals.submit(update, context, _, callback.target)
    elif callback.action == Action.CANCEL:
        await cancel(update, context, _, callback.target)
    elif callback.action == Action.SPLIT:
        await split(update, context, _, callback.target)
    else:
        await edit(update, context, _, callback.target)


async def post(update: Update, context: OpsbotContext, _: Translator, root_id: int) -> None:
    query = update.callback_query
    assert query is not None
    runtime = context.runtime
    if await approvals.refuse_unapproved_post(update, context, _, root_id):
        return
    async with runtime.sessionmaker.begin() as session:
        claimed = await answers.claim(
            session, root_id, now=runtime.clock.now(), origin=of_press(query)
        )
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
        await answer_query(query, claim_refusal(_, outcome), alert=True)
        return
    # The outbox posts it and brings the preview and the card up to date.
    runtime.outbox.wake()
    await answer_query(query, _.plain("Posting…"))


async def cancel(update: Update, context: OpsbotContext, _: Translator, root_id: int) -> None:
    query = update.callback_query
    assert query is not None
    runtime = context.runtime
    async with runtime.sessionmaker.begin() as session:
        done = await answers.cancel(session, root_id)
        parts = await answers.thread_of(session, root_id)
        stopped = bool(parts) and await presence.stop_writing(
            session, parts[0].question_id, parts[0].curator_id, runtime.clock.now()
        )
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
    await show_preview(context.bot, runtime, root_id, _)
    await approvals.withdrawn(context, [root_id])
    if stopped:
        await presence_ended(context, parts[0].question_id)


async def split(update: Update, context: OpsbotContext, _: Translator, root_id: int) -> None:
    query = update.callback_query
    assert query is not None
    runtime = context.runtime
    async with runtime.sessionmaker.begin() as session:
        parts = await answers.thread_of(session, root_id)
        signature = await staff.signature_of(session, parts[0].curator_id)
        thread = await answers.split_into_thread(
            session, root_id, hashtags=runtime.settings.hashtags, signature=signature
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
    await show_preview(context.bot, runtime, root_id, _)


async def edit(update: Update, context: OpsbotContext, _: Translator, root_id: int) -> None:
    query = update.callback_query
    assert query is not None
    async with context.runtime.sessionmaker.begin() as session:
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
    application.add_handler(
        MessageHandler(
            filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND & ~filters.REPLY,
            on_private_text,
        )
    )
