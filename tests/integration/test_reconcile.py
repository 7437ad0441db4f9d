"""What a stop at the wrong moment leaves apart is put together at the next start."""

from __future__ import annotations

from sqlalchemy import select, update

from opsbot.db.base import utcnow
from opsbot.db.engine import create_engine, create_sessionmaker
from opsbot.db.models import Answer, AnswerStatus, Question, QuestionStatus
from opsbot.emulators.sandbox import CURATOR_EN, Sandbox
from opsbot.runtime import running
from opsbot.settings import Settings
from tests.integration.helpers import message_by_id, press_and_wait, wait_for_cards, write_answer


async def test_an_answer_on_x_with_a_stale_card_and_a_taken_question_is_mended(
    sandbox: Sandbox, settings: Settings
) -> None:
    sandbox.x.visitor_posts("ivan", "@museum Когда основан музей? #museumsalon")
    async with running(settings, poll_timeout=1):
        [card] = await wait_for_cards(sandbox, 1)
        await press_and_wait(sandbox, CURATOR_EN.user_id, card, "Взять")
        await write_answer(sandbox, CURATOR_EN.user_id, card, "В 1872 году.")
        # The take's card edit comes after its press is answered; a stop gives up a send
        # still waiting for its slot.
        await sandbox.telegram.wait_for(
            lambda: "Boris" in message_by_id(sandbox, card["message_id"])["text"]
        )
    # What a process leaves that recorded the post on X and died before it marked the
    # question and edited the card.
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine).begin() as session:
            await session.execute(
                update(Answer)
                .where(Answer.status == AnswerStatus.DRAFT)
                .values(
                    status=AnswerStatus.POSTED, x_post_id="1850000000000000001", posted_at=utcnow()
                )
            )
    finally:
        await engine.dispose()
    assert "Boris" in message_by_id(sandbox, card["message_id"])["text"]
    assert "Ответил(а)" not in message_by_id(sandbox, card["message_id"])["text"]

    async with running(settings, poll_timeout=1) as second:
        await sandbox.telegram.wait_for(
            lambda: "Ответил(а) Boris" in message_by_id(sandbox, card["message_id"])["text"]
        )
        assert (
            "museum/status/1850000000000000001"
            in message_by_id(sandbox, card["message_id"])["html"]
        )
        async with second.bot_data.sessionmaker.begin() as session:
            status = await session.scalar(select(Question.status))
        assert status == QuestionStatus.ANSWERED
