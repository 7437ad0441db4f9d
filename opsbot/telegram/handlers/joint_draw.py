"""A co-hosted salon's draw in the partner's own group: the one result, in the partner's
language, and a button for the partner's moderators to post the winners from the partner's
account too (through the outbox, as a WINNERS post with the partner's `partner_id`).

Presses are checked here rather than by `@button`, which knows only the host's group: the
press must come from the partner's group, for a draw of a salon it co-hosts, by one of that
group's moderators.
"""

from __future__ import annotations

import logging

from telegram import Bot, CallbackQuery, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler

from opsbot.db.models import Draw, Partner, Salon
from opsbot.i18n import N_, Translator, translator
from opsbot.services import draws, partners, salons, staff
from opsbot.telegram.callback_data import Action, matches, unpack
from opsbot.telegram.context import OpsbotContext, Runtime
from opsbot.telegram.handlers.common import answer_query, audit_refusal
from opsbot.telegram.handlers.winners import post_winners, skip_winners
from opsbot.telegram.roles import Role
from opsbot.telegram.salon_views import (
    NOT_CONNECTED,
    draw_announcement,
    render_draw,
    render_post_preview,
)

log = logging.getLogger(__name__)


async def share_draw(bot: Bot, runtime: Runtime, salon: Salon, draw: Draw) -> None:
    """Show the draw's result in the co-host's group too, if the salon has one with a group."""
    async with runtime.sessionmaker.begin() as session:
        partner = await partners.co_host(session, salon)
    if partner is None or partner.chat_id is None:
        return
    text, markup = render_draw(salon, draw, translator(partner.language), partner)
    try:
        await bot.send_message(
            partner.chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup
        )
    except TelegramError as exc:
        # The host's group has the result; the partner's moderators can ask for it again.
        log.warning("the draw of salon %s did not reach the partner's group: %s", salon.id, exc)


async def _checked(
    update: Update, context: OpsbotContext, _: Translator
) -> tuple[Action, Draw, Salon, Partner] | None:
    query = update.callback_query
    assert query is not None
    callback = unpack(query.data)
    chat_id = query.message.chat.id if query.message else None
    async with context.runtime.sessionmaker.begin() as session:
        row = await draws.get(session, callback.target) if callback else None
        salon = await salons.get(session, row.salon_id) if row else None
        partner = await partners.partner_of_chat(session, chat_id) if chat_id else None
    if callback is None or row is None or salon is None:
        await _refuse(update, context, _.plain("This button is not valid any more."), "stale")
        return None
    if partner is None or partner.chat_id is None or salon.partner_id != partner.id:
        await _refuse(
            update,
            context,
            _.plain("This button works only in the co-hosting museum's group."),
            "wrong chat",
        )
        return None
    role = await context.runtime.roles.role_of(partner.chat_id, query.from_user.id)
    if role != Role.MODERATOR:
        await _refuse(update, context, _.plain("Only moderators can do this."), "not a moderator")
        return None
    if callback.action != Action.PARTNER_DRAW_SKIP and partner.access_token is None:
        await _refuse(
            update,
            context,
            _.plain(NOT_CONNECTED, handle=partner.handle),
            "partner not connected",
        )
        return None
    return callback.action, row, salon, partner


async def _presser_translator(context: OpsbotContext, query: CallbackQuery) -> Translator:
    """The presser's language; in a partner's group, one not chosen follows the partner's."""
    runtime = context.runtime
    chat_id = query.message.chat.id if query.message else None
    async with runtime.sessionmaker.begin() as session:
        partner = await partners.partner_of_chat(session, chat_id) if chat_id else None
        language = await staff.language_of(
            session,
            query.from_user.id,
            query.from_user.language_code,
            partner.language if partner else runtime.settings.default_language,
        )
    return translator(language)


async def _refuse(update: Update, context: OpsbotContext, text: str, reason: str) -> None:
    assert update.callback_query is not None
    await audit_refusal(context, update, "button", reason)
    await answer_query(update.callback_query, text, alert=True)


async def on_partner_draw_button(update: Update, context: OpsbotContext) -> None:
    """Announce from @partner -> a preview; Post -> the partner's post, once; Skip -> nothing."""
    query = update.callback_query
    assert query is not None
    _ = await _presser_translator(context, query)
    checked = await _checked(update, context, _)
    if checked is None:
        return
    action, row, salon, partner = checked
    runtime = context.runtime
    assert partner.chat_id is not None
    group = translator(partner.language)
    text = draw_announcement(salon, row, group, runtime.settings.hashtag)
    if action == Action.PARTNER_DRAW_ANNOUNCE:
        body, markup = render_post_preview(
            group(N_("📣 The winners' announcement from @{handle}:"), handle=partner.handle),
            text,
            group,
            post=Action.PARTNER_DRAW_POST,
            skip=Action.PARTNER_DRAW_SKIP,
            target=row.id,
        )
        await answer_query(query, _.plain("Check the text, then press Post."))
        await context.bot.send_message(
            partner.chat_id, body, parse_mode=ParseMode.HTML, reply_markup=markup
        )
        return
    if action == Action.PARTNER_DRAW_SKIP:
        await skip_winners(query, _)
        return
    await post_winners(query, context, _, row, text, partner)


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(
        CallbackQueryHandler(
            on_partner_draw_button,
            pattern=matches(
                Action.PARTNER_DRAW_ANNOUNCE, Action.PARTNER_DRAW_POST, Action.PARTNER_DRAW_SKIP
            ),
        )
    )
