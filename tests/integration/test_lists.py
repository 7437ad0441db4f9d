"""/queue and /mine stay readable however many questions wait: pages, never "too long"."""

from __future__ import annotations

import re
from datetime import timedelta

from opsbot.db.base import utcnow
from opsbot.db.models import Question, QuestionStatus
from opsbot.emulators.sandbox import CURATOR_EN, CURATOR_RU, STAFF_CHAT_ID, Sandbox
from opsbot.services import staff
from opsbot.telegram.context import OpsbotApplication
from tests.integration.helpers import bot_messages, buttons, message_by_id, press_and_wait

TAKEN = 45


async def seed_taken_questions(bot: OpsbotApplication, curator_id: int) -> None:
    """Questions already carded and taken, with the longest texts and names a list can meet."""
    async with bot.bot_data.sessionmaker.begin() as session:
        await staff.see_member(
            session,
            telegram_id=curator_id,
            first_name="Boris " + "Долгоимённый" * 15,
            username="boris_curator",
            telegram_language="en",
        )
        for n in range(TAKEN):
            session.add(
                Question(
                    x_post_id=str(9_000_000 + n),
                    author_id=str(500 + n),
                    author_handle=f"visitor_with_long_handle{n}"[:15],
                    author_name="Visitor",
                    text=f"Вопрос {n}: " + "очень длинный текст вопроса " * 40,
                    posted_at=utcnow() - timedelta(minutes=TAKEN - n),
                    source="mentions",
                    replyable=True,
                    status=QuestionStatus.TAKEN,
                    taken_by=curator_id,
                    card_chat_id=STAFF_CHAT_ID,
                    card_message_id=100_000 + n,
                )
            )


def listed_ids(message: dict[str, object]) -> list[int]:
    return [int(n) for n in re.findall(r"^(\d+)\. @", str(message["text"]), re.MULTILINE)]


async def test_mine_with_many_taken_questions_pages_through_all_of_them(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    await seed_taken_questions(bot, CURATOR_EN.user_id)
    asked = sandbox.telegram.user_sends(STAFF_CHAT_ID, CURATOR_EN.user_id, "/mine")
    listing = await sandbox.telegram.wait_for(
        lambda: next(
            (
                m
                for m in bot_messages(sandbox)
                if m.get("reply_to_message_id") == asked["message_id"]
            ),
            None,
        )
    )
    assert "45 questions you have taken" in listing["text"]
    assert "Page 1 of 3" in listing["text"]
    seen = listed_ids(listing)
    list_id = listing["message_id"]
    for page in (2, 3):
        await press_and_wait(sandbox, CURATOR_EN.user_id, listing, f"Page {page} ▶")
        listing = await sandbox.telegram.wait_for(
            lambda page=page: (
                (m := message_by_id(sandbox, list_id)) and f"Page {page} of 3" in m["text"] and m
            )
        )
        assert len(str(listing["text"])) <= 4096
        seen += listed_ids(listing)
    assert sorted(seen) == sorted(set(seen)) and len(seen) == TAKEN
    assert set(buttons(listing)) == {"◀ Page 2"}

    # Another curator cannot turn someone else's list of taken questions.
    refusal = await press_and_wait(sandbox, CURATOR_RU.user_id, listing, "◀ Page 2")
    assert refusal == "Листать этот список может только тот, кто его запросил."
    assert "Page 3 of 3" in message_by_id(sandbox, listing["message_id"])["text"]


async def test_queue_pages_for_everyone(sandbox: Sandbox, bot: OpsbotApplication) -> None:
    await seed_taken_questions(bot, CURATOR_EN.user_id)
    sandbox.telegram.user_sends(STAFF_CHAT_ID, CURATOR_RU.user_id, "/queue")
    listing = await sandbox.telegram.wait_for(
        lambda: next((m for m in bot_messages(sandbox) if "Страница 1 из 3" in m["text"]), None)
    )
    assert listed_ids(listing) == sorted(listed_ids(listing))
    await press_and_wait(sandbox, CURATOR_EN.user_id, listing, "Страница 2 ▶")
    await sandbox.telegram.wait_for(
        lambda: "Page 2 of 3" in message_by_id(sandbox, listing["message_id"])["text"]
    )
