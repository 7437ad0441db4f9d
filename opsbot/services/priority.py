"""Priority senders: journalists, partner institutions, officials (/vip), and accounts with more
followers on X than the museum's threshold. Their questions are starred, go first in /queue
and are named first in the nudges.

A listed handle is stored in lower case (X handles are not case-sensitive); the follower count
is the one X sent with the question, so telling needs no extra read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.models import PrioritySender, Question
from opsbot.db.upsert import insert_missing, upsert

# X's rule for a username: letters, digits and underscores, at most 15.
_HANDLE = re.compile(r"[A-Za-z0-9_]{1,15}")
MAX_NOTE = 200


@dataclass(frozen=True)
class Priority:
    """Why a question goes first: the list's note (None when not listed), the followers."""

    note: str | None
    followers: int | None


def parse_handle(text: str) -> str | None:
    """The handle in lower case, or None when it cannot be an X username."""
    handle = text.strip().removeprefix("@")
    return handle.lower() if _HANDLE.fullmatch(handle) else None


async def add(session: AsyncSession, handle: str, note: str, by: int | None, now: datetime) -> bool:
    """List the account, or change its note; True when it was not listed before."""
    row = {"handle": handle, "note": note[:MAX_NOTE], "added_by": by, "added_at": now}
    if await insert_missing(session, PrioritySender, [row], key=["handle"]):
        return True
    await upsert(session, PrioritySender, row, key=["handle"], update=["note"])
    return False


async def remove(session: AsyncSession, handle: str) -> bool:
    """True only for the one call that removed it."""
    result = await session.execute(delete(PrioritySender).where(PrioritySender.handle == handle))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def listed(session: AsyncSession) -> list[PrioritySender]:
    return list(await session.scalars(select(PrioritySender).order_by(PrioritySender.handle)))


def is_priority(threshold: int) -> ColumnElement[bool]:
    """The questions of priority senders, as a condition for queries."""
    return or_(
        func.lower(Question.author_handle).in_(select(PrioritySender.handle)),
        Question.author_followers > threshold,
    )


async def of_questions(
    session: AsyncSession, found: list[Question], threshold: int
) -> dict[int, Priority]:
    """The priority senders' questions among `found`, by question id."""
    handles = {q.author_handle.lower() for q in found}
    if not handles:
        return {}
    rows = await session.execute(
        select(PrioritySender.handle, PrioritySender.note).where(PrioritySender.handle.in_(handles))
    )
    notes = {handle: note for handle, note in rows}
    return {
        q.id: Priority(notes.get(q.author_handle.lower()), q.author_followers)
        for q in found
        if q.author_handle.lower() in notes or (q.author_followers or 0) > threshold
    }


async def of_question(session: AsyncSession, question: Question, threshold: int) -> Priority | None:
    return (await of_questions(session, [question], threshold)).get(question.id)
