"""The moderator's salon: /start_salon, /end_salon, /salon, /ask, and the announcement post."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from typing import cast

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, JobQueue

from opsbot.db.base import utcnow
from opsbot.db.models import DeliveryState
from opsbot.i18n import N_, Translator, translator
from opsbot.services import audit, planning, salons
from opsbot.services.posts import post_url
from opsbot.services.schedule_parse import parse_duration
from opsbot.services.tweet_length import MAX_WEIGHTED_LENGTH, weighted_length
from opsbot.telegram import salon_timers
from opsbot.telegram.callback_data import Action, matches
from opsbot.telegram.commands import Command
from opsbot.telegram.context import OpsbotContext, Services
from opsbot.telegram.handlers.common import (
    actor,
    answer_query,
    clear_buttons,
    staff_sender,
    translator_for,
)
from opsbot.telegram.handlers.presses import Press, button
from opsbot.telegram.origin import of_command, of_press
from opsbot.telegram.roles import Role
from opsbot.telegram.salon_views import (
    announcement_text,
    render_post_preview,
    render_start,
    render_state,
)

log = logging.getLogger(__name__)

COMMANDS = [
    Command(
        "start_salon", N_("Open a salon: /start_salon TOPIC [1h|90m]"), Role.MODERATOR, rank=10
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


def jobs_of(context: OpsbotContext) -> JobQueue[OpsbotContext]:
    jobs = cast("JobQueue[OpsbotContext] | None", context.job_queue)
    assert jobs is not None
    return jobs


async def moderator(update: Update, context: OpsbotContext, action: str) -> Translator | None:
    """The sender's translator if they are a moderator; otherwise say why not, and log it."""
    checked = await staff_sender(
        update, context, action=action, moderators_only=True, detail="not a moderator"
    )
    return checked[0] if checked else None


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


async def start_salon(update: Update, context: OpsbotContext) -> None:
    _ = await moderator(update, context, "start_salon")
    message = update.effective_message
    user = update.effective_user
    if _ is None or message is None or user is None:
        return
    services = context.services
    if not context.args:
        # A bare /start_salon starts the salon planned for about now.
        async with services.sessionmaker.begin() as session:
            due = await planning.due_to_start(session, services.clock(), START_WINDOW)
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
    default = timedelta(minutes=services.settings.salon_default_minutes)
    try:
        topic, duration = parse_start(context.args or [], message.text or "", default, _)
    except ArgumentError as exc:
        await message.reply_text(exc.message)
        async with services.sessionmaker.begin() as session:
            await audit.record(
                session,
                actor_id=user.id,
                action="start_salon",
                outcome=audit.REFUSED,
                detail=exc.message,
            )
        return
    await open_salon(
        context, _, topic=topic, duration=duration, by=user.id, reply_to=message.message_id
    )


async def open_salon(
    context: OpsbotContext,
    _: Translator,
    *,
    topic: str,
    duration: timedelta,
    by: int | None,
    reply_to: int | None = None,
    planned_id: int | None = None,
) -> bool:
    """Start a salon (by command or by the schedule) and tell the group."""
    services = context.services
    async with services.sessionmaker.begin() as session:
        started = await salons.start(
            session, topic=topic, duration=duration, by=by, now=utcnow(), salon_id=planned_id
        )
        await audit.record(
            session,
            actor_id=by,
            action="start_salon",
            outcome=audit.OK if started.salon else audit.REFUSED,
            detail=topic if started.salon else "already live",
        )
    if started.salon is None:
        live = started.live
        await context.bot.send_message(
            services.staff_chat_id,
            _(
                "Salon #{number} “{topic}” is already live; end it first with /end_salon.",
                number=live.id if live else "?",
                topic=live.topic if live else "",
            ),
            reply_to_message_id=reply_to,
        )
        return False
    salon = started.salon
    services.live_salon_id = salon.id
    # The audience starts asking the moment the salon is announced: read X at the live pace now.
    services.polls.soon()
    thread_id = await _forum_topic(context, salon.id, topic)
    if thread_id is not None:
        salon.thread_id = thread_id
    salon_timers.arm(jobs_of(context), salon)
    group = translator(services.settings.default_language)
    await context.bot.send_message(
        services.staff_chat_id,
        render_start(salon, group, services.settings.zone),
        parse_mode=ParseMode.HTML,
        message_thread_id=thread_id,
    )
    text = announcement_text(
        salon, group, services.settings.zone, services.settings.hashtag, services.settings.x_account
    )
    body, markup = render_post_preview(
        group(N_("📣 An announcement for X:")),
        text,
        group,
        post=Action.ANNOUNCE,
        skip=Action.SKIP_ANNOUNCE,
        target=salon.id,
    )
    await context.bot.send_message(
        services.staff_chat_id,
        body,
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
        message_thread_id=thread_id,
    )
    return True


