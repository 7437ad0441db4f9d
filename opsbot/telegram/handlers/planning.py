"""Planning salons ahead: /schedule, /salons, /unschedule, /reschedule, /duty, private /start."""

from __future__ import annotations

import html
import logging
from datetime import timedelta

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, CommandHandler, filters

from opsbot.db.models import Salon
from opsbot.i18n import N_, Html, Translator
from opsbot.services import audit, cohosting, planning, staff
from opsbot.services.posts import normalise_handle
from opsbot.services.schedule_parse import OneOff, ScheduleError, parse_schedule
from opsbot.telegram.cohost_views import partner_refusal
from opsbot.telegram.commands import Command
from opsbot.telegram.context import OpsbotContext, Runtime
from opsbot.telegram.handlers.answers import answer_from_link
from opsbot.telegram.handlers.common import actor, number, see_user, translator_for
from opsbot.telegram.handlers.senders import Sent, command
from opsbot.telegram.private_answers import question_of_payload
from opsbot.telegram.roles import Role

log = logging.getLogger(__name__)

COMMANDS = [
    Command("salons", N_("The planned salons"), Role.CURATOR, rank=40, in_private=True),
    Command(
        "schedule",
        N_("Plan a salon: /schedule sat 19:00 TOPIC [1h] [with @partner]"),
        Role.MODERATOR,
        rank=41,
    ),
    Command("duty", N_("Curators on duty: /duty N @curator …"), Role.MODERATOR, rank=42),
    Command(
        "reschedule", N_("Move a planned salon: /reschedule N DATE TIME"), Role.MODERATOR, rank=43
    ),
    Command(
        "unschedule", N_("Cancel a planned salon: /unschedule N [series]"), Role.MODERATOR, rank=44
    ),
    Command(
        "autostart",
        N_("A planned salon starts by itself: /autostart N on|off"),
        Role.MODERATOR,
        rank=45,
    ),
    # /start in a private chat is how a curator asks for reminders there.
    Command(
        "start",
        N_("Get your duty reminders in this chat"),
        Role.CURATOR,
        rank=95,
        in_group=False,
        in_private=True,
    ),
]


def formats(_: Translator) -> Html:
    return _(
        "Dates: 2026-12-29, 29.12, 29.12.2026 or a weekday (sat, сб, saturday, суббота); "
        "time: 19:00; duration: 1h, 90m (15 minutes to 4 hours).\n"
        "Example: /schedule sat 19:00 New Year traditions 90m, or "
        "/schedule weekly sat 19:00 Museum salon"
    )


def explain(error: ScheduleError, _: Translator) -> Html:
    token = str(error.details.get("token", ""))
    messages = {
        "empty": _("Say when and what: /schedule DATE TIME TOPIC [DURATION]."),
        "missing_time": _("The time is missing."),
        "bad_date": _("“{token}” is not a date I understand.", token=token),
        "two_digit_year": _("“{token}”: write the year in full, e.g. 29.12.2026.", token=token),
        "in_past": _("That time has already passed."),
        "bad_weekday": _("“{token}” is not a day of the week.", token=token),
        "bad_time": _("“{token}” is not a time: write 19:00.", token=token),
        "bad_duration": _("“{token}” is not a duration: write 1h or 90m.", token=token),
        "duration_out_of_range": _("A salon lasts from 15 minutes to 4 hours."),
        "missing_topic": _("The salon needs a topic."),
        "topic_too_long": _("The topic is too long: at most 200 characters."),
        "nonexistent_time": _("That time does not exist on that day: the clocks change."),
    }
    return Html(messages.get(error.code, messages["empty"]) + "\n" + formats(_))


def describe(salon: Salon, runtime: Runtime) -> str:
    # A salon started on the spot has no planned start: it is told by when it started.
    starts_at = salon.planned_start_at or salon.started_at
    assert starts_at is not None
    local = starts_at.astimezone(runtime.settings.zone)
    weekly = " ↻" if salon.series_id else ""
    return f"#{salon.id} · {local:%d.%m.%Y %H:%M} · {salon.topic}{weekly}"


