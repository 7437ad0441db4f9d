"""The lottery in the staff group: /draw, /redraw, /entrants, /exclude, /include, /xhandle."""

from __future__ import annotations

import io
import json
import logging
import re
from datetime import timedelta

from telegram import InputFile, Update
from telegram.constants import ParseMode
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from opsbot.db.base import utcnow
from opsbot.db.models import Salon
from opsbot.i18n import N_, translator
from opsbot.services import audit, draws, lottery, salons, staff
from opsbot.services.draws import DrawRefusal, RedrawRefusal
from opsbot.services.posts import normalise_handle
from opsbot.telegram.callback_data import Action, matches
from opsbot.telegram.commands import Command
from opsbot.telegram.context import OpsbotContext
from opsbot.telegram.handlers.common import answer_query, clear_buttons, number, translator_for
from opsbot.telegram.handlers.presses import Press, button
from opsbot.telegram.handlers.salons import moderator
from opsbot.telegram.origin import of_press
from opsbot.telegram.roles import Role
from opsbot.telegram.salon_views import draw_announcement, render_draw, render_post_preview

log = logging.getLogger(__name__)

COMMANDS = [
    Command("draw", N_("Draw the tickets: /draw [WINNERS] [PRIZE]"), Role.MODERATOR, rank=13),
    Command(
        "redraw",
        N_("Replace a winner by the next in reserve: /redraw @handle"),
        Role.MODERATOR,
        rank=30,
    ),
    Command(
        "entrants",
        N_("The lottery's entrant list as a file, to check the draw"),
        Role.MODERATOR,
        rank=31,
    ),
    Command(
        "xhandle",
        N_("Tell the bot your own X account, so the lottery leaves it out"),
        Role.CURATOR,
        rank=52,
        in_private=True,
    ),
    Command(
        "exclude",
        N_("Leave an X account out of the lottery: /exclude @handle"),
        Role.MODERATOR,
        rank=60,
    ),
    Command(
        "include",
        N_("Let an excluded X account back in: /include @handle"),
        Role.MODERATOR,
        rank=61,
    ),
]


def _cooldown(context: OpsbotContext) -> timedelta:
    return timedelta(days=context.services.settings.lottery_cooldown_days)


async def draw(update: Update, context: OpsbotContext) -> None:
    _ = await moderator(update, context, "draw")
    message = update.effective_message
    user = update.effective_user
    if _ is None or message is None or user is None:
        return
    services = context.services
    args = context.args or []
    winners = 1
    if args and re.fullmatch(r"[-+]?[0-9]+", args[0]):
        # A number first is the winner count, whatever its size; the range check says no.
        parsed = number(args[0].lstrip("+"))
        winners = parsed if parsed is not None else 0
        args = args[1:]
    if not 1 <= winners <= draws.MAX_WINNERS:
        await message.reply_text(
            _("The number of winners must be between 1 and {limit}.", limit=draws.MAX_WINNERS)
        )
        return
    prize = " ".join(args)[:200]
    async with services.sessionmaker.begin() as session:
        salon = await salons.latest(session)
        outcome = await draws.draw(
            session,
            salon,
            winners=winners,
            prize=prize,
            by=user.id,
            now=utcnow(),
            cooldown=_cooldown(context),
        )
        await audit.record(
            session,
            actor_id=user.id,
            action="draw",
            outcome=audit.OK if outcome.draw else audit.REFUSED,
            detail=outcome.refusal.value
            if outcome.refusal
            else f"salon {salon.id if salon else '?'}",
        )
    if outcome.refusal is not None or outcome.draw is None or salon is None:
        texts = {
            DrawRefusal.NO_SALON: _("There has been no salon yet: nothing to draw."),
            DrawRefusal.NOT_STARTED: _("This salon has not started yet: nothing to draw."),
            DrawRefusal.STILL_LIVE: _(
                "The salon is still live: end it with /end_salon, then draw."
            ),
            DrawRefusal.NO_ENTRANTS: _("Nobody can enter this draw: no eligible participants."),
            DrawRefusal.FEWER_ENTRANTS: _.ngettext(
                "Only {count} participant can enter, fewer than the winners asked for.",
                "Only {count} participants can enter, fewer than the winners asked for.",
                outcome.entrants,
                count=outcome.entrants,
            ),
        }
        await message.reply_text(texts[outcome.refusal or DrawRefusal.NO_SALON])
        return
    if not outcome.created:
        await message.reply_text(_("This salon's draw was already made; here is its result."))
    text, markup = render_draw(salon, outcome.draw, translator(services.settings.default_language))
    await message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)


