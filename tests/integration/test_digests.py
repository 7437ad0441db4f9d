"""A burst of 600 questions reaches the staff group in digests of ten, oldest first, within
the flood limit; every question can still be opened, taken and answered on its own: from the
digest alone in the curator's private chat, or from its full card in the group."""

from __future__ import annotations

import re
from typing import Any

from opsbot.emulators.sandbox import CURATOR_EN, STAFF_CHAT_ID, Sandbox
from opsbot.telegram.context import OpsbotApplication
from tests.integration.helpers import (
    bot_messages,
    buttons,
    cards,
    message_by_id,
    press_and_wait,
    settled,
    write_answer,
)
from tests.integration.test_private_answers import (
    BOT,
    GOAL_GROUP_MESSAGES_PER_ANSWER,
    group_messages,
    press,
    private_message,
    private_preview_for,
    prompts_in,
    starts_the_bot,
)

BURST = 600


def digests(sandbox: Sandbox) -> list[dict[str, Any]]:
    return sorted(
        (m for m in bot_messages(sandbox) if m["text"].startswith("📥")),
        key=lambda m: m["message_id"],
    )


def listed(message: dict[str, Any]) -> list[int]:
    """The question numbers (n of "Вопрос n") a digest lists, top to bottom."""
    return [int(n) for n in re.findall(r"Вопрос (\d+)\b", message["text"])]


