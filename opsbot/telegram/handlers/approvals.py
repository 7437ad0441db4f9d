"""Approval: /approval, Send for approval on a curator's preview, and the moderators' Approve /
Return with a comment / Edit on the request in the staff group.

A comment or a new text is typed as a reply to the bot's prompt (a `ReviewPrompt` in the
database, so a restart in between loses nothing); `handlers.answers.on_reply` hands such
replies here. Every step, done or refused, is in the audit log.
"""

from __future__ import annotations

from collections.abc import Sequence

from telegram import ForceReply, Message, ReplyParameters, Update
from telegram.constants import ParseMode
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from opsbot.db.models import AnswerStatus, ReviewPrompt, ReviewPromptKind
from opsbot.i18n import N_, Html, Translator, translator
from opsbot.services import answers, approvals, audit, planning, questions, staff
from opsbot.services.answers import ClaimOutcome
from opsbot.services.approvals import AmendOutcome
from opsbot.services.posts import normalise_handle
from opsbot.telegram.answer_views import claim_refusal, show_preview
from opsbot.telegram.approvals import needs_approval, show_request
from opsbot.telegram.callback_data import Action, matches
from opsbot.telegram.card_updates import refresh_card
from opsbot.telegram.commands import Command
from opsbot.telegram.context import OpsbotContext, Runtime
from opsbot.telegram.handlers.common import actor, answer_query, audit_refusal, translator_for
from opsbot.telegram.handlers.presses import Press, button
from opsbot.telegram.handlers.senders import Sent, command
from opsbot.telegram.origin import of_press
from opsbot.telegram.prompts import mention, quote
from opsbot.telegram.roles import Role

COMMANDS = [
    Command(
        "approval",
        N_("Whose answers need approval: /approval @curator on|off"),
        Role.MODERATOR,
        rank=45,
    ),
]
MAX_COMMENT = 1000


async def _curator_translator(runtime: Runtime, curator_id: int, chat_id: int | None) -> Translator:
    """The curator's language in their private chat; the group's language in the group."""
    if chat_id is None or chat_id < 0:
        return translator(runtime.settings.default_language)
    async with runtime.sessionmaker.begin() as session:
        language = await staff.language_of(
            session, curator_id, None, runtime.settings.default_language
        )
    return translator(language)


async def _refresh_preview(context: OpsbotContext, root_id: int) -> None:
    runtime = context.runtime
    async with runtime.sessionmaker.begin() as session:
        root = await answers.load(session, root_id)
    if root is None or root.preview_message_id is None:
        return
    _ = await _curator_translator(runtime, root.curator_id, root.preview_chat_id)
    await show_preview(context.bot, runtime, root_id, _)


@command(Role.MODERATOR, "approval")
async def approval(update: Update, context: OpsbotContext, sent: Sent) -> None:
    message, _user, _, _role = sent
    runtime = context.runtime
    args = context.args or []
    mode = approvals.Mode(runtime.settings.approval)
    if not args:
        await message.reply_text(await _who_needs_approval(runtime, _, mode))
        return
    if (
        len(args) != 2
        or not args[0].startswith("@")
        or not normalise_handle(args[0])
        or args[1].lower() not in ("on", "off")
    ):
        await audit_refusal(context, update, "approval", "usage")
        await message.reply_text(_("Usage: /approval @curator on|off"))
        return
    handle, on = args[0], args[1].lower() == "on"
    async with runtime.sessionmaker.begin() as session:
        person = await planning.staff_by_username(session, handle)
        if person is not None:
            await approvals.set_listed(session, person.telegram_id, on)
            await audit.record(
                session, actor_id=actor(update), action="approval", detail=f"{handle} {args[1]}"
            )
    if person is None:
        await audit_refusal(context, update, "approval", "unknown person")
        await message.reply_text(
            _(
                "I do not know {handles} yet: they should write anything in this group first.",
                handles=handle,
            )
        )
        return
    name = person.first_name or handle
    reply = (
        _("{name}'s answers now need a moderator's approval.", name=name)
        if on
        else _("{name}'s answers no longer need approval.", name=name)
    )
    if mode != approvals.Mode.LISTED:
        reply = Html(
            reply
            + "\n"
            + _(
                "This list counts when OPSBOT_APPROVAL=listed; it is {mode} now.",
                mode=mode.value,
            )
        )
    await message.reply_text(reply)


