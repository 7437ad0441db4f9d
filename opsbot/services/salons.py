"""Salons: start, end, the ten-minute warning, its posts on X, and what its questions add up to.

At most one salon is live (a unique partial index), and each step that must happen once
(warning, end) is a conditional UPDATE, so a restart or a doubled timer cannot repeat it. Its
posts (the announcement, the /ask prompts) go to X through the outbox, once each.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.models import DeliveryKind, Question, QuestionStatus, Salon, SalonStatus
from opsbot.services import lottery, outbox

MAX_DURATION = timedelta(hours=4)
MIN_DURATION = timedelta(minutes=15)
END_WARNING = timedelta(minutes=10)
# Posts that arrive this long after a salon still belong to it, marked "after the salon".
AFTERGLOW = timedelta(hours=24)


class StartRefusal(StrEnum):
    ALREADY_LIVE = "already_live"


@dataclass(frozen=True)
class Started:
    salon: Salon | None
    refusal: StartRefusal | None = None
    live: Salon | None = None


async def live_salon(session: AsyncSession) -> Salon | None:
    return await session.scalar(
        select(Salon)
        .where(Salon.status == SalonStatus.LIVE)
        .execution_options(populate_existing=True)
    )


async def get(session: AsyncSession, salon_id: int) -> Salon | None:
    return await session.scalar(
        select(Salon).where(Salon.id == salon_id).execution_options(populate_existing=True)
    )


async def latest(session: AsyncSession) -> Salon | None:
    """The live salon, else the one that ended last."""
    return await session.scalar(
        select(Salon)
        .where(Salon.status.in_([SalonStatus.LIVE, SalonStatus.ENDED]))
        .order_by(Salon.started_at.desc())
        .limit(1)
    )


async def start(
    session: AsyncSession,
    *,
    topic: str,
    duration: timedelta,
    by: int | None,
    now: datetime,
    salon_id: int | None = None,
    partner_id: int | None = None,
) -> Started:
    """Open a salon (a new one, or a planned one by id) with a fresh lottery secret.

    `partner_id` co-hosts it; a planned salon keeps the co-host it was planned with.
    """
    current = await live_salon(session)
    if current is not None:
        return Started(None, StartRefusal.ALREADY_LIVE, current)
    secret = lottery.new_secret()
    values = {
        "topic": topic,
        "status": SalonStatus.LIVE,
        "started_at": now,
        "planned_end_at": now + duration,
        "started_by": by,
        "secret": secret.hex(),
        "commitment": lottery.commitment(secret),
    }
    if partner_id is not None:
        values["partner_id"] = partner_id
    try:
        async with session.begin_nested():
            if salon_id is None:
                salon = Salon(**values)
                session.add(salon)
                await session.flush()
            else:
                result = await session.execute(
                    update(Salon)
                    .where(Salon.id == salon_id, Salon.status == SalonStatus.PLANNED)
                    .values(**values)
                )
                if not result.rowcount:  # type: ignore[attr-defined]
                    return Started(None, StartRefusal.ALREADY_LIVE, await live_salon(session))
                found = await get(session, salon_id)
                assert found is not None
                salon = found
    except IntegrityError:
        return Started(None, StartRefusal.ALREADY_LIVE, await live_salon(session))
    return Started(salon)


async def set_thread(session: AsyncSession, salon_id: int, thread_id: int | None) -> None:
    await session.execute(update(Salon).where(Salon.id == salon_id).values(thread_id=thread_id))


async def set_partner_thread(session: AsyncSession, salon_id: int, thread_id: int | None) -> None:
    await session.execute(
        update(Salon).where(Salon.id == salon_id).values(partner_thread_id=thread_id)
    )


async def end(session: AsyncSession, salon_id: int, now: datetime) -> bool:
    """Close the salon; True only for the one call that closed it."""
    result = await session.execute(
        update(Salon)
        .where(Salon.id == salon_id, Salon.status == SalonStatus.LIVE)
        .values(status=SalonStatus.ENDED, ended_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def claim_end_warning(session: AsyncSession, salon_id: int) -> bool:
    result = await session.execute(
        update(Salon)
        .where(
            Salon.id == salon_id,
            Salon.status == SalonStatus.LIVE,
            Salon.end_warning_sent.is_(False),
        )
        .values(end_warning_sent=True)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def announcement_key(salon_id: int) -> str:
    return f"announcement:{salon_id}"


async def announce(
    session: AsyncSession, salon_id: int, text: str, *, now: datetime, origin: outbox.Origin
) -> outbox.Queued:
    """The salon's announcement into the outbox, once (again only after it failed)."""
    return await outbox.enqueue(
        session,
        key=announcement_key(salon_id),
        kind=DeliveryKind.ANNOUNCEMENT,
        payload=text,
        now=now,
        origin=origin,
        salon_id=salon_id,
    )


async def skip_announcement(
    session: AsyncSession, salon_id: int, *, now: datetime, origin: outbox.Origin
) -> bool:
    """The moderator does not want it: False if it is already under way or out."""
    return await outbox.withdraw(
        session,
        key=announcement_key(salon_id),
        kind=DeliveryKind.ANNOUNCEMENT,
        now=now,
        origin=origin,
    )


