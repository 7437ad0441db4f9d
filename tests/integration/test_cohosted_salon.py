"""Two museums host one salon: each question reaches the curators X lets answer it, the first
museum to take a question shown to both owns it, and its answer goes from its own account."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from opsbot.db.models import (
    Answer,
    Delivery,
    Question,
    QuestionAudience,
    QuestionStatus,
    Salon,
)
from opsbot.emulators.sandbox import CURATOR_RU, MODERATOR, STAFF_CHAT_ID, Person, Sandbox
from opsbot.telegram.context import OpsbotApplication
from tests.integration.helpers import buttons, settled
from tests.integration.partner_world import (
    PARTNER_ADMIN,
    PARTNER_CHAT_ID,
    PARTNER_CURATOR,
    PARTNER_HANDLE,
    PARTNER_NAME,
    PARTNER_SIGNATURE,
    SECRET_KEY,
    command,
    connect_partner,
    partner_posts,
    says,
    seat_partner,
    start_cohosted_salon,
)

TAG = "#museumsalon"


def bot_cards(sandbox: Sandbox, chat_id: int) -> list[dict[str, Any]]:
    return [
        m
        for m in sandbox.telegram.chat_view(chat_id)
        if m["from"]["is_bot"] and "❓" in m["text"] and "/status/" in str(m.get("html") or "")
    ]


def card_of(sandbox: Sandbox, chat_id: int, post_id: str) -> dict[str, Any] | None:
    return next((m for m in bot_cards(sandbox, chat_id) if post_id in str(m["html"])), None)


async def wait_card(sandbox: Sandbox, chat_id: int, post_id: str) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        return card_of(sandbox, chat_id, post_id)

    found.__name__ = f"card_of_{post_id}_in_{chat_id}"
    return await sandbox.telegram.wait_for(found)  # type: ignore[no-any-return]


async def press(
    sandbox: Sandbox, chat_id: int, person: Person, card: dict[str, Any], label: str
) -> str:
    query = sandbox.telegram.user_presses(
        chat_id, person.user_id, card["message_id"], buttons(card)[label]
    )
    await sandbox.telegram.wait_for(lambda: query in sandbox.telegram.callback_answers)
    return str(sandbox.telegram.callback_answers[query]["text"])


async def said(sandbox: Sandbox, chat_id: int, text: str) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        return next(
            (
                m
                for m in sandbox.telegram.chat_view(chat_id)
                if m["from"]["is_bot"] and text in m["text"]
            ),
            None,
        )

    found.__name__ = f"said_{text[:20]!r}_in_{chat_id}"
    return await sandbox.telegram.wait_for(found)  # type: ignore[no-any-return]


async def answer_in(
    sandbox: Sandbox, chat_id: int, person: Person, card: dict[str, Any], text: str, label: str
) -> tuple[int, dict[str, Any]]:
    """Answer -> the prompt -> the curator's reply -> the preview: in `chat_id`, or in the
    curator's private chat once they have one with the bot; the chat and the preview."""
    chats = (chat_id, person.user_id)

    def view(c: int) -> list[dict[str, Any]]:
        try:
            return sandbox.telegram.chat_view(c)
        except ValueError:  # no private chat with the bot yet
            return []

    seen = {(c, m["message_id"]) for c in chats for m in view(c)}
    await press(sandbox, chat_id, person, card, label)

    def prompt() -> dict[str, Any] | None:
        return next(
            (
                (c, m)
                for c in chats
                for m in view(c)
                if (c, m["message_id"]) not in seen
                and m["from"]["is_bot"]
                and (m.get("reply_markup") or {}).get("force_reply")
            ),
            None,
        )

    there, asked = await sandbox.telegram.wait_for(prompt)
    sent = sandbox.telegram.user_sends(
        there, person.user_id, text, reply_to_message_id=asked["message_id"]
    )

    def preview() -> dict[str, Any] | None:
        return next(
            (
                m
                for m in sandbox.telegram.chat_view(there)
                if m["from"]["is_bot"] and m.get("reply_to_message_id") == sent["message_id"]
            ),
            None,
        )

    return there, await sandbox.telegram.wait_for(preview)


async def questions_by_post(bot: OpsbotApplication) -> dict[str, Question]:
    async with bot.bot_data.sessionmaker.begin() as session:
        return {q.x_post_id: q for q in await session.scalars(select(Question))}


async def delivery_of_answer(bot: OpsbotApplication, question: Question) -> Delivery:
    async with bot.bot_data.sessionmaker.begin() as session:
        row = await session.scalar(
            select(Delivery)
            .join(Answer, Answer.id == Delivery.answer_id)
            .where(Answer.question_id == question.id)
        )
    assert row is not None
    return row


