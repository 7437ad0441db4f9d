"""The moderator's salon: /start_salon, /end_salon, /salon, /ask, and the announcement post."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from opsbot.db.models import DeliveryState
from opsbot.i18n import N_, Translator, translator
from opsbot.services import audit, cohosting, planning, salons
from opsbot.services.posts import post_url
from opsbot.services.schedule_parse import parse_duration
from opsbot.services.tweet_length import MAX_WEIGHTED_LENGTH, weighted_length
from opsbot.telegram import salon_timers, staff_groups
from opsbot.telegram.callback_data import Action, matches
from opsbot.telegram.cohost_views import partner_refusal
from opsbot.telegram.commands import Command
from opsbot.telegram.context import OpsbotContext, Runtime
from opsbot.telegram.handlers.common import (
    actor,
    answer_query,
    clear_buttons,
    translator_for,
)
from opsbot.telegram.handlers.presses import Press, button
from opsbot.telegram.handlers.senders import Sent, command
from opsbot.telegram.origin import of_command, of_press
from opsbot.telegram.roles import Role
from opsbot.telegram.salon_opening import open_salon
from opsbot.telegram.salon_views import (
    announcement_text,
    render_state,
)

log = logging.getLogger(__name__)

COMMANDS = [
    Command(
        "start_salon",
        N_("Open a salon: /start_salon TOPIC [1h|90m] [with @partner]"),
        Role.MODERATOR,
        rank=10,
    ),
    Command("end_salon", N_("Close the live salon"), Role.MODERATOR, rank=11),
    Command("ask", N_("Ask the audience a numbered question on X"), Role.MODERATOR, rank=12),
    Command("salon", N_("The live salon's state"), Role.CURATOR, rank=22, in_private=True),
]
# How far from its planned time a bare /start_salon still finds a planned salon.
START_WINDOW = timedelta(minutes=45)
QUOTES = {'"': '"', "«": "»", "“": "”", "'": "'"}


class ArgumentError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def parse_start(
    args: list[str], text: str, default: timedelta, _: Translator
) -> tuple[str, timedelta]:
    """`TOPIC [DURATION]`; a quoted topic makes the rest unambiguous: `"Topic" 90m`."""
    body = text.split(None, 1)[1].strip() if len(text.split(None, 1)) > 1 else ""
    if not body:
        raise ArgumentError(
            _("Usage: /start_salon TOPIC [DURATION], e.g. /start_salon New Year traditions 90m")
        )
    rest: str
    if body[0] in QUOTES and QUOTES[body[0]] in body[1:]:
        end = body.index(QUOTES[body[0]], 1)
        topic, rest = body[1:end].strip(), body[end + 1 :].strip()
    else:
        words = body.split()
        last = words[-1]
        if len(words) > 1 and last[0].isdigit():
            topic, rest = " ".join(words[:-1]), last
        else:
            topic, rest = body, ""
    duration = default
    if rest:
        parsed = parse_duration(rest)
        if parsed is None or " " in rest:
            raise ArgumentError(_("“{value}” is not a duration: write 1h, 90m or 2h.", value=rest))
        duration = parsed
    if not topic:
        raise ArgumentError(_("The salon needs a topic."))
    if len(topic) > 200:
        raise ArgumentError(_("The topic is too long: at most 200 characters."))
    if duration > salons.MAX_DURATION:
        raise ArgumentError(_("A salon lasts at most 4 hours."))
    if duration < salons.MIN_DURATION:
        raise ArgumentError(_("A salon lasts at least 15 minutes."))
    return topic, duration


@command(Role.MODERATOR, "start_salon")
async def start_salon(update: Update, context: OpsbotContext, sent: Sent) -> None:
    message, user, _, _role = sent
    runtime = context.runtime
    if not context.args:
        # A bare /start_salon starts the salon planned for about now.
        async with runtime.sessionmaker.begin() as session:
            due = await planning.due_to_start(session, runtime.clock.now(), START_WINDOW)
        if due is not None:
            await open_salon(
                context,
                _,
                topic=due.topic,
                duration=timedelta(minutes=due.duration_minutes),
                by=user.id,
                reply_to=message.message_id,
                planned_id=due.id,
            )
            return
    default = timedelta(minutes=runtime.settings.salon_default_minutes)
    text, typed = cohosting.split_partner(message.text or "")
    try:
        topic, duration = parse_start(context.args or [], text, default, _)
        partner_id = await _cohost(runtime, typed, _)
    except ArgumentError as exc:
        await message.reply_text(exc.message)
        async with runtime.sessionmaker.begin() as session:
            await audit.record(
                session,
                actor_id=user.id,
                action="start_salon",
                outcome=audit.REFUSED,
                detail=exc.message,
            )
        return
    await open_salon(
        context,
        _,
        topic=topic,
        duration=duration,
        by=user.id,
        reply_to=message.message_id,
        partner_id=partner_id,
    )


async def _cohost(runtime: Runtime, typed: str | None, _: Translator) -> int | None:
    """The partner named by `with @handle`, or why the salon cannot be co-hosted with it."""
    if typed is None:
        return None
    async with runtime.sessionmaker.begin() as session:
        found = await cohosting.find_cohost(session, typed)
    if found.partner is not None:
        return found.partner.id
    raise ArgumentError(partner_refusal(found, _))


@command(Role.MODERATOR, "end_salon")
async def end_salon(update: Update, context: OpsbotContext, sent: Sent) -> None:
    message, _user, _, _role = sent
    runtime = context.runtime
    async with runtime.sessionmaker.begin() as session:
        live = await salons.live_salon(session)
    if live is None:
        await message.reply_text(_("No salon is live."))
        return
    closed = await salon_timers.close(context.bot, runtime, live.id)
    async with runtime.sessionmaker.begin() as session:
        await audit.record(
            session,
            actor_id=actor(update),
            action="end_salon",
            outcome=audit.OK if closed else audit.REFUSED,
            detail=f"salon {live.id}",
        )
    if not closed:
        await message.reply_text(_("No salon is live."))


async def show_salon(update: Update, context: OpsbotContext) -> None:
    message = update.effective_message
    if message is None:
        return
    _ = await translator_for(context, update.effective_user)
    runtime = context.runtime
    async with runtime.sessionmaker.begin() as session:
        live = await salons.live_salon(session)
        summary = await salons.summary(session, live.id) if live else None
    if live is None or summary is None:
        await message.reply_text(
            _("No salon is live. A moderator starts one with /start_salon TOPIC.")
        )
        return
    await message.reply_text(render_state(live, summary, _, runtime.settings.zone))


@command(Role.MODERATOR, "ask", partners=True)
async def ask(update: Update, context: OpsbotContext, sent: Sent) -> None:
    message, user, _, _role = sent
    runtime = context.runtime
    words = (message.text or "").split(None, 1)
    prompt = words[1].strip() if len(words) > 1 else ""
    if not prompt:
        await message.reply_text(
            _("Usage: /ask TEXT — the museum posts it as Q1, Q2, … with the hashtag.")
        )
        return
    async with runtime.sessionmaker.begin() as session:
        live = await salons.live_salon(session)
    if live is None:
        await message.reply_text(_("No salon is live."))
        return
    tag = runtime.settings.hashtag
    longest = salons.prompt_text(99, prompt, tag)
    if weighted_length(longest) > MAX_WEIGHTED_LENGTH:
        await message.reply_text(
            _(
                "Too long for X: {length}/{limit}. Shorten the question.",
                length=weighted_length(longest),
                limit=MAX_WEIGHTED_LENGTH,
            )
        )
        return
    # A partner's moderator asks from the partner's account.
    partner = next(
        (
            partner
            for partner, role in await staff_groups.partners_of(runtime, user.id)
            if role == Role.MODERATOR
        ),
        None,
    )
    async with runtime.sessionmaker.begin() as session:
        queued = await salons.ask(
            session,
            live.id,
            prompt,
            tag,
            now=runtime.clock.now(),
            origin=of_command(message),
            partner_id=partner.id if partner is not None else None,
        )
        row = queued.delivery
        await audit.record(
            session,
            actor_id=actor(update),
            action="ask",
            outcome=audit.OK if queued.created else audit.REFUSED,
            detail=f"Q{row.number}" if queued.created else f"Q{row.number} already {row.state}",
        )
    if queued.created:
        # The outbox posts it and answers the moderator with its link.
        runtime.outbox.wake()
    elif row.state == DeliveryState.SENT:
        await message.reply_text(
            _(
                "This question was already asked as Q{number}: {url}",
                number=row.number,
                url=post_url(
                    partner.handle if partner is not None else runtime.settings.x_account,
                    row.external_id or "",
                ),
            )
        )
    else:
        await message.reply_text(
            _("This question is already being posted as Q{number}.", number=row.number)
        )


@button(moderators_only=True)
async def on_announcement(update: Update, context: OpsbotContext, press: Press) -> None:
    query, _, callback, _role = press
    runtime = context.runtime
    posting = callback.action == Action.ANNOUNCE
    origin = of_press(query)
    async with runtime.sessionmaker.begin() as session:
        salon = await salons.get(session, callback.target)
        if salon is None:
            claimed = False
        elif posting:
            group = translator(runtime.settings.default_language)
            text = announcement_text(
                salon,
                group,
                runtime.settings.zone,
                runtime.settings.hashtag,
                runtime.settings.x_account,
            )
            origin = replace(origin, thread_id=salon.thread_id)
            queued = await salons.announce(
                session, salon.id, text, now=runtime.clock.now(), origin=origin
            )
            claimed = queued.created
        else:
            claimed = await salons.skip_announcement(
                session, callback.target, now=runtime.clock.now(), origin=origin
            )
        await audit.record(
            session,
            actor_id=query.from_user.id,
            action="announce" if posting else "skip_announce",
            outcome=audit.OK if claimed else audit.REFUSED,
            detail=f"salon {callback.target}",
        )
    if not claimed:
        await answer_query(query, _.plain("This announcement was already handled."), alert=True)
        return
    await clear_buttons(query)
    if posting:
        runtime.outbox.wake()
        await answer_query(query, _.plain("Posting…"))
    else:
        await answer_query(query, _.plain("Skipped."))


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("start_salon", start_salon))
    application.add_handler(CommandHandler("end_salon", end_salon))
    application.add_handler(CommandHandler("salon", show_salon))
    application.add_handler(CommandHandler("ask", ask))
    application.add_handler(
        CallbackQueryHandler(
            on_announcement, pattern=matches(Action.ANNOUNCE, Action.SKIP_ANNOUNCE)
        )
    )