async def _who_needs_approval(runtime: Runtime, _: Translator, mode: approvals.Mode) -> Html:
    if mode == approvals.Mode.OFF:
        return _("Approval is off (OPSBOT_APPROVAL=off): answers are posted without it.")
    if mode == approvals.Mode.CURATORS:
        return _("Every curator's answers need a moderator's approval (OPSBOT_APPROVAL=curators).")
    async with runtime.sessionmaker.begin() as session:
        people = await approvals.listed(session)
    if not people:
        return _("No curator needs approval now. Switch it on with /approval @curator on.")
    names = ", ".join(p.first_name or f"@{p.username}" for p in people)
    return _("These curators' answers need a moderator's approval: {names}.", names=names)


async def submit(update: Update, context: OpsbotContext, _: Translator, root_id: int) -> None:
    """Send for approval on a preview: the draft waits for the moderators."""
    query = update.callback_query
    assert query is not None
    runtime = context.runtime
    async with runtime.sessionmaker.begin() as session:
        refusal = await approvals.submit(session, root_id)
        root = await answers.load(session, root_id)
        await audit.record(
            session,
            actor_id=query.from_user.id,
            action="approval_send",
            outcome=audit.OK if refusal is None else audit.REFUSED,
            question_id=root.question_id if root else None,
            detail=f"answer {root_id}" + ("" if refusal is None else f": {refusal.value}"),
        )
    if refusal is not None or root is None:
        await answer_query(query, claim_refusal(_, refusal or ClaimOutcome.NOT_FOUND), alert=True)
        return
    await answer_query(query, _.plain("Sent to the moderators for approval."))
    await show_preview(context.bot, runtime, root_id, _)
    await show_request(context.bot, runtime, root_id)
    await refresh_card(context.bot, runtime, root.question_id)


async def refuse_unapproved_post(
    update: Update, context: OpsbotContext, _: Translator, root_id: int
) -> bool:
    """Post pressed by someone whose answers need approval: refuse, and show the right button."""
    query = update.callback_query
    assert query is not None
    if not await needs_approval(context.runtime, query.from_user.id):
        return False
    await audit_refusal(context, update, "post", "needs approval")
    await answer_query(
        query,
        _.plain("Your answers need a moderator's approval: press Send for approval."),
        alert=True,
    )
    await show_preview(context.bot, context.runtime, root_id, _)
    return True


async def _awaiting(context: OpsbotContext, update: Update, press: Press, action: str) -> bool:
    """The request's answer still waits for a decision; otherwise say so and show its state."""
    query, _, callback, _role = press
    async with context.runtime.sessionmaker.begin() as session:
        root = await answers.load(session, callback.target)
    if root is not None and root.thread_root_id is None and root.status == AnswerStatus.AWAITING:
        return True
    await audit_refusal(context, update, action, "not awaiting", root.question_id if root else None)
    await answer_query(query, _.plain("This answer is no longer waiting for approval."), alert=True)
    if root is not None and root.thread_root_id is None:
        await show_request(context.bot, context.runtime, root.id)
    return False


async def withdrawn(context: OpsbotContext, root_ids: Sequence[int]) -> None:
    """The curator cancelled or replaced answers: their requests, if any, say so."""
    for root_id in root_ids:
        async with context.runtime.sessionmaker.begin() as session:
            root = await answers.load(session, root_id)
        if root is not None and root.review_message_id is not None:
            await show_request(context.bot, context.runtime, root_id)


@button(moderators_only=True)
async def on_approve(update: Update, context: OpsbotContext, press: Press) -> None:
    query, _, callback, _role = press
    runtime = context.runtime
    root_id = callback.target
    async with runtime.sessionmaker.begin() as session:
        claimed = await approvals.approve(
            session,
            root_id,
            query.from_user.id,
            now=runtime.clock.now(),
            origin=of_press(query),
        )
        root = await answers.load(session, root_id)
        approver = await staff.display_name(session, root.reviewed_by if root else None)
        await audit.record(
            session,
            actor_id=query.from_user.id,
            action="approval_approve",
            outcome=audit.OK if claimed.outcome == ClaimOutcome.CLAIMED else audit.REFUSED,
            question_id=root.question_id if root else None,
            detail=f"answer {root_id}: {claimed.outcome.value}",
        )
    if claimed.outcome != ClaimOutcome.CLAIMED or root is None:
        already = claimed.outcome in (ClaimOutcome.ALREADY_POSTING, ClaimOutcome.ALREADY_POSTED)
        await answer_query(
            query,
            _.plain("Already approved by {moderator}.", moderator=approver or "?")
            if already
            else claim_refusal(_, claimed.outcome),
            alert=True,
        )
        if root is not None and root.status != AnswerStatus.AWAITING and not already:
            # Cancelled meanwhile (a new draft, or the question answered): the request says so.
            await show_request(context.bot, runtime, root_id)
        return
    # The outbox posts it and brings the curator's preview and the card up to date.
    runtime.outbox.wake()
    await answer_query(query, _.plain("Approved: posting…"))
    await show_request(context.bot, runtime, root_id)
    await _refresh_preview(context, root_id)


