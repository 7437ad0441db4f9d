"""“Mark answered” on the preview of a partner's curator whose museum the bot may not post
as: the bot asks for the link of the reply the curator posted on X, checks it there, and
marks the question answered, or says why not."""

from __future__ import annotations

from telegram import ForceReply, Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    MessageHandler,
    filters,
)

from opsbot.db.models import AnswerStatus
from opsbot.services import answers
from opsbot.telegram.answer_views import show_preview
from opsbot.telegram.callback_data import Action, matches
from opsbot.telegram.card_updates import refresh_card
from opsbot.telegram.context import OpsbotContext
from opsbot.telegram.handlers.common import answer_query, audit_refusal, translator_for
from opsbot.telegram.handlers.presses import Press, button
from opsbot.telegram.prompts import mention
from opsbot.telegram.reply_links import Checked, check

# Before the curators' answers (group 0): a link sent for a prompt of ours is not an answer.
GROUP_LINK = -1


@button(private=True)
async def on_mark_answered(update: Update, context: OpsbotContext, press: Press) -> None:
    query, _, callback, _role = press
    runtime = context.runtime
    user = query.from_user
    async with runtime.sessionmaker.begin() as session:
        parts = await answers.thread_of(session, callback.target)
    if not parts or parts[0].status != AnswerStatus.DRAFT:
        await answer_query(query, _.plain("This answer was already handled."), alert=True)
        return
    if parts[0].curator_id != user.id:
        await audit_refusal(context, update, "answered_by_hand", "not the curator")
        await answer_query(query, _.plain("Only the curator who wrote it can do this."), alert=True)
        return
    assert query.message is not None
    prompt = await context.bot.send_message(
        query.message.chat.id,
        _(
            "🔗 {curator}, reply to this message with the link of your reply on X.",
            curator=mention(user.id, user.first_name),
        ),
        reply_markup=ForceReply(
            selective=True, input_field_placeholder=_.plain("https://x.com/…")[:64]
        ),
    )
    runtime.link_prompts[(prompt.chat.id, prompt.message_id)] = (callback.target, user.id)
    await answer_query(query, _.plain("Send me the link."))


async def on_link(update: Update, context: OpsbotContext) -> None:
    message = update.effective_message
    user = update.effective_user
    runtime = context.runtime
    replied = message.reply_to_message if message is not None else None
    if message is None or user is None or replied is None:
        return
    prompt = runtime.link_prompts.get((replied.chat.id, replied.message_id))
    if prompt is None:
        return
    root_id, curator_id = prompt
    _ = await translator_for(context, user)
    if user.id != curator_id:
        await message.reply_text(_("Only the curator who wrote it can do this."))
        raise ApplicationHandlerStop
    checked = await check(runtime, root_id, message.text or "", user.id)
    texts = {
        Checked.ANSWERED: _("✅ Checked on X: the question is marked answered."),
        Checked.NOT_A_LINK: _(
            "This is not a link to a post on X, such as https://x.com/museum/status/123."
        ),
        Checked.NOT_ON_X: _("X does not show this post: is it deleted or protected?"),
        Checked.WRONG_ACCOUNT: _(
            "This post is not from @{handle}: answer from the partner's account.",
            handle=checked.handle,
        ),
        Checked.NOT_A_REPLY: _("This post is not a reply to the question."),
        Checked.ALREADY: _("This answer was already handled."),
        Checked.X_UNREACHABLE: _("X could not be reached: send the link again in a moment."),
    }
    await message.reply_text(texts[checked.outcome])
    if checked.outcome in (Checked.ANSWERED, Checked.ALREADY):
        runtime.link_prompts.pop((replied.chat.id, replied.message_id), None)
    if checked.outcome == Checked.ANSWERED:
        async with runtime.sessionmaker.begin() as session:
            parts = await answers.thread_of(session, root_id)
        await show_preview(context.bot, runtime, root_id, _)
        await refresh_card(context.bot, runtime, parts[0].question_id)
    raise ApplicationHandlerStop


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(
        CallbackQueryHandler(on_mark_answered, pattern=matches(Action.MARK_ANSWERED))
    )
    application.add_handler(
        MessageHandler(filters.REPLY & filters.TEXT & ~filters.COMMAND, on_link),
        group=GROUP_LINK,
    )