@command(Role.MODERATOR, "schedule")
async def schedule(update: Update, context: OpsbotContext, sent: Sent) -> None:
    message, user, _, _role = sent
    runtime = context.runtime
    settings = runtime.settings
    rest, typed = cohosting.split_partner(" ".join(context.args or []))
    try:
        parsed = parse_schedule(
            rest.split(),
            now=runtime.clock.now(),
            zone=settings.zone,
            default_duration=timedelta(minutes=settings.salon_default_minutes),
        )
    except ScheduleError as error:
        async with runtime.sessionmaker.begin() as session:
            await audit.record(
                session,
                actor_id=user.id,
                action="schedule",
                outcome=audit.REFUSED,
                detail=error.code,
            )
        await message.reply_text(explain(error, _), parse_mode=ParseMode.HTML)
        return
    partner_id = None
    if typed is not None:
        refusal: str | None = None
        if not isinstance(parsed, OneOff):
            refusal = _(
                "A weekly series is hosted by the museum alone: plan each co-hosted salon "
                "on its own, e.g. /schedule 28.12 19:00 New Year traditions with @{handle}",
                handle=typed,
            )
        else:
            async with runtime.sessionmaker.begin() as session:
                found = await cohosting.find_cohost(session, typed)
            if found.partner is None:
                refusal = partner_refusal(found, _)
            else:
                partner_id = found.partner.id
        if refusal is not None:
            async with runtime.sessionmaker.begin() as session:
                await audit.record(
                    session,
                    actor_id=user.id,
                    action="schedule",
                    outcome=audit.REFUSED,
                    detail=f"with @{typed}",
                )
            await message.reply_text(refusal)
            return
    async with runtime.sessionmaker.begin() as session:
        if isinstance(parsed, OneOff):
            result = await planning.plan_one(
                session,
                starts_at=parsed.starts_at,
                topic=parsed.topic,
                duration=parsed.duration,
                by=user.id,
                offsets=settings.reminder_offsets,
                zone=settings.zone,
                partner_id=partner_id,
            )
        else:
            result = await planning.plan_series(
                session,
                parsed,
                by=user.id,
                offsets=settings.reminder_offsets,
                zone=settings.zone,
                now=runtime.clock.now(),
            )
        await audit.record(
            session,
            actor_id=user.id,
            action="schedule",
            outcome=audit.REFUSED if result.refusal else audit.OK,
            detail=", ".join(str(s.id) for s in result.salons) or str(result.refusal),
        )
    if result.refusal is not None or not result.salons:
        clash = result.clash
        await message.reply_text(
            _("That time clashes with salon {salon}.", salon=describe(clash, runtime))
            + Html("\n")
            + formats(_)
            if clash is not None
            else formats(_),
            parse_mode=ParseMode.HTML,
        )
        return
    lines = [_("Planned:")] + [Html(html.escape(describe(s, runtime))) for s in result.salons]
    lines.append(_("Curators on duty: /duty {number} @curator …", number=result.salons[0].id))
    await message.reply_text("\n".join(lines), parse_mode=ParseMode.HTML)


async def list_salons(update: Update, context: OpsbotContext) -> None:
    message = update.effective_message
    if message is None:
        return
    _ = await translator_for(context, update.effective_user)
    runtime = context.runtime
    async with runtime.sessionmaker.begin() as session:
        found = await planning.upcoming(session, runtime.clock.now())
        duties = {s.id: await planning.on_duty(session, s.id) for s in found}
    if not found:
        await message.reply_text(_("Nothing is planned. /schedule plans a salon."))
        return
    lines: list[str] = [_("Planned salons:")]
    for salon in found:
        line: str = Html(html.escape(describe(salon, runtime)))
        names = ", ".join(m.first_name for m in duties[salon.id])
        if names:
            line += _(" — on duty: {names}", names=names)
        lines.append(line)
    await message.reply_text("\n".join(lines), parse_mode=ParseMode.HTML)


def _number(args: list[str]) -> int | None:
    return number(args[0]) if args else None


@command(Role.MODERATOR, "unschedule")
async def unschedule(update: Update, context: OpsbotContext, sent: Sent) -> None:
    message, _user, _, _role = sent
    args = context.args or []
    number = _number(args)
    whole = len(args) == 2 and args[1].lower() in ("series", "all", "серию", "все", "всё")
    if number is None or len(args) > 2 or (len(args) == 2 and not whole):
        await message.reply_text(
            _("Usage: /unschedule NUMBER, or /unschedule NUMBER series for the whole series.")
        )
        return
    async with context.runtime.sessionmaker.begin() as session:
        cancelled = await planning.unschedule(session, number, whole_series=whole)
        await audit.record(
            session,
            actor_id=actor(update),
            action="unschedule",
            outcome=audit.OK if cancelled else audit.REFUSED,
            detail=str(cancelled or number),
        )
    if not cancelled:
        await message.reply_text(_("There is no planned salon #{number}.", number=number))
        return
    await message.reply_text(
        _.ngettext(
            "Cancelled {count} planned salon, with its reminders.",
            "Cancelled {count} planned salons, with their reminders.",
            len(cancelled),
            count=len(cancelled),
        )
    )