async def _ask_moderator(
    update: Update, context: OpsbotContext, press: Press, kind: ReviewPromptKind
) -> None:
    query, _, callback, _role = press
    runtime = context.runtime
    request = query.message
    assert isinstance(request, Message)
    moderator = query.from_user
    async with runtime.sessionmaker.begin() as session:
        root = await answers.load(session, callback.target)
        assert root is not None
        question = await questions.load(session, root.question_id)
        curator = await staff.display_name(session, root.curator_id) or "?"
    assert question is not None
    who = mention(moderator.id, moderator.first_name)
    if kind == ReviewPromptKind.COMMENT:
        text = _(
            "💬 {moderator}, reply to this message with your comment for {curator}.",
            moderator=who,
            curator=curator,
        )
        placeholder = _.plain("Your comment")
    else:
        text = Html(
            _(
                "✏️ {moderator}, reply to this message with the new text of the answer to "
                "@{handle}. Now it reads:",
                moderator=who,
                handle=question.author_handle,
            )
            + "\n"
            + quote(root.source_text)
        )
        placeholder = _.plain("The new text")
    prompt = await context.bot.send_message(
        request.chat_id,
        text,
        parse_mode=ParseMode.HTML,
        message_thread_id=request.message_thread_id if request.is_topic_message else None,
        reply_parameters=ReplyParameters(request.message_id, allow_sending_without_reply=True),
        reply_markup=ForceReply(selective=True, input_field_placeholder=placeholder[:64]),
    )
    async with runtime.sessionmaker.begin() as session:
        await approvals.remember_prompt(
            session, prompt.chat_id, prompt.message_id, root.id, moderator.id, kind
        )
        await audit.record(
            session,
            actor_id=moderator.id,
            action=f"approval_{kind.value}_asked",
            question_id=root.question_id,
            detail=f"answer {root.id}",
        )
    await answer_query(query, _.plain("Reply to my message in the group."))


@button(moderators_only=True)
async def on_return(update: Update, context: OpsbotContext, press: Press) -> None:
    if await _awaiting(context, update, press, "approval_return"):
        await _ask_moderator(update, context, press, ReviewPromptKind.COMMENT)


@button(moderators_only=True)
async def on_amend(update: Update, context: OpsbotContext, press: Press) -> None:
    if await _awaiting(context, update, press, "approval_edit"):
        await _ask_moderator(update, context, press, ReviewPromptKind.EDIT)


async def on_review_reply(update: Update, context: OpsbotContext, prompt: ReviewPrompt) -> None:
    """A moderator's comment (the answer goes back to its curator) or new text for an answer."""
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None
    runtime = context.runtime
    _ = await translator_for(context, user)
    action = f"approval_{'return' if prompt.kind == ReviewPromptKind.COMMENT else 'edit'}"
    role = await runtime.roles.role_of(runtime.staff_chat_id, user.id)
    if role != Role.MODERATOR:
        await audit_refusal(context, update, action, "not a moderator")
        await message.reply_text(_("Only moderators can do this."))
        return
    text = (message.text or "").strip()
    if prompt.kind == ReviewPromptKind.COMMENT:
        await _give_back(update, context, _, prompt, text)
    else:
        await _amend(update, context, _, prompt, text)