def _prompt_key(salon_id: int, prompt: str) -> str:
    # The same question asked twice in a salon (a doubled /ask) is asked once.
    normalised = " ".join(unicodedata.normalize("NFC", prompt).casefold().split())
    return f"prompt:{salon_id}:{hashlib.sha256(normalised.encode()).hexdigest()[:32]}"


async def ask(
    session: AsyncSession,
    salon_id: int,
    prompt: str,
    hashtag: str,
    *,
    now: datetime,
    origin: outbox.Origin,
    partner_id: int | None = None,
) -> outbox.Queued:
    """`Qn: PROMPT #hashtag` into the outbox, numbered in the database, once per prompt.

    The salon's row is locked first, so two /ask at once get two numbers in order, and the
    same prompt twice gets one number and one post. With `partner_id` it goes out from the
    partner museum's account.
    """
    await session.execute(select(Salon.id).where(Salon.id == salon_id).with_for_update())
    key = _prompt_key(salon_id, prompt)
    existing = await outbox.by_key(session, key)
    number = existing.number if existing is not None else None
    if number is None:
        number = await next_prompt_number(session, salon_id)
    return await outbox.enqueue(
        session,
        key=key,
        kind=DeliveryKind.PROMPT,
        payload=prompt_text(number, prompt, hashtag),
        now=now,
        origin=origin,
        salon_id=salon_id,
        number=number,
        partner_id=partner_id,
    )


def prompt_text(number: int, prompt: str, hashtag: str) -> str:
    return f"Q{number}: {prompt} {hashtag}"


async def next_prompt_number(session: AsyncSession, salon_id: int) -> int:
    """The next `Qn` of the salon, counted in the database so two /ask get two numbers."""
    await session.execute(
        update(Salon).where(Salon.id == salon_id).values(prompts_asked=Salon.prompts_asked + 1)
    )
    number = await session.scalar(select(Salon.prompts_asked).where(Salon.id == salon_id))
    return int(number or 0)


async def salon_for_post(session: AsyncSession, posted_at: datetime) -> tuple[int | None, bool]:
    """The salon a post belongs to, and whether it came after that salon ended."""
    salon = await session.scalar(
        select(Salon)
        .where(
            Salon.status.in_([SalonStatus.LIVE, SalonStatus.ENDED]),
            Salon.started_at <= posted_at,
        )
        .order_by(Salon.started_at.desc())
        .limit(1)
    )
    if salon is None:
        return None, False
    if salon.ended_at is None or posted_at <= salon.ended_at:
        return salon.id, False
    if posted_at - salon.ended_at <= AFTERGLOW:
        return salon.id, True
    return None, False


async def number_question(session: AsyncSession, question_id: int, salon_id: int) -> int:
    """Give the question its sequence number in the salon (called by the single card sender)."""
    current = await session.scalar(select(Question.salon_seq).where(Question.id == question_id))
    if current is not None:
        return int(current)
    highest = await session.scalar(
        select(func.max(Question.salon_seq)).where(Question.salon_id == salon_id)
    )
    seq = int(highest or 0) + 1
    await session.execute(update(Question).where(Question.id == question_id).values(salon_seq=seq))
    return seq


@dataclass
class Summary:
    questions: int = 0
    answered: int = 0
    hidden: int = 0
    open: list[Question] = field(default_factory=list)
    participants: int = 0


async def summary(session: AsyncSession, salon_id: int) -> Summary:
    found = list(
        await session.scalars(
            select(Question)
            .where(Question.salon_id == salon_id, Question.after_salon.is_(False))
            .order_by(Question.id)
        )
    )
    result = Summary(questions=len(found))
    result.answered = sum(q.status == QuestionStatus.ANSWERED for q in found)
    result.hidden = sum(q.status == QuestionStatus.HIDDEN for q in found)
    result.open = [q for q in found if q.status in (QuestionStatus.OPEN, QuestionStatus.TAKEN)]
    result.participants = len({q.author_id for q in found if q.status != QuestionStatus.HIDDEN})
    return result


async def record_followers(
    session: AsyncSession, salon_id: int, count: int, *, at_start: bool, partner: bool = False
) -> bool:
    """Keep the museum's (or, with `partner`, the co-host's) follower count at the salon's
    start or end: the first reading only."""
    if partner:
        column = Salon.partner_followers_at_start if at_start else Salon.partner_followers_at_end
    else:
        column = Salon.followers_at_start if at_start else Salon.followers_at_end
    result = await session.execute(
        update(Salon).where(Salon.id == salon_id, column.is_(None)).values({column: count})
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


ARCHIVE_LANGUAGES = ("ru", "en", "both")


async def set_archive_language(session: AsyncSession, salon_id: int, language: str) -> bool:
    """The language of the salon's public page; False if there is no such salon."""
    if language not in ARCHIVE_LANGUAGES:
        raise ValueError(language)
    result = await session.execute(
        update(Salon).where(Salon.id == salon_id).values(archive_language=language)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