async def _forum_topic(context: OpsbotContext, salon_id: int, topic: str) -> int | None:
    """In a forum group the salon gets its own topic for its cards."""
    services = context.services
    try:
        chat = await context.bot.get_chat(services.staff_chat_id)
        if not chat.is_forum:
            return None
        created = await context.bot.create_forum_topic(
            services.staff_chat_id, f"#{salon_id} {topic}"[:128]
        )
    except TelegramError as exc:
        log.warning("could not create the salon's forum topic: %s", exc)
        return None
    async with services.sessionmaker.begin() as session:
        await salons.set_thread(session, salon_id, created.message_thread_id)
    return created.message_thread_id


async def end_salon(update: Update, context: OpsbotContext) -> None:
    _ = await moderator(update, context, "end_salon")
    message = update.effective_message
    if _ is None or message is None:
        return
    services = context.services
    async with services.sessionmaker.begin() as session:
        live = await salons.live_salon(session)
    if live is None:
        await message.reply_text(_("No salon is live."))
        return
    closed = await salon_timers.close(context.bot, services, jobs_of(context), live.id)
    async with services.sessionmaker.begin() as session:
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
    services = context.services
    async with services.sessionmaker.begin() as session:
        live = await salons.live_salon(session)
        summary = await salons.summary(session, live.id) if live else None
    if live is None or summary is None:
        await message.reply_text(
            _("No salon is live. A moderator starts one with /start_salon TOPIC.")
        )
        return
    await message.reply_text(render_state(live, summary, _, services.settings.zone))


async def ask(update: Update, context: OpsbotContext) -> None:
    _ = await moderator(update, context, "ask")
    message = update.effective_message
    if _ is None or message is None:
        return
    services = context.services
    words = (message.text or "").split(None, 1)
    prompt = words[1].strip() if len(words) > 1 else ""
    if not prompt:
        await message.reply_text(
            _("Usage: /ask TEXT — the museum posts it as Q1, Q2, … with the hashtag.")
        )
        return
    async with services.sessionmaker.begin() as session:
        live = await salons.live_salon(session)
    if live is None:
        await message.reply_text(_("No salon is live."))
        return
    tag = services.settings.hashtag
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
    async with services.sessionmaker.begin() as session:
        queued = await salons.ask(
            session,
            live.id,
            prompt,
            tag,
            now=utcnow(),
            origin=of_command(message),
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
        services.outbox.wake()
    elif row.state == DeliveryState.SENT:
        await message.reply_text(
            _(
                "This question was already asked as Q{number}: {url}",
                number=row.number,
                url=post_url(services.settings.x_account, row.external_id or ""),
            )
        )
    else:
        await message.reply_text(
            _("This question is already being posted as Q{number}.", number=row.number)
        )


@button(moderators_only=True)
async def on_announcement(update: Update, context: OpsbotContext, press: Press) -> None:
    query, _, callback, _role = press
    services = context.services
    posting = callback.action == Action.ANNOUNCE
    origin = of_press(query)
    async with services.sessionmaker.begin() as session:
        salon = await salons.get(session, callback.target)
        if salon is None:
            claimed = False
        elif posting:
            group = translator(services.settings.default_language)
            text = announcement_text(
                salon,
                group,
                services.settings.zone,
                services.settings.hashtag,
                services.settings.x_account,
            )
            origin = replace(origin, thread_id=salon.thread_id)
            queued = await salons.announce(session, salon.id, text, now=utcnow(), origin=origin)
            claimed = queued.created
        else:
            claimed = await salons.skip_announcement(
                session, callback.target, now=utcnow(), origin=origin
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
        services.outbox.wake()
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


async def resume(application: Application, services: Services) -> None:  # type: ignore[type-arg]
    """After a restart: the live salon keeps its number, its topic and its clock."""
    async with services.sessionmaker.begin() as session:
        live = await salons.live_salon(session)
    services.live_salon_id = live.id if live else None
    if live is not None:
        salon_timers.arm(cast("JobQueue[OpsbotContext]", application.job_queue), live)
