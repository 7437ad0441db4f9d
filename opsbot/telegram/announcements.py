"""What the staff group is told about the museum's own posts: the salon announcement, the
/ask prompts and the winners. Handlers queue them in the outbox; this shows the outcome.

On X: the link, in the salon's topic (a prompt: as a reply to the /ask, in the moderator's
language). Not posted: why, once; an announcement's preview gets its buttons back, so Post
can be pressed again.
"""

from __future__ import annotations

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters

from opsbot.db.models import Delivery, DeliveryKind, DeliveryState, Partner
from opsbot.i18n import N_, Translator, translator
from opsbot.services import staff
from opsbot.services.posts import post_url
from opsbot.telegram.callback_data import Action, pack
from opsbot.telegram.context import Runtime
from opsbot.telegram.delivery_failures import why_failed

_ON_X = {
    DeliveryKind.ANNOUNCEMENT: N_("📣 The announcement is on X: {url}"),
    DeliveryKind.PROMPT: N_("Q{number} is on X: {url}"),
    DeliveryKind.WINNERS: N_("📣 The winners are announced on X: {url}"),
}
_NOT_POSTED = {
    DeliveryKind.ANNOUNCEMENT: N_("❌ The announcement was not posted: {reason}"),
    DeliveryKind.PROMPT: N_("❌ Q{number} was not posted: {reason}"),
    DeliveryKind.WINNERS: N_("❌ The winners' announcement was not posted: {reason}"),
}
# The preview's buttons, given back when its post failed.
_BUTTONS = {
    DeliveryKind.ANNOUNCEMENT: (Action.ANNOUNCE, Action.SKIP_ANNOUNCE),
    DeliveryKind.WINNERS: (Action.DRAW_POST, Action.DRAW_SKIP),
}


def post_buttons(kind: DeliveryKind, target: int, _: Translator) -> InlineKeyboardMarkup:
    post, skip = _BUTTONS[kind]
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(_.plain("Post"), callback_data=pack(post, target)),
                InlineKeyboardButton(_.plain("Skip"), callback_data=pack(skip, target)),
            ]
        ]
    )


async def tell_outcome(bot: Bot, runtime: Runtime, row: Delivery) -> None:
    settings = runtime.settings
    _ = translator(settings.default_language)
    if row.kind == DeliveryKind.PROMPT and row.requested_by is not None:
        async with runtime.sessionmaker.begin() as session:
            language = await staff.language_of(
                session, row.requested_by, None, settings.default_language
            )
        _ = translator(language)
    handle = settings.x_account
    if row.partner_id is not None:
        async with runtime.sessionmaker.begin() as session:
            partner = await session.get(Partner, row.partner_id)
        handle = partner.handle if partner is not None else handle
    if row.state == DeliveryState.SENT:
        text = _(
            _ON_X[row.kind],
            number=row.number or "?",
            url=post_url(handle, row.external_id or ""),
        )
    else:
        text = _(_NOT_POSTED[row.kind], number=row.number or "?", reason=why_failed(row, _))
    reply = (
        ReplyParameters(row.origin_message_id, allow_sending_without_reply=True)
        if row.kind == DeliveryKind.PROMPT and row.origin_message_id is not None
        else None
    )
    # A prompt's outcome answers its /ask where it was sent (a partner's /ask in its group).
    await bot.send_message(
        row.origin_chat_id
        if row.kind == DeliveryKind.PROMPT and row.origin_chat_id is not None
        else runtime.staff_chat_id,
        text,
        message_thread_id=row.origin_thread_id,
        reply_parameters=reply,
    )
    target = row.salon_id if row.kind == DeliveryKind.ANNOUNCEMENT else row.draw_id
    if (
        row.state == DeliveryState.FAILED
        and row.kind in _BUTTONS
        and target is not None
        and row.origin_message_id is not None
    ):
        await bot.edit_message_reply_markup(
            row.origin_chat_id or runtime.staff_chat_id,
            row.origin_message_id,
            reply_markup=post_buttons(row.kind, target, translator(settings.default_language)),
        )
