"""A burst of 600 questions reaches the staff group in digests of ten, oldest first, within
the flood limit; every question can still be opened, taken and answered on its own."""

from __future__ import annotations

import re
from typing import Any

from opsbot.emulators.sandbox import CURATOR_EN, Sandbox
from opsbot.telegram.context import OpsbotApplication
from tests.integration.helpers import (
    bot_messages,
    buttons,
    cards,
    message_by_id,
    press_and_wait,
    write_answer,
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
    # Ten a message while the backlog lasted; single cards again once it drained.
    assert len(found) <= BURST // 10
    assert all(len(listed(m)) == 10 for m in found[:-1])
    assert [r for r in sandbox.telegram.requests if r.status == 429] == []
    assert "600" in found[0]["text"] and "🚫" in found[0]["text"]

    # Any listed question opens as a full card, once, and is answered from it.
    digest = found[len(found) // 2]
    number = listed(digest)[3]
    assert number % 4 != 0
    reply = await press_and_wait(sandbox, CURATOR_EN.user_id, digest, "4")
    assert reply == "Here is its card."
    again = await press_and_wait(sandbox, CURATOR_EN.user_id, digest, "4")
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
