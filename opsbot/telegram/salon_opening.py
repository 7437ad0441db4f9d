"""Opening a salon, by a moderator's /start_salon or by the schedule: the database row, the
live pace of reading X, the salon's timers, its forum topic, and the group's notices.

Both the command and the reminder jobs call it, so it lives below the handlers.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram.constants import ParseMode
from telegram.error import TelegramError

from opsbot.db.models import Partner, Salon
from opsbot.i18n import N_, Translator, translator
from opsbot.services import audit, cohosting, salons
from opsbot.telegram import salon_timers, take_lapse
from opsbot.telegram.callback_data import Action
from opsbot.telegram.context import OpsbotContext, Runtime
from opsbot.telegram.followers import note_followers
from opsbot.telegram.salon_views import (
    announcement_text,
    render_post_preview,
    render_start,
    zone_of,
)

log = logging.getLogger(__name__)


async def open_salon(
    context: OpsbotContext,
    _: Translator,
    *,
    topic: str,
    duration: timedelta,
    by: int | None,
    reply_to: int | None = None,
    planned_id: int | None = None,
    partner_id: int | None = None,
) -> bool:
    """Start a salon (by command or by the schedule) and tell the group (and the co-host's)."""
    runtime = context.runtime
    async with runtime.sessionmaker.begin() as session:
        started = await salons.start(
            session,
            topic=topic,
            duration=duration,
            by=by,
            now=runtime.clock.now(),
            salon_id=planned_id,
            partner_id=partner_id,
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
            runtime.staff_chat_id,
            _(
                "Salon #{number} “{topic}” is already live; end it first with /end_salon.",
                number=live.id if live else "?",
                topic=live.topic if live else "",
            ),
            reply_to_message_id=reply_to,
        )
        return False
    salon = started.salon
    runtime.live_salon_id = salon.id
    # The audience starts asking the moment the salon is announced: read X at the live pace now.
    runtime.polls.soon()
    thread_id = await _forum_topic(context, salon.id, topic, chat_id=runtime.staff_chat_id)
    if thread_id is not None:
        salon.thread_id = thread_id
    salon_timers.arm(runtime.timers, salon)
    # Takes made before the salon count from now on.
    await take_lapse.resume(runtime)
    group = translator(runtime.settings.default_language)
    async with runtime.sessionmaker.begin() as session:
        partner = await cohosting.partner_of_salon(session, salon.id)
    await context.bot.send_message(
        runtime.staff_chat_id,
        render_start(salon, group, runtime.settings.zone, partner),
        parse_mode=ParseMode.HTML,
        message_thread_id=thread_id,
    )
    text = announcement_text(
        salon, group, runtime.settings.zone, runtime.settings.hashtag, runtime.settings.x_account
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
        runtime.staff_chat_id,
        body,
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
        message_thread_id=thread_id,
    )
    await note_followers(runtime, salon.id, at_start=True)
    if partner is not None and partner.chat_id is not None:
        await _tell_partner(context, salon, partner, partner.chat_id)
    return True


async def _tell_partner(
    context: OpsbotContext, salon: Salon, partner: Partner, chat_id: int
) -> None:
    """The co-host's own group gets the start card in its language and time zone, and the
    salon's topic when it is a forum. A group that refuses does not stop the salon."""
    thread_id = await _forum_topic(
        context, salon.id, salon.topic, chat_id=chat_id, partner_group=True
    )
    try:
        await context.bot.send_message(
            chat_id,
            render_start(salon, translator(partner.language), zone_of(partner), partner),
            parse_mode=ParseMode.HTML,
            message_thread_id=thread_id,
        )
    except TelegramError as exc:
        log.warning("could not tell the partner's group %s of the salon: %s", chat_id, exc)


async def _forum_topic(
    context: OpsbotContext, salon_id: int, topic: str, *, chat_id: int, partner_group: bool = False
) -> int | None:
    """In a forum group the salon gets its own topic for its cards."""
    runtime = context.runtime
    try:
        chat = await context.bot.get_chat(chat_id)
        if not chat.is_forum:
            return None
        created = await context.bot.create_forum_topic(chat_id, f"#{salon_id} {topic}"[:128])
    except TelegramError as exc:
        log.warning("could not create the salon's forum topic in %s: %s", chat_id, exc)
        return None
    async with runtime.sessionmaker.begin() as session:
        if partner_group:
            await salons.set_partner_thread(session, salon_id, created.message_thread_id)
        else:
            await salons.set_thread(session, salon_id, created.message_thread_id)
    return created.message_thread_id


async def resume(runtime: Runtime) -> None:
    """After a restart: the live salon keeps its number, its topic and its clock."""
    async with runtime.sessionmaker.begin() as session:
        live = await salons.live_salon(session)
    runtime.live_salon_id = live.id if live else None
    if live is not None:
        salon_timers.arm(runtime.timers, live)
