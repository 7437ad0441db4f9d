"""What the staff group is told about X itself: refusals, spent credits, outages, lost stretches.

Each notice follows a condition that starts or ends once (see `services.alerts`), so the group
hears about it once, in its own language, with what to do about it.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

from telegram import Bot
from telegram.error import TelegramError

from opsbot.i18n import N_, Html, Translator
from opsbot.services import alerts
from opsbot.telegram.context import Runtime
from opsbot.x.gateway import Access
from opsbot.x.poller import Gap, PollResult

log = logging.getLogger(__name__)

_READING_REFUSED = {
    Access.KEYS: N_(
        "⚠️ X refused the museum's keys. New questions are not being read until "
        "the keys are fixed (run <code>opsbot check</code>)."
    ),
    Access.ENROLMENT: N_(
        "⚠️ X refused the museum's app: it is not enrolled for X API access "
        "(client-not-enrolled). Attach the app to a project in the X developer console; "
        "new questions are not being read until then."
    ),
}
_POSTING_REFUSED = {
    Access.KEYS: N_(
        "⚠️ X refused to post with the museum's keys. Answers wait in the queue "
        "until the keys are fixed (run <code>opsbot check</code>)."
    ),
    Access.ENROLMENT: N_(
        "⚠️ X refused to post: the museum's app is not enrolled for X API access "
        "(client-not-enrolled). Attach the app to a project in the X developer console; "
        "answers wait in the queue until then."
    ),
}
CREDITS_SPENT = N_(
    "⚠️ X credits are spent: top up at the X developer console. Until then questions are "
    "not being read and answers wait in the queue."
)
_ENDED = {
    alerts.X_READ_ACCESS: N_("✅ X accepts the museum's keys again."),
    alerts.X_CREDITS: N_("✅ X credits are back: questions are being read again."),
    alerts.X_UNREACHABLE: N_("✅ X is reachable again: questions are being read."),
}
UNREACHABLE = N_(
    "⚠️ X cannot be reached: new questions are not being read for now. The bot keeps "
    "trying and will say when X answers again."
)


def refused_notice(reason: Access, _: Translator, *, posting: bool) -> Html:
    if reason == Access.CREDITS:
        return _(CREDITS_SPENT)
    return _((_POSTING_REFUSED if posting else _READING_REFUSED)[reason])


def poll_notices(result: PollResult, _: Translator, zone: ZoneInfo) -> list[Html]:
    """What one poll has to tell the staff group, in order."""
    notices: list[Html] = []
    for key in result.raised:
        if key == alerts.X_UNREACHABLE:
            notices.append(_(UNREACHABLE))
        elif result.refused is not None:
            notices.append(refused_notice(result.refused, _, posting=False))
    notices += [_(_ENDED[key]) for key in result.cleared if key in _ENDED]
    notices += [gap_notice(gap, _, zone) for gap in result.gaps]
    return notices


def gap_notice(gap: Gap, _: Translator, zone: ZoneInfo) -> Html:
    return _(
        "⚠️ The bot had not read X for longer than X's search keeps posts (7 days). Posts "
        "with the hashtag from {start} to {end} ({span}) can no longer be read; questions that "
        "mention the museum are not affected. Everything since {end} is being read.",
        start=gap.start.astimezone(zone).strftime("%d.%m.%Y %H:%M"),
        end=gap.end.astimezone(zone).strftime("%d.%m.%Y %H:%M"),
        span=span(gap.end - gap.start, _),
    )


def span(delta: timedelta, _: Translator) -> Html:
    """A length of time the way people say it: days, else hours, else minutes."""
    minutes = max(1, round(delta.total_seconds() / 60))
    hours = round(minutes / 60)
    if hours >= 48:
        days = round(hours / 24)
        return _.ngettext("{count} day", "{count} days", days, count=days)
    if minutes >= 60:
        return _.ngettext("{count} hour", "{count} hours", hours, count=hours)
    return _.ngettext("{count} minute", "{count} minutes", minutes, count=minutes)


async def tell_staff(bot: Bot, runtime: Runtime, notice: Html) -> None:
    """Send a notice to the staff group; one Telegram refuses is logged, not raised, so the
    read of X that found it goes on."""
    try:
        await bot.send_message(runtime.staff_chat_id, notice)
    except TelegramError as exc:
        log.warning("could not tell the staff group: %s", exc)
