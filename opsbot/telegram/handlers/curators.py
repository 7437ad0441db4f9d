"""Curators' commands: /queue, /mine, /signature, /templates, /template add|remove."""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from opsbot.i18n import N_, Html, Translator
from opsbot.services import audit, priority, questions, staff, templates
from opsbot.telegram.callback_data import Action, matches, pack
from opsbot.telegram.cards import question_line, shorten
from opsbot.telegram.commands import Command
from opsbot.telegram.context import OpsbotContext
from opsbot.telegram.handlers.common import answer_query, number
from opsbot.telegram.handlers.presses import Press, button
from opsbot.telegram.handlers.senders import Sent, command
from opsbot.telegram.roles import Role

COMMANDS = [
    Command(
        "queue",
        N_("Unanswered questions: priority senders first, then the oldest"),
        Role.CURATOR,
        rank=20,
        in_private=True,
    ),
    Command("mine", N_("The questions you have taken"), Role.CURATOR, rank=21, in_private=True),
    Command(
        "templates",
        N_("Saved replies; /template add TEXT or /template remove NUMBER"),
        Role.CURATOR,
        rank=50,
        in_private=True,
    ),
    Command(
        "signature",
        N_("Set the signature under your answers: /signature — Anna"),
        Role.CURATOR,
        rank=51,
        in_private=True,
    ),
]
# Twenty lines of at most about 150 characters stay well inside Telegram's 4096.
PAGE_SIZE = 20
MAX_NAME = 30
MAX_SIGNATURE = 40
MAX_TEMPLATE = 240