async def _give_back(
    update: Update, context: OpsbotContext, _: Translator, prompt: ReviewPrompt, comment: str
) -> None:
    message = update.effective_message
    assert message is not None
    runtime = context.runtime
    if not comment or len(comment) > MAX_COMMENT:
        await audit_refusal(context, update, "approval_return", "bad comment")
        await message.reply_text(_("A comment takes 1 to {limit} characters.", limit=MAX_COMMENT))
        return
    async with runtime.sessionmaker.begin() as session:
        done = await approvals.give_back(session, prompt.answer_id, actor(update) or 0, comment)
        root = await answers.load(session, prompt.answer_id)
        await audit.record(
            session,
            actor_id=actor(update),
            action="approval_return",
            outcome=audit.OK if done else audit.REFUSED,
            question_id=root.question_id if root else None,
            detail=f"answer {prompt.answer_id}: {comment}",
        )
    if not done or root is None:
        await message.reply_text(_("This answer is no longer waiting for approval."))
        return
    await show_request(context.bot, runtime, root.id)
    await _refresh_preview(context, root.id)
    await _tell_curator(context, root.id)
    await refresh_card(context.bot, runtime, root.question_id)


async def _tell_curator(context: OpsbotContext, root_id: int) -> None:
    """The comment reaches the curator where they wrote the answer, as a prompt: a reply to
    it (or, in private, any text) is the new version."""
    runtime = context.runtime
    async with runtime.sessionmaker.begin() as session:
        root = await answers.load(session, root_id)
        assert root is not None
        question = await questions.load(session, root.question_id)
        moderator = await staff.display_name(session, root.reviewed_by) or "?"
        curator = await staff.display_name(session, root.curator_id) or "?"
    assert question is not None
    chat_id = root.preview_chat_id or runtime.staff_chat_id
    private = chat_id > 0
    _ = await _curator_translator(runtime, root.curator_id, chat_id)
    text = _(
        "↩️ {curator}, {moderator} returned your answer to @{handle}: {comment}\n"
        "Reply to this message with the new version.",
        curator=mention(root.curator_id, curator),
        moderator=moderator,
        handle=question.author_handle,
        comment=root.review_comment or "",
    )
    sent = await context.bot.send_message(
        chat_id,
        text,
        parse_mode=ParseMode.HTML,
        message_thread_id=None if private else question.card_thread_id,
        reply_parameters=ReplyParameters(root.preview_message_id, allow_sending_without_reply=True)
        if root.preview_message_id is not None
        else None,
        reply_markup=ForceReply(
            selective=True, input_field_placeholder=_.plain("Your answer")[:64]
        ),
    )
    async with runtime.sessionmaker.begin() as session:
        await answers.remember_prompt(
            session, sent.chat_id, sent.message_id, question.id, root.curator_id
        )


async def _amend(
    update: Update, context: OpsbotContext, _: Translator, prompt: ReviewPrompt, text: str
) -> None:
    message = update.effective_message
    assert message is not None
    runtime = context.runtime
    async with runtime.sessionmaker.begin() as session:
        root = await answers.load(session, prompt.answer_id)
        signature = await staff.signature_of(session, root.curator_id) if root else None
        amended = await approvals.amend(
            session,
            prompt.answer_id,
            text,
            actor(update) or 0,
            hashtags=runtime.settings.hashtags,
            signature=signature,
        )
        await audit.record(
            session,
            actor_id=actor(update),
            action="approval_edit",
            outcome=audit.OK if amended.outcome == AmendOutcome.DONE else audit.REFUSED,
            question_id=root.question_id if root else None,
            detail=f"answer {prompt.answer_id}: {amended.outcome.value}",
        )
    if amended.outcome != AmendOutcome.DONE:
        refusals = {
            AmendOutcome.EMPTY: _("The answer is empty."),
            AmendOutcome.TEXT_TOO_LONG: _(
                "An answer can be at most {limit} characters.", limit=answers.MAX_ANSWER_CHARS
            ),
            AmendOutcome.NOT_AWAITING: _("This answer is no longer waiting for approval."),
        }
        await message.reply_text(refusals[amended.outcome])
        return
    await show_request(context.bot, runtime, prompt.answer_id)
    await _refresh_preview(context, prompt.answer_id)


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("approval", approval))
    application.add_handler(CallbackQueryHandler(on_approve, pattern=matches(Action.APPROVE)))
    application.add_handler(CallbackQueryHandler(on_return, pattern=matches(Action.RETURN)))
    application.add_handler(CallbackQueryHandler(on_amend, pattern=matches(Action.AMEND)))