async def redraw(update: Update, context: OpsbotContext) -> None:
    _ = await moderator(update, context, "redraw")
    message = update.effective_message
    user = update.effective_user
    if _ is None or message is None or user is None:
        return
    handle = normalise_handle(context.args[0]) if context.args else None
    if handle is None or len(context.args or []) != 1:
        await message.reply_text(_("Usage: /redraw @handle"))
        return
    services = context.services
    async with services.sessionmaker.begin() as session:
        salon = await salons.latest(session)
        result = (
            await draws.redraw(session, salon.id, handle)
            if salon
            else draws.Redrawn(None, refusal=RedrawRefusal.NO_DRAW)
        )
        await audit.record(
            session,
            actor_id=user.id,
            action="redraw",
            outcome=audit.OK if result.refusal is None else audit.REFUSED,
            detail=f"@{handle} -> {result.promoted or result.refusal}",
        )
    if result.refusal is not None or result.draw is None or salon is None:
        texts = {
            RedrawRefusal.NO_DRAW: _("There is no draw to change yet: use /draw first."),
            RedrawRefusal.NOT_A_WINNER: _("@{handle} is not among the winners.", handle=handle),
            RedrawRefusal.NO_RESERVE: _("The reserve list is empty: nobody left to promote."),
        }
        await message.reply_text(texts[result.refusal or RedrawRefusal.NO_DRAW])
        return
    names = draws.handles_of(result.draw)
    await message.reply_text(
        _(
            "@{old} is replaced by @{new}, the next in the reserve list.",
            old=names.get(result.replaced or "", "?"),
            new=names.get(result.promoted or "", "?"),
        )
    )
    text, markup = render_draw(salon, result.draw, translator(services.settings.default_language))
    await message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)


async def entrants(update: Update, context: OpsbotContext) -> None:
    _ = await moderator(update, context, "entrants")
    message = update.effective_message
    if _ is None or message is None:
        return
    services = context.services
    async with services.sessionmaker.begin() as session:
        salon = await salons.latest(session)
        stored = await draws.stored(session, salon.id) if salon else None
        people = (
            await draws.entrants(session, salon, now=utcnow(), cooldown=_cooldown(context))
            if salon and stored is None
            else []
        )
    if salon is None:
        await message.reply_text(_("There has been no salon yet: nothing to draw."))
        return
    if stored is not None:
        names = draws.handles_of(stored)
        result = lottery.DrawResult(
            entrants=list(names),
            entrant_hash=stored.entrant_hash,
            commitment=salon.commitment,
            secret_hex=salon.secret,
            # The draw as made: a later /redraw only promotes from this reserve, in order.
            winners=json.loads(stored.ranking)[: stored.winners_count],
            reserve=json.loads(stored.ranking)[stored.winners_count :],
        )
        payload = lottery.export_json(result, salon=_salon_info(salon), handles=names)
        filename = f"salon-{salon.id}-draw.json"
        caption = _(
            "The draw of salon #{number}: check it with <code>opsbot verify-draw {file}</code>.",
            number=salon.id,
            file=filename,
        )
    else:
        payload = lottery.export_csv([(p.id, p.handle) for p in people])
        filename = f"salon-{salon.id}-entrants.csv"
        caption = _.ngettext(
            "Salon #{number}: {count} entrant so far (not drawn yet).",
            "Salon #{number}: {count} entrants so far (not drawn yet).",
            len(people),
            number=salon.id,
            count=len(people),
        )
    await message.reply_document(
        InputFile(io.BytesIO(payload.encode()), filename=filename),
        caption=caption,
        parse_mode=ParseMode.HTML,
    )


def _salon_info(salon: Salon) -> dict[str, object]:
    return {
        "number": salon.id,
        "topic": salon.topic,
        "started_at": salon.started_at.isoformat() if salon.started_at else None,
        "ended_at": salon.ended_at.isoformat() if salon.ended_at else None,
    }


