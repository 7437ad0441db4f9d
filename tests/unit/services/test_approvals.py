"""Approval: who needs it, and each step once however many moderators press at once."""

from __future__ import annotations

import pytest

from opsbot.db.models import AnswerStatus, DeliveryKind
from opsbot.services import answers, approvals, outbox
from opsbot.services.answers import ClaimOutcome
from opsbot.services.approvals import AmendOutcome, Mode
from opsbot.services.outbox import Origin
from tests.unit.services.conftest import NOW, Sessions, add_question, at_once, in_turn
from tests.unit.services.test_answers import ANNA, TAGS, VERA, draft, staff


@pytest.mark.parametrize(
    ("mode", "moderator", "listed", "needed"),
    [
        (Mode.OFF, False, True, False),
        (Mode.CURATORS, False, False, True),
        (Mode.CURATORS, True, False, False),
        (Mode.LISTED, False, False, False),
        (Mode.LISTED, False, True, True),
        (Mode.LISTED, True, True, False),
    ],
)
def test_who_needs_approval(mode: Mode, moderator: bool, listed: bool, needed: bool) -> None:
    assert approvals.required(mode, moderator=moderator, listed=listed) is needed


async def approve(sessions: Sessions, root_id: int, moderator: int = ANNA) -> ClaimOutcome:
    claimed = await in_turn(
        sessions,
        lambda s: approvals.approve(
            s, root_id, moderator, now=NOW, origin=Origin(requested_by=moderator)
        ),
    )
    return claimed.outcome


async def test_approving_at_once_hands_the_answer_over_once(sessions: Sessions) -> None:
    await staff(sessions)
    qid = await add_question(sessions)
    made = await draft(sessions, qid, curator=VERA)
    assert made.answer is not None
    root_id = made.answer.id
    # Not yet sent for approval: nothing to approve.
    assert await approve(sessions, root_id) == ClaimOutcome.CANCELLED
    assert await in_turn(sessions, lambda s: approvals.submit(s, root_id)) is None
    assert await in_turn(sessions, lambda s: approvals.submit(s, root_id)) == ClaimOutcome.AWAITING
    # Waiting for approval, the curator's own Post does nothing.
    posted = await in_turn(
        sessions,
        lambda s: answers.claim(s, root_id, now=NOW, origin=Origin(requested_by=VERA)),
    )
    assert posted.outcome == ClaimOutcome.AWAITING
    outcomes = await at_once(
        sessions,
        lambda s: approvals.approve(s, root_id, ANNA, now=NOW, origin=Origin(requested_by=ANNA)),
    )
    assert sorted(o.outcome for o in outcomes) == sorted(
        [ClaimOutcome.CLAIMED] + [ClaimOutcome.ALREADY_POSTING] * 3
    )
    root = await in_turn(sessions, lambda s: answers.load(s, root_id))
    assert root is not None and root.status == AnswerStatus.POSTING and root.reviewed_by == ANNA
    deliveries = await in_turn(sessions, lambda s: outbox.of_answers(s, [root_id]))
    assert [d.kind for d in deliveries.values()] == [DeliveryKind.ANSWER]


async def test_returned_then_replaced_by_a_new_draft(sessions: Sessions) -> None:
    await staff(sessions)
    qid = await add_question(sessions)
    made = await draft(sessions, qid, curator=VERA)
    assert made.answer is not None
    root_id = made.answer.id
    await in_turn(sessions, lambda s: approvals.submit(s, root_id))
    assert await in_turn(sessions, lambda s: approvals.give_back(s, root_id, ANNA, "Год?"))
    assert not await in_turn(sessions, lambda s: approvals.give_back(s, root_id, ANNA, "Год?"))
    assert await approve(sessions, root_id) == ClaimOutcome.RETURNED
    returned = await in_turn(sessions, lambda s: approvals.in_review(s, qid))
    assert returned is not None and returned.review_comment == "Год?"
    again = await draft(sessions, qid, "В 1872 году.", curator=VERA)
    assert again.answer is not None and again.withdrawn == ()
    old = await in_turn(sessions, lambda s: answers.load(s, root_id))
    assert old is not None and old.status == AnswerStatus.CANCELLED
    await in_turn(sessions, lambda s: approvals.submit(s, again.answer.id))  # type: ignore[union-attr]
    newest = await draft(sessions, qid, "В 1872-м.", curator=VERA)
    assert again.answer is not None and newest.withdrawn == (again.answer.id,)


async def test_a_moderator_amends_only_an_answer_awaiting_approval(sessions: Sessions) -> None:
    await staff(sessions)
    qid = await add_question(sessions, text="Когда основан музей? #музей")
    made = await draft(sessions, qid, curator=VERA)
    assert made.answer is not None
    root_id = made.answer.id

    async def amend(text: str) -> AmendOutcome:
        amended = await in_turn(
            sessions,
            lambda s: approvals.amend(s, root_id, text, ANNA, hashtags=TAGS, signature="Вера"),
        )
        return amended.outcome

    assert await amend("В 1872 году.") == AmendOutcome.NOT_AWAITING
    await in_turn(sessions, lambda s: approvals.submit(s, root_id))
    assert await amend("  ") == AmendOutcome.EMPTY
    assert await amend("x" * (answers.MAX_ANSWER_CHARS + 1)) == AmendOutcome.TEXT_TOO_LONG
    assert await amend("В 1872 году.") == AmendOutcome.DONE
    root = await in_turn(sessions, lambda s: answers.load(s, root_id))
    assert root is not None and root.text == "В 1872 году.\n— Вера #музей"
    assert root.reviewed_by == ANNA and root.status == AnswerStatus.AWAITING
