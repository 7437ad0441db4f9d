"""Answers posted by hand for a partner the bot may not post as: the curator sends the link
of the reply they made on X, and the bot checks it there before marking the question answered.

The link must be a post on X that the partner's account wrote as a reply to the question;
anything else is refused with the reason. The prompts asking for links live in memory: after
a restart the curator presses “Mark answered” again.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from enum import StrEnum

from opsbot.services import answers, audit, partners, questions
from opsbot.telegram.context import Runtime
from opsbot.x.gateway import XError

log = logging.getLogger(__name__)

_STATUS = re.compile(
    r"(?:https?://)?(?:www\.|mobile\.)?(?:x|twitter)\.com/[A-Za-z0-9_]{1,15}/status(?:es)?/"
    r"([0-9]{1,19})",
    re.IGNORECASE,
)


class Checked(StrEnum):
    ANSWERED = "answered"
    NOT_A_LINK = "not_a_link"
    NOT_ON_X = "not_on_x"
    WRONG_ACCOUNT = "wrong_account"
    NOT_A_REPLY = "not_a_reply"
    ALREADY = "already"
    X_UNREACHABLE = "x_unreachable"


@dataclass(frozen=True)
class Check:
    outcome: Checked
    # The partner's handle, for the refusal that names it.
    handle: str = ""


async def check(runtime: Runtime, root_id: int, text: str, by: int) -> Check:
    match = _STATUS.search(text)
    if match is None:
        return Check(Checked.NOT_A_LINK)
    post_id = match.group(1)
    async with runtime.sessionmaker.begin() as session:
        parts = await answers.thread_of(session, root_id)
        question = await questions.load(session, parts[0].question_id) if parts else None
        partner = await partners.partner_of_staff(session, parts[0].curator_id) if parts else None
    if question is None or partner is None:
        return Check(Checked.ALREADY)
    try:
        facts = await runtime.gateway.reply_of(post_id)
    except XError as exc:
        log.warning("could not look up a reply posted by hand: %s", exc)
        return Check(Checked.X_UNREACHABLE)
    if facts is None:
        return Check(Checked.NOT_ON_X)
    author, replied_to = facts
    if author.lower() != partner.handle:
        outcome = Checked.WRONG_ACCOUNT
    elif replied_to != question.x_post_id:
        outcome = Checked.NOT_A_REPLY
    else:
        outcome = Checked.ANSWERED
    async with runtime.sessionmaker.begin() as session:
        if outcome == Checked.ANSWERED and not await answers.answered_by_hand(
            session, root_id, post_id, runtime.clock.now()
        ):
            outcome = Checked.ALREADY
        await audit.record(
            session,
            actor_id=by,
            action="answered_by_hand",
            outcome=audit.OK if outcome == Checked.ANSWERED else audit.REFUSED,
            question_id=question.id,
            detail=f"x post {post_id}: {outcome}",
        )
    return Check(outcome, partner.handle)