async def _exclusion(update: Update, context: OpsbotContext, *, add: bool) -> None:
    name = "exclude" if add else "include"
    _ = await moderator(update, context, name)
    message = update.effective_message
    user = update.effective_user
    if _ is None or message is None or user is None:
        return
    handle = normalise_handle(context.args[0]) if context.args else None
    if handle is None or len(context.args or []) != 1:
        await message.reply_text(_("Usage: /{command} @handle", command=name))
        return
    async with context.services.sessionmaker.begin() as session:
        changed = await (
            draws.exclude(session, handle, user.id) if add else draws.include(session, handle)
        )
        await audit.record(session, actor_id=user.id, action=name, detail=f"@{handle}")
    if add:
        text = (
            _("@{handle} is left out of the lottery.", handle=handle)
            if changed
            else _("@{handle} was already left out.", handle=handle)
        )
    else:
        text = (
            _("@{handle} can enter the lottery again.", handle=handle)
            if changed
            else _("@{handle} was not excluded.", handle=handle)
        )
    await message.reply_text(text)


async def exclude(update: Update, context: OpsbotContext) -> None:
    await _exclusion(update, context, add=True)


async def include(update: Update, context: OpsbotContext) -> None:
    await _exclusion(update, context, add=False)


async def xhandle(update: Update, context: OpsbotContext) -> None:
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    _ = await translator_for(context, user)
    services = context.services
    if await services.roles.role_of(services.staff_chat_id, user.id) is None:
        await message.reply_text(_("Only members of the staff group can do this."))
        return
    args = context.args or []
    value: str | None
    if len(args) == 1 and args[0].lower() == "off":
        value = None
    else:
        value = normalise_handle(args[0]) if len(args) == 1 else None
        if value is None:
            await message.reply_text(_("Usage: /xhandle @your_x_account (or /xhandle off)"))
            return
    async with services.sessionmaker.begin() as session:
        await staff.set_x_handle(session, user.id, value)
        await audit.record(session, actor_id=user.id, action="xhandle", detail=value or "off")
    await message.reply_text(
        _("Noted: @{handle} is yours and stays out of the lottery.", handle=value)
        if value
        else _("Your X account is forgotten.")
    )


@button(moderators_only=True)
async def on_draw_button(update: Update, context: OpsbotContext, press: Press) -> None:
    """Announce on X -> a preview; Post -> the announcement, once; Skip -> nothing."""
    query, _, callback, _role = press
    services = context.services
    async with services.sessionmaker.begin() as session:
        row = await draws.get(session, callback.target)
        salon = await salons.get(session, row.salon_id) if row else None
    if row is None or salon is None:
        await answer_query(query, _.plain("This button is not valid any more."), alert=True)
        return
    group = translator(services.settings.default_language)
    text = draw_announcement(salon, row, group, services.settings.hashtag)
    if callback.action == Action.DRAW_ANNOUNCE:
        body, markup = render_post_preview(
            group(N_("📣 The winners' announcement for X:")),
            text,
            group,
            post=Action.DRAW_POST,
            skip=Action.DRAW_SKIP,
            target=row.id,
        )
        await answer_query(query, _.plain("Check the text, then press Post."))
        await context.bot.send_message(
            services.staff_chat_id, body, parse_mode=ParseMode.HTML, reply_markup=markup
        )
        return
    if callback.action == Action.DRAW_SKIP:
        await answer_query(query, _.plain("Skipped."))
        await clear_buttons(query)
        return
    async with services.sessionmaker.begin() as session:
        queued = await draws.announce(session, row.id, text, now=utcnow(), origin=of_press(query))
        await audit.record(
            session,
            actor_id=query.from_user.id,
            action="draw_announce",
            outcome=audit.OK if queued.created else audit.REFUSED,
            detail=f"draw {row.id}",
        )
    if not queued.created:
        await answer_query(query, _.plain("This announcement was already handled."), alert=True)
        return
    await clear_buttons(query)
    services.outbox.wake()
    await answer_query(query, _.plain("Posting…"))


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("draw", draw))
    application.add_handler(CommandHandler("redraw", redraw))
    application.add_handler(CommandHandler("entrants", entrants))
    application.add_handler(CommandHandler("exclude", exclude))
    application.add_handler(CommandHandler("include", include))
    application.add_handler(CommandHandler("xhandle", xhandle))
    application.add_handler(
        CallbackQueryHandler(
            on_draw_button,
            pattern=matches(Action.DRAW_ANNOUNCE, Action.DRAW_POST, Action.DRAW_SKIP),
        )
    )