@pytest.fixture
def bot_overrides() -> dict[str, Any]:
    return {"secret_key": SECRET_KEY}


async def test_a_cohosted_salon_routes_questions_by_whom_they_tag(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    """Two salons with the partner: in the first it has connected its account (the PIN flow)
    and its answers go out from it; in the second it has disconnected, and its curators post by
    hand, the bot checking the link on X."""
    partner_id = (await seat_partner(sandbox, bot, timezone="Asia/Yekaterinburg")).id
    await connect_partner(sandbox)
    telegram = sandbox.telegram
    telegram.user_sends(
        STAFF_CHAT_ID, MODERATOR.user_id, f'/start_salon "Новый год" 90m with @{PARTNER_HANDLE}'
    )
    await said(sandbox, STAFF_CHAT_ID, f"@{PARTNER_HANDLE}")
    # The co-host's group hears of it in its language, with its own local time.
    start = await said(sandbox, PARTNER_CHAT_ID, "is live until")
    assert "Asia/Yekaterinburg" in start["text"]
    async with bot.bot_data.sessionmaker.begin() as session:
        salon = await session.scalar(select(Salon))
    assert salon is not None and salon.partner_id == partner_id

    x = sandbox.x
    for_host = x.visitor_posts("ivan", f"@museum Когда основан музей? {TAG}")
    # No hashtag and no museum: only the search for the partner's mentions finds it.
    for_partner = x.visitor_posts("olga", f"@{PARTNER_HANDLE} Сколько у вас икон?")
    for_both = x.visitor_posts("petr", f"@museum @{PARTNER_HANDLE} Как встречали Новый год?")
    tag_only = x.visitor_posts("maria", f"Что такое колядки? {TAG}")
    # The partner's own post under the hashtag is no question.
    x.visitor_posts(PARTNER_HANDLE, f"Добро пожаловать на гостиную! {TAG}")

    for post in (for_host, for_partner, for_both, tag_only):
        await wait_card(sandbox, STAFF_CHAT_ID, post["id"])
    for post in (for_partner, for_both, tag_only):
        await wait_card(sandbox, PARTNER_CHAT_ID, post["id"])
    await settled(bot)
    assert card_of(sandbox, PARTNER_CHAT_ID, for_host["id"]) is None
    stored = await questions_by_post(bot)
    assert len(stored) == 4
    assert {post_id: (q.audience, q.replyable) for post_id, q in stored.items()} == {
        for_host["id"]: (QuestionAudience.HOST, True),
        for_partner["id"]: (QuestionAudience.PARTNER, True),
        for_both["id"]: (QuestionAudience.BOTH, True),
        tag_only["id"]: (QuestionAudience.BOTH, False),
    }
    partner_card = card_of(sandbox, PARTNER_CHAT_ID, for_partner["id"])
    assert partner_card is not None and f"only @{PARTNER_HANDLE}" in partner_card["text"]
    assert "X will not let the museum reply" in str(
        (card_of(sandbox, PARTNER_CHAT_ID, tag_only["id"]) or {})["text"]
    )

    # Only the partner's curators may take what tags only the partner, and the other way round.
    host_card = await wait_card(sandbox, STAFF_CHAT_ID, for_partner["id"])
    refusal = await press(sandbox, STAFF_CHAT_ID, CURATOR_RU, host_card, "Взять")
    assert PARTNER_NAME in refusal and f"@{PARTNER_HANDLE}" in refusal
    host_only = await wait_card(sandbox, STAFF_CHAT_ID, for_host["id"])

    # Shown to both, taken in both groups at once: the first museum owns it, the other is
    # told who has it and its card shows them; nobody there can answer it any more.
    both_there = await wait_card(sandbox, PARTNER_CHAT_ID, for_both["id"])
    both_here = await wait_card(sandbox, STAFF_CHAT_ID, for_both["id"])
    presses = {
        PARTNER_ADMIN.user_id: telegram.user_presses(
            PARTNER_CHAT_ID,
            PARTNER_ADMIN.user_id,
            both_there["message_id"],
            buttons(both_there)["Take"],
        ),
        CURATOR_RU.user_id: telegram.user_presses(
            STAFF_CHAT_ID, CURATOR_RU.user_id, both_here["message_id"], buttons(both_here)["Взять"]
        ),
    }
    await telegram.wait_for(lambda: all(q in telegram.callback_answers for q in presses.values()))
    said_to = {who: telegram.callback_answers[q]["text"] for who, q in presses.items()}
    async with bot.bot_data.sessionmaker.begin() as session:
        taken = await session.scalar(select(Question).where(Question.x_post_id == for_both["id"]))
    assert taken is not None and taken.taken_by in presses
    if taken.taken_by == PARTNER_ADMIN.user_id:
        owner, winner_text = (
            f"{PARTNER_ADMIN.first_name} ({PARTNER_NAME})",
            said_to[PARTNER_ADMIN.user_id],
        )
        loser, loser_chat, loser_text = CURATOR_RU, STAFF_CHAT_ID, said_to[CURATOR_RU.user_id]
        other_moderator, answer_label = MODERATOR, "Ответить"
        assert winner_text == "The question is yours."
    else:
        owner, winner_text = "Vera (@museum)", said_to[CURATOR_RU.user_id]
        loser, loser_chat, loser_text = (
            PARTNER_ADMIN,
            PARTNER_CHAT_ID,
            said_to[PARTNER_ADMIN.user_id],
        )
        other_moderator, answer_label = PARTNER_ADMIN, "Answer"
        assert winner_text == "Вопрос ваш."
    assert owner in loser_text
    for chat_id in (STAFF_CHAT_ID, PARTNER_CHAT_ID):
        await telegram.wait_for(
            lambda chat_id=chat_id: owner in str(card_of(sandbox, chat_id, for_both["id"]))
        )
    card_now = card_of(sandbox, loser_chat, for_both["id"])
    assert card_now is not None
    assert owner in await press(sandbox, loser_chat, loser, card_now, answer_label)
    # Not even a moderator of the other museum takes it over.
    take_over = "Взять" if other_moderator is MODERATOR else "Take"
    release = "Вернуть" if other_moderator is MODERATOR else "Release"
    label = release if release in buttons(card_now) else take_over
    assert owner in await press(sandbox, loser_chat, other_moderator, card_now, label)
    async with bot.bot_data.sessionmaker.begin() as session:
        still = await session.scalar(select(Question).where(Question.x_post_id == for_both["id"]))
    assert still is not None and still.taken_by == taken.taken_by

    # The partner's curator answers what tags only the partner, from the partner's group: the
    # answer goes from the partner's account (the delivery says so), signed, under the hashtag.
    partner_there = await wait_card(sandbox, PARTNER_CHAT_ID, for_partner["id"])
    there, preview = await answer_in(
        sandbox, PARTNER_CHAT_ID, PARTNER_ADMIN, partner_there, "Около тысячи.", "Answer"
    )
    await press(sandbox, there, PARTNER_ADMIN, preview, "Post")
    delivery = await delivery_of_answer(bot, stored[for_partner["id"]])
    assert delivery.partner_id == partner_id
    assert delivery.target == for_partner["id"]
    assert PARTNER_SIGNATURE in delivery.payload and TAG in delivery.payload

    def partner_replies() -> list[dict[str, Any]]:
        return [p for p in partner_posts(sandbox) if p.get("in_reply_to_tweet_id")]

    await telegram.wait_for(partner_replies)
    [on_x] = partner_replies()
    assert on_x["in_reply_to_tweet_id"] == for_partner["id"]
    assert PARTNER_SIGNATURE in on_x["text"]
    assert not [p for p in x.museum_posts() if p.get("in_reply_to_tweet_id") == for_partner["id"]]
    await telegram.wait_for(
        lambda: (
            f"{PARTNER_ADMIN.first_name} ({PARTNER_NAME})"
            in str(card_of(sandbox, STAFF_CHAT_ID, for_partner["id"]))
        )
    )

    # The host's curator answers what tags only the host: from the museum's own account.
    there, preview = await answer_in(
        sandbox, STAFF_CHAT_ID, CURATOR_RU, host_only, "В 1872 году.", "Ответить"
    )
    await press(sandbox, there, CURATOR_RU, preview, "Опубликовать")
    delivery = await delivery_of_answer(bot, stored[for_host["id"]])
    assert delivery.partner_id is None
    await telegram.wait_for(
        lambda: any(p.get("in_reply_to_tweet_id") == for_host["id"] for p in x.museum_posts())
    )
    # The partner group's card shows the answer the moment it is on X; its host card too.
    await telegram.wait_for(
        lambda: (
            "Answered by Vera" in str(card_of(sandbox, STAFF_CHAT_ID, for_host["id"]))
            or "Ответил(а) Vera" in str(card_of(sandbox, STAFF_CHAT_ID, for_host["id"]))
        )
    )
    await settled(bot)
    await second_salon_answered_by_hand(sandbox, bot)


async def second_salon_answered_by_hand(sandbox: Sandbox, bot: OpsbotApplication) -> None:
    """The partner disconnected: its curator posts the answer on X herself and gives the link;
    the bot checks it replies to the question from the partner's account."""
    await command(sandbox, STAFF_CHAT_ID, MODERATOR.user_id, "/end_salon", "завершена")
    admin = PARTNER_ADMIN.user_id
    await command(sandbox, admin, admin, "/partner disconnect", "Disconnected")
    await start_cohosted_salon(sandbox, "Рождество")
    x = sandbox.x
    question = x.visitor_posts("olga", f"@{PARTNER_HANDLE} Когда у вас Рождество?")
    card = await wait_card(sandbox, PARTNER_CHAT_ID, question["id"])
    there, preview = await answer_in(
        sandbox, PARTNER_CHAT_ID, PARTNER_CURATOR, card, "7 января.", "Answer"
    )
    assert "Post" not in buttons(preview)
    await press(sandbox, there, PARTNER_CURATOR, preview, "Mark answered")
    prompt = await says(sandbox, there, preview["message_id"], "link of your reply")

    async def send_link(post: dict[str, Any], handle: str, expected: str) -> None:
        await command(
            sandbox,
            there,
            PARTNER_CURATOR.user_id,
            f"https://x.com/{handle}/status/{post['id']}",
            expected,
            reply_to_message_id=prompt["message_id"],
        )

    museums = x.visitor_posts("museum", "@olga 7 января.", reply_to=question["id"])
    elsewhere = x.visitor_posts(PARTNER_HANDLE, "7 января.", reply_to=museums["id"])
    theirs = x.visitor_posts(PARTNER_HANDLE, "@olga 7 января.", reply_to=question["id"])
    await send_link(museums, "museum", f"not from @{PARTNER_HANDLE}")
    await send_link(elsewhere, PARTNER_HANDLE, "not a reply to the question")
    await send_link(theirs, PARTNER_HANDLE, "Checked on X")
    async with bot.bot_data.sessionmaker.begin() as session:
        status = await session.scalar(
            select(Question.status).where(Question.x_post_id == question["id"])
        )
    assert status == QuestionStatus.ANSWERED
    # The bot itself posted nothing from the partner's account this time.
    replies = [p for p in partner_posts(sandbox) if p.get("in_reply_to_tweet_id") == question["id"]]
    assert [p["id"] for p in replies] == [theirs["id"]]
    await settled(bot)


async def test_a_partner_curator_in_the_hosts_group_takes_only_what_the_partner_may_answer(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    """Without a group of its own, the partner's curators work from the host's group."""
    await seat_partner(sandbox, bot, own_group=False)
    telegram = sandbox.telegram
    telegram.add_member(STAFF_CHAT_ID, PARTNER_ADMIN.user_id, "member")
    telegram.user_sends(
        STAFF_CHAT_ID, MODERATOR.user_id, f"/start_salon Тема with @{PARTNER_HANDLE}"
    )
    await said(sandbox, STAFF_CHAT_ID, f"@{PARTNER_HANDLE}")
    for_host = sandbox.x.visitor_posts("ivan", f"@museum Вопрос музею {TAG}")
    for_partner = sandbox.x.visitor_posts("olga", f"@{PARTNER_HANDLE} Вопрос партнёру")
    host_card = await wait_card(sandbox, STAFF_CHAT_ID, for_host["id"])
    partner_card = await wait_card(sandbox, STAFF_CHAT_ID, for_partner["id"])
    refusal = await press(sandbox, STAFF_CHAT_ID, PARTNER_ADMIN, host_card, "Взять")
    assert "@museum" in refusal
    assert await press(sandbox, STAFF_CHAT_ID, PARTNER_ADMIN, partner_card, "Взять") == (
        "The question is yours."
    )
    await settled(bot)


@pytest.mark.parametrize(
    ("own_group", "staff", "command", "refusal"),
    [
        (True, True, "/start_salon Тема with @nobody_here", "не партнёр"),
        (True, True, "/start_salon Тема with @", "не имя"),
        (False, False, f"/start_salon Тема with @{PARTNER_HANDLE}", "ни своей"),
        (True, True, f"/schedule weekly sat 19:00 Тема with @{PARTNER_HANDLE}", "Еженедельную"),
    ],
    ids=["unknown", "not-a-handle", "nobody-to-answer", "weekly"],
)
async def test_a_salon_is_not_cohosted_with_a_partner_that_cannot_answer(
    sandbox: Sandbox,
    bot: OpsbotApplication,
    own_group: bool,
    staff: bool,
    command: str,
    refusal: str,
) -> None:
    await seat_partner(sandbox, bot, own_group=own_group, staff=staff)
    sandbox.telegram.user_sends(STAFF_CHAT_ID, MODERATOR.user_id, command)
    told = await said(sandbox, STAFF_CHAT_ID, refusal)
    assert told["from"]["is_bot"]
    async with bot.bot_data.sessionmaker.begin() as session:
        assert await session.scalar(select(Salon)) is None