def _page_count(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


async def render_list(
    context: OpsbotContext, _: Translator, user_id: int, *, mine: bool, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    """One page of the queue (or of the curator's own questions), with buttons to turn it."""
    runtime = context.runtime
    taken_by = user_id if mine else None
    async with runtime.sessionmaker.begin() as session:
        total = await questions.count_waiting(session, taken_by=taken_by)
        pages = _page_count(total)
        page = min(max(page, 1), pages)
        threshold = runtime.settings.vip_followers
        found = await questions.waiting(
            session,
            taken_by=taken_by,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
            vip_followers=None if mine else threshold,
        )
        holders = {q.id: await staff.display_name(session, q.taken_by) for q in found}
        first = await priority.of_questions(session, found, threshold)
    if not found:
        return (
            _("You have no questions taken.") if mine else _("No unanswered questions. 🎉")
        ), None
    header = (
        _.ngettext(
            "{count} question you have taken:",
            "{count} questions you have taken:",
            total,
            count=total,
        )
        if mine
        else _.ngettext(
            "{count} unanswered question, priority senders (⭐) first, then the oldest:",
            "{count} unanswered questions, priority senders (⭐) first, then the oldest:",
            total,
            count=total,
        )
    )
    lines: list[str] = [header]
    if pages > 1:
        lines.append(_("Page {page} of {pages}", page=page, pages=pages))
    for question in found:
        holder = shorten(holders[question.id] or "?", MAX_NAME)
        who = _(" — {curator}", curator=holder) if question.taken_by else ""
        star = "⭐ " if question.id in first else ""
        lines.append(question_line(question, prefix=f"{star}{question.id}. ", width=80) + who)
    turn = []
    if page > 1:
        turn.append(
            InlineKeyboardButton(
                _.plain("◀ Page {page}", page=page - 1),
                callback_data=pack(Action.LIST_PAGE, page - 1, int(mine)),
            )
        )
    if page < pages:
        turn.append(
            InlineKeyboardButton(
                _.plain("Page {page} ▶", page=page + 1),
                callback_data=pack(Action.LIST_PAGE, page + 1, int(mine)),
            )
        )
    return "\n".join(lines), InlineKeyboardMarkup([turn]) if turn else None


async def _list_questions(context: OpsbotContext, sent: Sent, *, mine: bool) -> None:
    message, user, _, _role = sent
    text, markup = await render_list(context, _, user.id, mine=mine, page=1)
    await message.reply_text(
        text, parse_mode=ParseMode.HTML, disable_web_page_preview=True, reply_markup=markup
    )


@command(Role.CURATOR, "queue")
async def show_queue(update: Update, context: OpsbotContext, sent: Sent) -> None:
    await _list_questions(context, sent, mine=False)


@command(Role.CURATOR, "mine")
async def show_mine(update: Update, context: OpsbotContext, sent: Sent) -> None:
    await _list_questions(context, sent, mine=True)


@button()
async def turn_page(update: Update, context: OpsbotContext, press: Press) -> None:
    query, _, callback, _role = press
    mine = bool(callback.extra)
    asked = query.message.reply_to_message if isinstance(query.message, Message) else None
    if mine and (
        asked is None or asked.from_user is None or asked.from_user.id != query.from_user.id
    ):
        # Someone else's list of taken questions: turning it would show the presser's own.
        await answer_query(
            query,
            _.plain("Only the person who asked for this list can turn its pages."),
            alert=True,
        )
        return
    text, markup = await render_list(
        context, _, query.from_user.id, mine=mine, page=callback.target
    )
    await answer_query(query, "")
    try:
        await query.edit_message_text(
            text, parse_mode=ParseMode.HTML, disable_web_page_preview=True, reply_markup=markup
        )
    except BadRequest as exc:
        if "message is not modified" not in str(exc).lower():
            raise


@command(Role.CURATOR, "signature")
async def set_signature(update: Update, context: OpsbotContext, sent: Sent) -> None:
    message, user, _, _role = sent
    runtime = context.runtime
    text = " ".join(context.args or []).strip()
    async with runtime.sessionmaker.begin() as session:
        current = await staff.signature_of(session, user.id)
    if not text:
        await message.reply_text(
            _("Your signature: {signature}", signature=current)
            if current
            else _("No signature. Set one with /signature — Anna; remove it with /signature off.")
        )
        return
    if len(text) > MAX_SIGNATURE:
        await message.reply_text(
            _("A signature can be at most {limit} characters.", limit=MAX_SIGNATURE)
        )
        return
    value = None if text.lower() in ("off", "нет", "-") else text
    async with runtime.sessionmaker.begin() as session:
        await staff.set_signature(session, user.id, value)
        await audit.record(session, actor_id=user.id, action="signature", detail=value or "off")
    await message.reply_text(
        _("Your answers will be signed: {signature}", signature=value)
        if value
        else _("Your answers will not be signed.")
    )


@command(Role.CURATOR, "templates")
async def list_templates(update: Update, context: OpsbotContext, sent: Sent) -> None:
    message, _user, _, _role = sent
    async with context.runtime.sessionmaker.begin() as session:
        saved = await templates.for_language(session, _.language)
    if not saved:
        await message.reply_text(
            _(
                "No saved replies yet. Add one: /template add Thank you, {handle}! "
                "We will answer after the salon.",
                handle="{handle}",
            )
        )
        return
    lines = [_("Saved replies ({handle} becomes the visitor's handle):", handle="{handle}")]
    lines += [Html(f"{t.id}. {html.escape(t.text, quote=False)}") for t in saved]
    await message.reply_text("\n".join(lines))


@command(Role.CURATOR, "template")
async def change_templates(update: Update, context: OpsbotContext, sent: Sent) -> None:
    message, user, _, _role = sent
    args = context.args or []
    runtime = context.runtime
    usage = _("Usage: /template add TEXT or /template remove NUMBER")
    if len(args) >= 2 and args[0].lower() == "add":
        words = (message.text or "").split(None, 2)
        text = words[2].strip() if len(words) > 2 else ""
        if not text or len(text) > MAX_TEMPLATE:
            await message.reply_text(
                _("A saved reply needs 1 to {limit} characters.", limit=MAX_TEMPLATE)
            )
            return
        async with runtime.sessionmaker.begin() as session:
            template = await templates.add(session, _.language, text, user.id)
            await audit.record(session, actor_id=user.id, action="template_add", detail=text)
        await message.reply_text(_("Saved reply {number} added.", number=template.id))
        return
    removing = number(args[1]) if len(args) == 2 and args[0].lower() == "remove" else None
    if removing is not None:
        async with runtime.sessionmaker.begin() as session:
            removed = await templates.remove(session, removing)
            await audit.record(
                session,
                actor_id=user.id,
                action="template_remove",
                outcome=audit.OK if removed else audit.REFUSED,
                detail=args[1],
            )
        await message.reply_text(
            _("Saved reply {number} removed.", number=args[1])
            if removed
            else _("There is no saved reply {number}.", number=args[1])
        )
        return
    await message.reply_text(usage)


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("queue", show_queue))
    application.add_handler(CommandHandler("mine", show_mine))
    application.add_handler(CallbackQueryHandler(turn_page, pattern=matches(Action.LIST_PAGE)))
    application.add_handler(CommandHandler("signature", set_signature))
    application.add_handler(CommandHandler("templates", list_templates))
    application.add_handler(CommandHandler("template", change_templates))
