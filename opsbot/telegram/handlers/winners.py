"""The winners' announcement on X, posted once: from the museum's account, or from the
co-hosting museum's own when its moderators post it too."""

from __future__ import annotations

from telegram import CallbackQuery

from opsbot.db.models import Draw, Partner
from opsbot.i18n import Translator
from opsbot.services import audit, draws
from opsbot.telegram.context import OpsbotContext
from opsbot.telegram.handlers.common import answer_query, clear_buttons
from opsbot.telegram.origin import of_press


async def post_winners(
    query: CallbackQuery,
    context: OpsbotContext,
    _: Translator,
    draw: Draw,
    text: str,
    partner: Partner | None = None,
) -> None:
    """Queue the announcement through the outbox; a second press finds it handled."""
    runtime = context.runtime
    async with runtime.sessionmaker.begin() as session:
        queued = await draws.announce(
            session,
            draw.id,
            text,
            now=runtime.clock.now(),
            origin=of_press(query),
            partner_id=partner.id if partner else None,
        )
        await audit.record(
            session,
            actor_id=query.from_user.id,
            action="draw_announce",
            outcome=audit.OK if queued.created else audit.REFUSED,
            detail=f"draw {draw.id}" + (f" from @{partner.handle}" if partner else ""),
        )
    if not queued.created:
        await answer_query(query, _.plain("This announcement was already handled."), alert=True)
        return
    await clear_buttons(query)
    runtime.outbox.wake()
    await answer_query(query, _.plain("Posting…"))


async def skip_winners(query: CallbackQuery, _: Translator) -> None:
    await answer_query(query, _.plain("Skipped."))
    await clear_buttons(query)
