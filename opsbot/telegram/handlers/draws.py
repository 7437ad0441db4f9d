"""The lottery in the staff group: /draw, /redraw, /entrants, /exclude, /include, /xhandle."""

from __future__ import annotations

import io
import logging
import re
from datetime import timedelta

from telegram import InputFile, Update
from telegram.constants import ParseMode
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from opsbot.i18n import N_, translator
from opsbot.services import audit, draws, lottery, partners, salons, staff
from opsbot.services.draws import DrawRefusal, RedrawRefusal
from opsbot.services.posts import normalise_handle
from opsbot.telegram.callback_data import Action, matches
from opsbot.telegram.commands import Command
from opsbot.telegram.context import OpsbotContext
from opsbot.telegram.handlers.common import answer_query, number
from opsbot.telegram.handlers.joint_draw import share_draw
from opsbot.telegram.handlers.presses import Press, button
from opsbot.telegram.handlers.senders import Sent, command
from opsbot.telegram.handlers.winners import post_winners, skip_winners
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
    return timedelta(days=context.runtime.settings.lottery_cooldown_days)


@command(Role.MODERATOR, "draw")
async def draw(update: Update, context: OpsbotContext, sent: Sent) -> None:
    message, user, _, _role = sent
    runtime = context.runtime
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
    async with runtime.sessionmaker.begin() as session:
        salon = await salons.latest(session)
        outcome = await draws.draw(
            session,
            salon,
            winners=winners,
            prize=prize,
            by=user.id,
            now=runtime.clock.now(),
            cooldown=_cooldown(context),
            museum=runtime.settings.x_account,
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
    text, markup = render_draw(salon, outcome.draw, translator(runtime.settings.default_language))
    await message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    if outcome.created:
        await share_draw(context.bot, runtime, salon, outcome.draw)


@command(Role.MODERATOR, "redraw")
async def redraw(update: Update, context: OpsbotContext, sent: Sent) -> None:
    message, user, _, _role = sent
    handle = normalise_handle(context.args[0]) if context.args else None
    if handle is None or len(context.args or []) != 1:
        await message.reply_text(_("Usage: /redraw @handle"))
        return
    runtime = context.runtime
    async with runtime.sessionmaker.begin() as session:
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
    text, markup = render_draw(salon, result.draw, translator(runtime.settings.default_language))
    await message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    await share_draw(context.bot, runtime, salon, result.draw)


@command(Role.MODERATOR, "entrants")
async def entrants(update: Update, context: OpsbotContext, sent: Sent) -> None:
    message, _user, _, _role = sent
    runtime = context.runtime
    async with runtime.sessionmaker.begin() as session:
        salon = await salons.latest(session)
        stored = await draws.stored(session, salon.id) if salon else None
        people = (
            await draws.entrants(
                session,
                salon,
                now=runtime.clock.now(),
                cooldown=_cooldown(context),
                museum=runtime.settings.x_account,
            )
            if salon and stored is None
            else []
        )
        partner = await partners.co_host(session, salon) if salon else None
    if salon is None:
        await message.reply_text(_("There has been no salon yet: nothing to draw."))
        return
    if stored is not None:
        hosts = [runtime.settings.x_account, partner.handle] if partner else None
        payload = draws.export(salon, stored, hosts)
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


async def _exclusion(context: OpsbotContext, sent: Sent, *, add: bool) -> None:
    name = "exclude" if add else "include"
    message, user, _, _role = sent
    handle = normalise_handle(context.args[0]) if context.args else None
    if handle is None or len(context.args or []) != 1:
        await message.reply_text(_("Usage: /{command} @handle", command=name))
        return
    async with context.runtime.sessionmaker.begin() as session:
        # In a partner's own group, its moderators keep the partner's list.
        partner = await partners.partner_of_chat(session, message.chat_id)
        partner_id = partner.id if partner else None
        changed = await (
            draws.exclude(session, handle, user.id, partner_id=partner_id)
            if add
            else draws.include(session, handle, partner_id=partner_id)
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


@command(Role.MODERATOR, "exclude")
async def exclude(update: Update, context: OpsbotContext, sent: Sent) -> None:
    await _exclusion(context, sent, add=True)


@command(Role.MODERATOR, "include")
async def include(update: Update, context: OpsbotContext, sent: Sent) -> None:
    await _exclusion(context, sent, add=False)


@command(Role.CURATOR, "xhandle")
async def xhandle(update: Update, context: OpsbotContext, sent: Sent) -> None:
    message, user, _, _role = sent
    runtime = context.runtime
    args = context.args or []
    value: str | None
    if len(args) == 1 and args[0].lower() == "off":
        value = None
    else:
        value = normalise_handle(args[0]) if len(args) == 1 else None
        if value is None:
            await message.reply_text(_("Usage: /xhandle @your_x_account (or /xhandle off)"))
            return
    async with runtime.sessionmaker.begin() as session:
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
    runtime = context.runtime
    async with runtime.sessionmaker.begin() as session:
        row = await draws.get(session, callback.target)
        salon = await salons.get(session, row.salon_id) if row else None
    if row is None or salon is None:
        await answer_query(query, _.plain("This button is not valid any more."), alert=True)
        return
    group = translator(runtime.settings.default_language)
    text = draw_announcement(salon, row, group, runtime.settings.hashtag)
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
            runtime.staff_chat_id, body, parse_mode=ParseMode.HTML, reply_markup=markup
        )
        return
    if callback.action == Action.DRAW_SKIP:
        await skip_winners(query, _)
        return
    await post_winners(query, context, _, row, text)


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
