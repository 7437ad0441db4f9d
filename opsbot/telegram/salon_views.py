"""What the staff group sees of a salon: its start, its state, its summary, its draw."""

from __future__ import annotations

import html
import json
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from opsbot.db.models import Draw, Salon
from opsbot.i18n import Html, Translator
from opsbot.services.draws import handles_of
from opsbot.services.salons import Summary
from opsbot.services.tweet_length import MAX_WEIGHTED_LENGTH, weighted_length
from opsbot.telegram.callback_data import Action, pack
from opsbot.telegram.cards import link, question_line, shorten

OPEN_LINKS = 10


def local_time(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%H:%M") if moment else "?"


def render_start(salon: Salon, _: Translator, zone: ZoneInfo) -> str:
    assert salon.planned_end_at is not None
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


def render_summary(salon: Salon, summary: Summary, _: Translator) -> str:
    lines: list[str] = [
        _("🏁 Salon #{number} “{topic}” is over.", number=salon.id, topic=salon.topic),
        _stats(summary, _),
    ]
    if summary.open:
        lines.append(_("Still open:"))
        for question in summary.open[:OPEN_LINKS]:
            lines.append(question_line(question))
        if len(summary.open) > OPEN_LINKS:
            lines.append(_("…and more: /queue"))
    lines.append(_("Draw the tickets with /draw NUMBER PRIZE."))
    return "\n".join(lines)


def render_draw(salon: Salon, draw: Draw, _: Translator) -> tuple[str, InlineKeyboardMarkup]:
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
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _.plain("Announce on X"), callback_data=pack(Action.DRAW_ANNOUNCE, draw.id)
                )
            ]
        ]
    )
    return "\n".join(lines), markup


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
