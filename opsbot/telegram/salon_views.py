"""What the staff group sees of a salon: its start, its state, its summary, its draw."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from opsbot.db.models import Draw, Partner, Salon
from opsbot.i18n import N_, Html, Translator
from opsbot.services.budget import Spend
from opsbot.services.draws import handles_of
from opsbot.services.report import MuseumFigures
from opsbot.services.salons import Summary
from opsbot.services.tweet_length import MAX_WEIGHTED_LENGTH, weighted_length
from opsbot.telegram.budget_views import spend_line
from opsbot.telegram.callback_data import Action, pack
from opsbot.telegram.cards import link, question_line, shorten

OPEN_LINKS = 10


def local_time(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%H:%M") if moment else "?"


def zone_of(partner: Partner) -> ZoneInfo:
    return ZoneInfo(partner.timezone)


def render_start(
    salon: Salon, _: Translator, zone: ZoneInfo, partner: Partner | None = None
) -> str:
    assert salon.planned_end_at is not None
    cohost = (
        [
            _(
                "🤝 Co-hosted with {name} (@{handle}): questions that tag only @{handle} go to "
                "its curators, those that tag both museums or only carry the hashtag to both "
                "groups, and the first to take one answers it.",
                name=partner.name,
                handle=partner.handle,
            )
        ]
        if partner is not None
        else []
    )
    return "\n".join(
        [
            _(
                "🎙 Salon #{number} “{topic}” is live until {time} ({zone}).",
                number=salon.id,
                topic=salon.topic,
                time=local_time(salon.planned_end_at, zone),
                zone=str(zone),
            ),
            _(
                "Lottery commitment (SHA-256 of the secret revealed at the draw): "
                "<code>{commitment}</code>",
                commitment=salon.commitment,
            ),
            *cohost,
        ]
    )


def announcement_text(
    salon: Salon, _: Translator, zone: ZoneInfo, hashtag: str, account: str
) -> str:
    """The post inviting the audience; the topic is shortened until the post fits on X."""
    assert salon.planned_end_at is not None
    topic = salon.topic
    while True:
        text = _.plain(
            "The museum salon “{topic}” starts now, until {time}! Ask your questions with "
            "{hashtag} and tag @{account} so that we can answer you.",
            topic=topic,
            time=local_time(salon.planned_end_at, zone),
            hashtag=hashtag,
            account=account,
        )
        if weighted_length(text) <= MAX_WEIGHTED_LENGTH or len(topic) <= 10:
            return text
        topic = shorten(topic, len(topic) - 10)


def render_post_preview(
    title: str, text: str, _: Translator, *, post: Action, skip: Action, target: int
) -> tuple[str, InlineKeyboardMarkup]:
    length = weighted_length(text)
    fits = length <= MAX_WEIGHTED_LENGTH
    body = "\n".join(
        [
            title,
            f"<blockquote>{html.escape(text, quote=False)}</blockquote>",
            _("Length: {length}/{limit}", length=length, limit=MAX_WEIGHTED_LENGTH)
            if fits
            else _("⛔ Too long: {length}/{limit}", length=length, limit=MAX_WEIGHTED_LENGTH),
        ]
    )
    buttons = [InlineKeyboardButton(_.plain("Skip"), callback_data=pack(skip, target))]
    if fits:
        buttons.insert(0, InlineKeyboardButton(_.plain("Post"), callback_data=pack(post, target)))
    return body, InlineKeyboardMarkup([buttons])


def render_state(salon: Salon, summary: Summary, _: Translator, zone: ZoneInfo) -> str:
    assert salon.planned_end_at is not None
    return "\n".join(
        [
            _("🎙 Salon #{number} “{topic}”", number=salon.id, topic=salon.topic),
            _(
                "Live since {start}, ends at {end}.",
                start=local_time(salon.started_at, zone),
                end=local_time(salon.planned_end_at, zone),
            ),
            _stats(summary, _),
            _("Lottery commitment: <code>{commitment}</code>", commitment=salon.commitment),
        ]
    )


def _stats(summary: Summary, _: Translator) -> Html:
    return _(
        "Questions: {questions} · answered: {answered} · open: {open} · hidden: {hidden} · "
        "participants: {participants}",
        questions=summary.questions,
        answered=summary.answered,
        open=len(summary.open),
        hidden=summary.hidden,
        participants=summary.participants,
    )


def render_summary(
    salon: Salon,
    summary: Summary,
    _: Translator,
    spend: Spend | None = None,
    *,
    museums: Sequence[MuseumFigures] = (),
    hosting: bool = True,
) -> str:
    """`museums`: a co-hosted salon's split; `hosting` False: for the partner's group, which
    does not draw."""
    lines: list[str] = [
        _("🏁 Salon #{number} “{topic}” is over.", number=salon.id, topic=salon.topic),
        _stats(summary, _),
    ]
    if museums:
        lines.append(_("By museum (a question for both counts for each):"))
        lines += [_museum_line(museum, _) for museum in museums]
    if spend is not None:
        lines.append(spend_line(spend, _))
    if summary.open:
        lines.append(_("Still open:"))
        for question in summary.open[:OPEN_LINKS]:
            lines.append(question_line(question))
        if len(summary.open) > OPEN_LINKS:
            lines.append(_("…and more: /queue"))
    if hosting:
        lines.append(_("Draw the tickets with /draw NUMBER PRIZE."))
    return "\n".join(lines)


def _museum_line(museum: MuseumFigures, _: Translator) -> Html:
    median = museum.first_response.median
    return _(
        "@{handle}: questions {questions} (to both: {both}) · answers {answered} · "
        "median first response {median}",
        handle=museum.handle,
        questions=museum.questions,
        both=museum.questions_both,
        answered=museum.answered,
        median=_("not available")
        if median is None
        else _.ngettext(
            "{count} minute", "{count} minutes", round(median / 60), count=round(median / 60)
        ),
    )


def render_draw(
    salon: Salon, draw: Draw, _: Translator, partner: Partner | None = None
) -> tuple[str, InlineKeyboardMarkup]:
    """The result; in a co-hosting `partner`'s group, its button posts from the partner's own
    account instead of the host's."""
    names = handles_of(draw)
    winners = json.loads(draw.winners)
    ranking = json.loads(draw.ranking)
    lines: list[str] = [
        _("🎟 Draw of salon #{number} “{topic}”", number=salon.id, topic=salon.topic),
    ]
    if draw.prize:
        lines.append(_("Prize: {prize}", prize=draw.prize))
    lines.append(_("Winners:"))
    for winner in winners:
        handle = names.get(winner, winner)
        lines.append(Html("• ") + link(f"https://x.com/{handle}", f"@{handle}"))
    lines += [
        _(
            "Entrants: {entrants}; reserve: {reserve}.",
            entrants=len(names),
            reserve=max(len(ranking) - draw.next_reserve, 0),
        ),
        _("Commitment: <code>{value}</code>", value=salon.commitment),
        _("Revealed secret: <code>{value}</code>", value=salon.secret),
        _("Entrant list hash: <code>{value}</code>", value=draw.entrant_hash),
        _(
            "Anyone can check it: /entrants gives the list, "
            "<code>opsbot verify-draw</code> recomputes it."
        ),
    ]
    if partner is None:
        button = InlineKeyboardButton(
            _.plain("Announce on X"), callback_data=pack(Action.DRAW_ANNOUNCE, draw.id)
        )
    elif partner.access_token is not None:
        button = InlineKeyboardButton(
            _.plain("Announce from @{handle}", handle=partner.handle),
            callback_data=pack(Action.PARTNER_DRAW_ANNOUNCE, draw.id),
        )
    else:
        # Without the partner's authorisation X would refuse the post: say how to give it.
        lines.append(_(NOT_CONNECTED, handle=partner.handle))
        return "\n".join(lines), InlineKeyboardMarkup([])
    return "\n".join(lines), InlineKeyboardMarkup([[button]])


NOT_CONNECTED = N_(
    "@{handle} has not let the bot post as its account: one of its administrators sends "
    "/partner connect to the bot in a private chat."
)


def draw_announcement(salon: Salon, draw: Draw, _: Translator, hashtag: str) -> str:
    names = handles_of(draw)
    winners = " ".join(f"@{names.get(w, w)}" for w in json.loads(draw.winners))
    return _.plain(
        "The winners of the salon “{topic}” lottery: {winners}! Congratulations, we will "
        "write to you. Secret: {secret} {hashtag}",
        topic=shorten(salon.topic, 40),
        winners=winners,
        secret=salon.secret,
        hashtag=hashtag,
    )