@command(Role.MODERATOR, "reschedule")
async def reschedule(update: Update, context: OpsbotContext, sent: Sent) -> None:
    message, _user, _, _role = sent
    runtime = context.runtime
    settings = runtime.settings
    args = context.args or []
    number = _number(args)
    if number is None or len(args) != 3:
        await message.reply_text(
            _("Usage: /reschedule NUMBER DATE TIME") + Html("\n") + formats(_),
            parse_mode=ParseMode.HTML,
        )
        return
    try:
        parsed = parse_schedule(
            [args[1], args[2], "-"],
            now=runtime.clock.now(),
            zone=settings.zone,
            default_duration=timedelta(minutes=settings.salon_default_minutes),
        )
    except ScheduleError as error:
        await message.reply_text(explain(error, _), parse_mode=ParseMode.HTML)
        return
    if not isinstance(parsed, OneOff):
        await message.reply_text(formats(_), parse_mode=ParseMode.HTML)
        return
    async with runtime.sessionmaker.begin() as session:
        result = await planning.reschedule(
            session, number, parsed.starts_at, offsets=settings.reminder_offsets, zone=settings.zone
        )
        await audit.record(
            session,
            actor_id=actor(update),
            action="reschedule",
            outcome=audit.REFUSED if result.refusal else audit.OK,
            detail=f"{number} -> {parsed.starts_at.isoformat()}",
        )
    if result.refusal == planning.PlanRefusal.NOT_FOUND:
        await message.reply_text(_("There is no planned salon #{number}.", number=number))
    elif result.refusal is not None and result.clash is not None:
        await message.reply_text(
            _("That time clashes with salon {salon}.", salon=describe(result.clash, runtime))
        )
    else:
        await message.reply_text(_("Moved: {salon}", salon=describe(result.salons[0], runtime)))


@command(Role.MODERATOR, "duty")
async def duty(update: Update, context: OpsbotContext, sent: Sent) -> None:
    message, _user, _, _role = sent
    runtime = context.runtime
    args = context.args or []
    number = _number(args)
    handles = args[1:]
    if (
        number is None
        or not handles
        or not all(h.startswith("@") and normalise_handle(h) for h in handles)
    ):
        await message.reply_text(_("Usage: /duty NUMBER @curator @curator …"))
        return
    async with runtime.sessionmaker.begin() as session:
        salon = await planning.planned(session, number)
        people = [await planning.staff_by_username(session, h) for h in handles]
        unknown = [h for h, p in zip(handles, people, strict=True) if p is None]
        if salon is not None and not unknown:
            await planning.set_duty(session, number, [p.telegram_id for p in people if p])
            await audit.record(
                session,
                actor_id=actor(update),
                action="duty",
                detail=f"{number}: {' '.join(handles)}",
            )
    if salon is None:
        await message.reply_text(_("There is no planned salon #{number}.", number=number))
        return
    if unknown:
        await message.reply_text(
            _(
                "I do not know {handles} yet: they should write anything in this group first.",
                handles=", ".join(unknown),
            )
        )
        return
    names = ", ".join(p.first_name for p in people if p)
    await message.reply_text(_("On duty for salon #{number}: {names}.", number=number, names=names))


@command(Role.MODERATOR, "autostart")
async def autostart(update: Update, context: OpsbotContext, sent: Sent) -> None:
    message, _user, _, _role = sent
    args = [a.lower() for a in context.args or []]
    number = _number(args)
    if number is None or len(args) != 2 or args[1] not in ("on", "off"):
        await message.reply_text(_("Usage: /autostart NUMBER on, or /autostart NUMBER off"))
        return
    enabled = args[1] == "on"
    async with context.runtime.sessionmaker.begin() as session:
        changed = await planning.set_auto_start(session, number, enabled)
        await audit.record(
            session,
            actor_id=actor(update),
            action="autostart",
            outcome=audit.OK if changed else audit.REFUSED,
            detail=f"{number} {args[1]}",
        )
    if not changed:
        await message.reply_text(_("There is no planned salon #{number}.", number=number))
    elif enabled:
        await message.reply_text(
            _("Salon #{number} will start by itself at its time.", number=number)
        )
    else:
        await message.reply_text(
            _(
                "Salon #{number} waits for a moderator's /start_salon; I will remind you.",
                number=number,
            )
        )


async def private_start(update: Update, context: OpsbotContext) -> None:
    """/start in a private chat: staff members answer and get their reminders here from now on.

    "/start a<question>" is the deep link an Answer press opens (`private_answers`).

    The guards have already turned away anyone outside the staff group.
    """
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    _ = await translator_for(context, user)
    runtime = context.runtime
    async with runtime.sessionmaker.begin() as session:
        await see_user(session, user)
        await staff.open_private_chat(session, user.id)
    question_id = question_of_payload(context.args[0]) if context.args else None
    if question_id is not None:
        await answer_from_link(update, context, question_id)
        return
    await message.reply_text(
        _(
            "Hello! From now on, when you press Answer on a card in the staff group, I will ask "
            "for your answer here, and show its preview here. When you are on duty, your "
            "reminders will come here too."
        )
    )


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(
        CommandHandler("start", private_start, filters=filters.ChatType.PRIVATE)
    )
    application.add_handler(CommandHandler("schedule", schedule))
    application.add_handler(CommandHandler("salons", list_salons))
    application.add_handler(CommandHandler("unschedule", unschedule))
    application.add_handler(CommandHandler("reschedule", reschedule))
    application.add_handler(CommandHandler("duty", duty))
    application.add_handler(CommandHandler("autostart", autostart))
