"""Each figure of the chaos run counts exactly what it names: a zero from the run means
something only because a lost card, a doubled reply or a stuck answer would not be zero.

The staff group's messages are sent the way the bot sends them (the bot's own card and
preview rendering, through the Bot API to the emulator), so the figures read what a run reads.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Bot, InlineKeyboardMarkup

from opsbot.chaos.audience import AudiencePost
from opsbot.chaos.database import StoredAnswer, StoredQuestion
from opsbot.chaos.figures import NAMES, World, compute
from opsbot.chaos.staff import CuratorAnswer
from opsbot.db.models import (
    Answer,
    AnswerStatus,
    Delivery,
    DeliveryKind,
    DeliveryState,
    Question,
    QuestionStatus,
)
from opsbot.emulators.sandbox import MUSEUM_HANDLE, STAFF_CHAT_ID, Sandbox
from opsbot.i18n import translator
from opsbot.services.posts import post_url
from opsbot.telegram.cards import CardState, render_card
from opsbot.telegram.previews import render_preview

ZONE = ZoneInfo("Europe/Moscow")
_ = translator("en")
VISITORS = ("clean", "lost", "twice", "doubled", "stale", "dropped", "refused")


def question_row(number: int, post: dict[str, Any], handle: str, status: str) -> Question:
    return Question(
        id=number,
        x_post_id=post["id"],
        author_handle=handle,
        author_name=handle,
        text=post["text"],
        posted_at=datetime.now(UTC),
        replyable=True,
        status=status,
        salon_id=None,
        after_salon=False,
    )


async def send(bot: Bot, rendered: tuple[str, InlineKeyboardMarkup | None]) -> int:
    text, markup = rendered
    message = await bot.send_message(STAFF_CHAT_ID, text, parse_mode="HTML", reply_markup=markup)
    return message.message_id


async def test_each_figure_counts_what_it_names(sandbox: Sandbox) -> None:
    x = sandbox.x
    posts = {v: x.visitor_posts(v, f"@museum A question from {v}? #museumsalon") for v in VISITORS}
    retweet = x.visitor_posts("fan", "", retweet_of=posts["clean"]["id"])

    def museum_reply(visitor: str, text: str) -> str:
        return str(x.visitor_posts(MUSEUM_HANDLE, text, reply_to=posts[visitor]["id"])["id"])

    clean_reply = museum_reply("clean", "In 1872.")
    doubled_reply = museum_reply("doubled", "In 1883.")
    museum_reply("doubled", "In 1883, as we said.")
    museum_reply("stale", "On the ground floor.")

    rows = {v: question_row(n, posts[v], v, QuestionStatus.OPEN) for n, v in enumerate(VISITORS, 1)}
    answered = {"clean": clean_reply, "doubled": doubled_reply}
    telegram = Bot(
        sandbox.credentials["telegram_token"], base_url=f"{sandbox.telegram.base_url}/bot"
    )
    card_ids: dict[str, int] = {}
    async with telegram:
        for visitor, row in rows.items():
            if visitor == "lost":
                continue
            state = CardState()
            if visitor in answered:
                row.status = QuestionStatus.ANSWERED
                state = CardState(
                    answered_by="Boris", answer_url=post_url(MUSEUM_HANDLE, answered[visitor])
                )
            elif visitor in ("stale", "dropped", "refused"):
                row.status = QuestionStatus.TAKEN
                state = CardState(taken_by="Boris")
            card_ids[visitor] = await send(telegram, render_card(row, _, ZONE, state))
            if visitor == "twice":
                await send(telegram, render_card(row, _, ZONE, state))
        previews = {}
        for number, (visitor, status, error) in enumerate(
            [("dropped", AnswerStatus.POSTING, ""), ("refused", AnswerStatus.FAILED, "403")], 1
        ):
            draft = Answer(id=number, text=f"Answer to {visitor}.", status=status, parts=1)
            delivery = Delivery(
                id=number,
                kind=DeliveryKind.ANSWER,
                answer_id=number,
                payload=draft.text,
                state=DeliveryState.FAILED if error else DeliveryState.SENDING,
                last_error=error,
            )
            rendered = render_preview(
                [draft], {number: delivery}, rows[visitor], _, ZONE, MUSEUM_HANDLE
            )
            previews[visitor] = await send(telegram, rendered)

    world = World(
        questions=[
            AudiencePost(posts[v]["id"], v, posts[v]["text"], "mention+tag", True, True)
            for v in VISITORS
        ],
        retweets=[AudiencePost(retweet["id"], "fan", retweet["text"], "retweet", False, False)],
        messages=sandbox.telegram.chat_view(STAFF_CHAT_ID),
        callback_answers={"q-dropped": {"text": "Posting…"}, "q-refused": {"text": "Публикую…"}},
        museum=MUSEUM_HANDLE,
        museum_posts=x.museum_posts(),
        stored_questions=[
            StoredQuestion(row.id, row.x_post_id, row.status, card_ids.get(v), None)
            for v, row in rows.items()
        ],
        stored_answers=[
            StoredAnswer(1, rows["dropped"].id, AnswerStatus.POSTING, "", None, 1, "", None),
            StoredAnswer(2, rows["refused"].id, AnswerStatus.FAILED, "", None, 1, "403", None),
        ],
        curator_answers=[
            CuratorAnswer(posts[v]["id"], f"Answer to {v}.", "Boris", [f"q-{v}"], previews[v])
            for v in ("dropped", "refused")
        ],
    )

    figures = compute(world)

    counted = {name: sorted(figures.found[name]) for name in NAMES}
    assert counted == {
        "questions lost": [posts["lost"]["id"]],
        "duplicate cards": [posts["twice"]["id"]],
        "answers lost": [posts["dropped"]["id"]],
        "duplicate replies": [posts["doubled"]["id"]],
        "stale cards": [posts["stale"]["id"]],
        "stuck questions": sorted([posts["stale"]["id"], posts["dropped"]["id"]]),
    }
    assert figures.acknowledged == 2
    assert figures.retweets_carded == 0
    assert not figures.all_zero()
    assert posts["clean"]["id"] not in figures.evidence
    assert any(
        "still taken in the database" in line for line in figures.evidence[posts["stale"]["id"]]
    )