async def test_a_burst_goes_out_in_digests_oldest_first_and_every_question_answerable(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    x = sandbox.x
    await x.wait_for(lambda: any(r.endpoint == "searchPostsRecent" for r in x.requests))
    ids = []
    for n in range(BURST):
        # Every fourth one only carries the hashtag: X will not let the museum reply to it.
        mentioned = n % 4 != 0
        text = f"@museum Вопрос {n} #museumsalon" if mentioned else f"Вопрос {n} #museumsalon"
        ids.append(x.visitor_posts(f"v{n}", text)["id"])

    def all_listed() -> list[dict[str, Any]] | None:
        found = digests(sandbox)
        shown = sum(len(listed(m)) for m in found) + len(cards(sandbox))
        return found if shown >= BURST else None

    found = await sandbox.telegram.wait_for(all_listed, timeout=60)
    order = [n for m in found for n in listed(m)] + [
        int(re.findall(r"Вопрос (\d+)", c["text"])[0])
        for c in sorted(cards(sandbox), key=lambda m: m["message_id"])
    ]
    assert order == list(range(BURST))
    # Ten a message while a full digest was left: no tail of single cards after a burst.
    assert len(found) == BURST // 10
    assert all(len(listed(m)) == 10 for m in found)
    assert cards(sandbox) == []
    # Drained: the next questions come one card each again.
    for n in range(BURST, BURST + 3):
        x.visitor_posts(f"v{n}", f"@museum Вопрос {n} #museumsalon")
    after = await sandbox.telegram.wait_for(
        lambda: cards(sandbox) if len(cards(sandbox)) >= 3 else None, timeout=60
    )
    assert sorted(int(re.findall(r"Вопрос (\d+)", c["text"])[0]) for c in after) == [600, 601, 602]
    assert len(digests(sandbox)) == BURST // 10
    assert [r for r in sandbox.telegram.requests if r.status == 429] == []
    assert "600" in found[0]["text"] and "🚫" in found[0]["text"]

    # A curator the bot may not write to: a number opens the full card, once, and the
    # question is answered from it in the group.
    digest = found[len(found) // 2]
    number = listed(digest)[3]
    assert number % 4 != 0
    reply = await press_and_wait(sandbox, CURATOR_EN.user_id, digest, "4")
    assert reply == "Here is its card."
    again = await press_and_wait(sandbox, CURATOR_EN.user_id, digest, "🗂4")
    assert again == "Its card is already in the chat: look for it above."
    [card] = [c for c in cards(sandbox) if f"Вопрос {number} " in c["text"]]
    assert set(buttons(card)) == {"Взять", "Ответить", "Скрыть"}
    await press_and_wait(sandbox, CURATOR_EN.user_id, card, "Взять")
    preview = await write_answer(sandbox, CURATOR_EN.user_id, card, "An answer.")
    await press_and_wait(sandbox, CURATOR_EN.user_id, preview, "Post")
    await sandbox.telegram.wait_for(
        lambda: "Ответил(а) Boris" in message_by_id(sandbox, card["message_id"])["text"]
    )
    [post] = [p for p in x.museum_posts() if p.get("in_reply_to_tweet_id")]
    assert post["in_reply_to_tweet_id"] == ids[number]


async def burst(sandbox: Sandbox, count: int) -> tuple[list[dict[str, Any]], list[str]]:
    """`count` questions at once: the digests once every one is listed, and the posts' ids."""
    x = sandbox.x
    await x.wait_for(lambda: any(r.endpoint == "searchPostsRecent" for r in x.requests))
    posts = [
        x.visitor_posts(f"v{n}", f"@museum Вопрос {n} #museumsalon")["id"] for n in range(count)
    ]

    def all_listed() -> list[dict[str, Any]] | None:
        found = digests(sandbox)
        return found if sum(len(listed(m)) for m in found) + len(cards(sandbox)) >= count else None

    return await sandbox.telegram.wait_for(all_listed, timeout=60), posts


def question_ids(digest: dict[str, Any]) -> list[int]:
    """The question ids behind a digest's numbers, top to bottom."""
    data = [d for label, d in buttons(digest).items() if label.isdigit()]
    return [int(d.split(":")[2]) for d in data if d.startswith("v1:dn:")]


async def test_a_question_is_answered_straight_from_a_digest_in_private(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    curator = CURATOR_EN.user_id
    await starts_the_bot(sandbox, curator)
    found, posts = await burst(sandbox, 60)
    digest = found[0]
    numbers, ids = listed(digest), question_ids(digest)
    assert len(ids) == len(numbers) == 10
    # Whatever the burst still had in hand is not the answers' share.
    await settled(bot)
    before = group_messages(sandbox)
    for position, question_id in enumerate(ids, start=1):
        seen = len(prompts_in(sandbox, curator))
        answered = await press(sandbox, STAFF_CHAT_ID, curator, digest, str(position))
        assert answered["text"] == "I have asked you in our private chat."
        assert answered["url"] == f"https://t.me/{BOT}?start=a{question_id}"
        prompt = await sandbox.telegram.wait_for(
            lambda seen=seen: (
                prompts_in(sandbox, curator)[seen:] and prompts_in(sandbox, curator)[seen]
            )
        )
        # The app opens the deep link of the press: nothing is asked twice.
        sandbox.telegram.user_starts_bot(curator, f"a{question_id}")
        sent = sandbox.telegram.user_sends(
            curator, curator, f"Answer {position}.", reply_to_message_id=prompt["message_id"]
        )
        preview = await private_preview_for(sandbox, curator, sent["message_id"])
        await press(sandbox, curator, curator, preview, "Post")
        await sandbox.telegram.wait_for(
            lambda preview=preview: (
                "✅ Posted" in private_message(sandbox, curator, preview["message_id"])["text"]
            )
        )
    replied = [p["in_reply_to_tweet_id"] for p in sandbox.x.museum_posts()]
    assert sorted(replied) == sorted(posts[n] for n in numbers)
    for n in numbers:
        assert not [c for c in cards(sandbox) if f"Вопрос {n} " in c["text"]]
    assert len(prompts_in(sandbox, curator)) == 10
    # The group's share: its digest, one message for ten answers, and nothing more (counted
    # once the last answer's edits, another task's, are done).
    await settled(bot)
    spent = group_messages(sandbox) - before
    assert (spent + 1) / len(ids) <= GOAL_GROUP_MESSAGES_PER_ANSWER, spent
    assert not sandbox.telegram.violations
