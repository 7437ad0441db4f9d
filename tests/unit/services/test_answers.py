"""Answers: drafts, handed to the outbox once, written back part by part."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.base import utcnow
from opsbot.db.models import Answer, AnswerStatus, DeliveryKind, QuestionStatus
from opsbot.services import answers, outbox, questions
from opsbot.services.answers import MAX_ANSWER_CHARS, ClaimOutcome, DraftOutcome
from opsbot.services.outbox import Origin
from opsbot.services.tweet_length import fits
from tests.unit.services.conftest import NOW, Sessions, add_question, add_staff, at_once, in_turn

BORIS, VERA, ANNA = 1002, 1003, 1001
TAGS = ["#museum", "#музей"]
LONG = " ".join(["The collection grew slowly over two centuries of patient work."] * 12)


async def draft(
    sessions: Sessions, qid: int, text: str = "In 1898.", curator: int = BORIS, **extra: object
) -> answers.DraftResult:
    values: dict[str, object] = {"hashtags": TAGS, "signature": None, "moderator": False}
    values.update(extra)
    return await in_turn(
        sessions,
        lambda s: answers.create_draft(s, qid, curator, text, **values),  # type: ignore[arg-type]
    )


async def claim(session: AsyncSession, root_id: int) -> answers.Claim:
    return await answers.claim(session, root_id, now=NOW, origin=Origin(requested_by=BORIS))


async def staff(sessions: Sessions) -> None:
    for person in (ANNA, BORIS, VERA):
        await add_staff(sessions, person)


async def test_a_draft_takes_the_question_and_replaces_the_curators_earlier_one(
    sessions: Sessions,
) -> None:
    await staff(sessions)
    qid = await add_question(sessions, text="Когда основан музей? #музей")
    first = await draft(sessions, qid, "В 1898 году.", signature="Борис")
    assert first.outcome == DraftOutcome.CREATED and first.answer is not None
    # The visitor's hashtag, after the signature.
    assert first.answer.text == "В 1898 году.\n— Борис #музей"
    assert first.question is not None and first.question.taken_by == BORIS
    second = await draft(sessions, qid, "In 1898.")
    assert second.answer is not None
    replaced = await in_turn(sessions, lambda s: answers.load(s, first.answer.id))  # type: ignore[union-attr]
    assert replaced is not None and replaced.status == AnswerStatus.CANCELLED
    other = await draft(sessions, qid, "Mine", curator=VERA)
    assert (other.outcome, other.holder_id) == (DraftOutcome.TAKEN_BY_OTHER, BORIS)
    taken_over = await draft(sessions, qid, "Mine", curator=ANNA, moderator=True)
    assert taken_over.outcome == DraftOutcome.CREATED


async def test_a_draft_refuses_what_cannot_be_answered(sessions: Sessions) -> None:
    qid = await add_question(sessions)
    assert (await draft(sessions, qid, "  ")).outcome == DraftOutcome.EMPTY
    too_long = "x" * (MAX_ANSWER_CHARS + 1)
    assert (await draft(sessions, qid, too_long)).outcome == DraftOutcome.TEXT_TOO_LONG
    assert (await draft(sessions, 999)).outcome == DraftOutcome.NOT_FOUND
    answered = await add_question(sessions, status=QuestionStatus.ANSWERED)
    assert (await draft(sessions, answered)).outcome == DraftOutcome.ANSWERED
    hidden = await add_question(sessions, status=QuestionStatus.HIDDEN)
    assert (await draft(sessions, hidden)).outcome == DraftOutcome.HIDDEN


async def test_an_answer_is_handed_to_the_outbox_once(sessions: Sessions) -> None:
    await staff(sessions)
    qid = await add_question(sessions, x_post_id="4242")
    made = await draft(sessions, qid)
    assert made.answer is not None
    root = made.answer.id
    claims = await at_once(sessions, lambda s: claim(s, root), times=4)
    assert [c.outcome for c in claims].count(ClaimOutcome.CLAIMED) == 1
    assert {c.outcome for c in claims} == {ClaimOutcome.CLAIMED, ClaimOutcome.ALREADY_POSTING}
    row = await in_turn(sessions, lambda s: outbox.by_key(s, answers.key(root)))
    assert row is not None and row.kind == DeliveryKind.ANSWER and row.target == "4242"
    # Another curator's draft of the same question cannot go out beside it.
    rival = await draft(sessions, qid, "Also 1898", curator=ANNA, moderator=True)
    assert rival.answer is not None
    rival_claim = await in_turn(sessions, lambda s: claim(s, rival.answer.id))  # type: ignore[union-attr]
    assert rival_claim.outcome == ClaimOutcome.OTHER_ANSWER
    await in_turn(sessions, lambda s: answers.part_posted(s, root, "9001", NOW))
    answered = await in_turn(sessions, lambda s: questions.load(s, qid))
    assert answered is not None and answered.status == QuestionStatus.ANSWERED
    assert answered.taken_by == BORIS
    cancelled = await in_turn(sessions, lambda s: answers.load(s, rival.answer.id))  # type: ignore[union-attr]
    assert cancelled is not None and cancelled.status == AnswerStatus.CANCELLED
    assert (await in_turn(sessions, lambda s: claim(s, root))).outcome == (
        ClaimOutcome.ALREADY_POSTED
    )
    posted = await in_turn(sessions, lambda s: answers.posted_answer(s, qid))
    assert posted is not None and posted.x_post_id == "9001"
    assert await in_turn(sessions, lambda s: answers.answered_since(s, NOW)) == [qid]


async def test_claims_are_refused_for_what_x_would_refuse(sessions: Sessions) -> None:
    await staff(sessions)
    silent = await add_question(sessions, replyable=False)
    made = await draft(sessions, silent)
    assert made.answer is not None
    assert (await in_turn(sessions, lambda s: claim(s, made.answer.id))).outcome == (  # type: ignore[union-attr]
        ClaimOutcome.NOT_REPLYABLE
    )
    qid = await add_question(sessions)
    long = await draft(sessions, qid, LONG)
    assert long.answer is not None and not fits(long.answer.text)
    assert (await in_turn(sessions, lambda s: claim(s, long.answer.id))).outcome == (  # type: ignore[union-attr]
        ClaimOutcome.TOO_LONG
    )
    await in_turn(sessions, lambda s: questions.hide(s, qid, ANNA))
    assert (await in_turn(sessions, lambda s: claim(s, long.answer.id))).outcome == (  # type: ignore[union-attr]
        ClaimOutcome.QUESTION_HIDDEN
    )
    assert (await in_turn(sessions, lambda s: claim(s, 999))).outcome == ClaimOutcome.NOT_FOUND


async def test_a_long_answer_goes_out_as_a_thread_part_after_part(sessions: Sessions) -> None:
    await staff(sessions)
    qid = await add_question(sessions)
    made = await draft(sessions, qid, LONG, signature="Boris")
    assert made.answer is not None
    root = made.answer.id

    async def split(session: AsyncSession) -> list[Answer] | None:
        return await answers.split_into_thread(session, root, hashtags=TAGS, signature="Boris")

    parts = await in_turn(sessions, split)
    assert parts is not None and len(parts) >= 2
    assert all(fits(p.text) for p in parts)
    assert [p.part for p in parts] == list(range(1, len(parts) + 1))
    assert parts[-1].text.endswith(f"— Boris #museum ({len(parts)}/{len(parts)})")
    assert await in_turn(sessions, split) is None
    assert (await in_turn(sessions, lambda s: claim(s, parts[1].id))).outcome == (
        ClaimOutcome.NOT_FOUND
    )
    assert (await in_turn(sessions, lambda s: claim(s, root))).outcome == ClaimOutcome.CLAIMED
    deliveries = await in_turn(sessions, lambda s: outbox.of_answers(s, [p.id for p in parts]))
    chain = [deliveries[p.id] for p in parts]
    assert [d.follows_id for d in chain] == [None] + [d.id for d in chain[:-1]]
    # Parts before the last do not answer the question yet.
    await in_turn(sessions, lambda s: answers.part_posted(s, parts[0].id, "1", NOW))
    waiting = await in_turn(sessions, lambda s: questions.load(s, qid))
    assert waiting is not None and waiting.status == QuestionStatus.TAKEN
    await in_turn(sessions, lambda s: answers.parts_failed(s, [p.id for p in parts[1:]]))
    thread = await in_turn(sessions, lambda s: answers.thread_of(s, root))
    assert [p.status for p in thread] == [AnswerStatus.POSTED] + [AnswerStatus.FAILED] * (
        len(parts) - 1
    )
    assert await in_turn(sessions, lambda s: answers.answered_on_x_but_open(s)) == []
    assert await in_turn(sessions, lambda s: answers.cancel(s, root))
    assert not await in_turn(sessions, lambda s: answers.cancel(s, root))


async def test_a_whole_answer_on_x_but_a_question_left_open_is_found(sessions: Sessions) -> None:
    await staff(sessions)
    qid = await add_question(sessions)
    made = await draft(sessions, qid)
    assert made.answer is not None
    root = made.answer.id
    await in_turn(sessions, lambda s: claim(s, root))

    async def posted_but_not_answered(session: AsyncSession) -> None:
        await session.execute(
            update(Answer)
            .where(Answer.id == root)
            .values(status=AnswerStatus.POSTED, posted_at=NOW)
        )

    await in_turn(sessions, posted_but_not_answered)
    assert await in_turn(sessions, answers.answered_on_x_but_open) == [(qid, BORIS)]
    await in_turn(sessions, lambda s: answers.mark_answered(s, qid, BORIS))
    assert await in_turn(sessions, answers.answered_on_x_but_open) == []


async def test_prompts_whose_reply_may_be_lost(sessions: Sessions) -> None:
    await staff(sessions)
    qid = await add_question(sessions)
    drafted = await add_question(sessions)
    answered = await add_question(sessions, status=QuestionStatus.ANSWERED)

    async def prompts(session: AsyncSession) -> None:
        for message_id, question_id in ((10, qid), (11, drafted), (12, answered)):
            await answers.remember_prompt(session, -100, message_id, question_id, BORIS)

    await in_turn(sessions, prompts)
    await draft(sessions, drafted)
    assert await in_turn(sessions, lambda s: answers.question_for_reply(s, -100, 10)) == qid
    assert await in_turn(sessions, lambda s: answers.question_for_reply(s, -100, 99)) is None
    # Prompts are stamped with the real time when they are written.
    window = timedelta(minutes=10)
    lost = await in_turn(
        sessions, lambda s: answers.prompts_maybe_lost(s, now=utcnow(), window=window)
    )
    assert [p.message_id for p in lost] == [10]
    claimed = await at_once(sessions, lambda s: answers.mark_asked_again(s, lost[0], NOW))
    assert claimed.count(True) == 1
    assert (
        await in_turn(
            sessions, lambda s: answers.prompts_maybe_lost(s, now=utcnow(), window=window)
        )
        == []
    )
