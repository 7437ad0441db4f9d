"""Partner museums: who they are, which staff group and which people are theirs, and their
X tokens (sealed before they get here: this layer never sees them in the clear).

A partner's group is linked in two steps: the group asks (`request_group`), a moderator of
the host approves (`approve_group`); each step is a conditional update, so two approvals
link it once and an approval of a request withdrawn meanwhile links nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.models import Partner, Salon, StaffMember
from opsbot.db.upsert import insert_missing


async def partner_by_handle(session: AsyncSession, handle: str) -> Partner | None:
    """`handle` as `normalise_handle` gives it (no "@"); X handles are not case-sensitive."""
    return await session.scalar(select(Partner).where(Partner.handle == handle.lower()))


async def partner_of_chat(session: AsyncSession, chat_id: int) -> Partner | None:
    """The partner whose own staff group this is; None for the host's group and any other."""
    return await session.scalar(select(Partner).where(Partner.chat_id == chat_id))


async def partner_of_staff(session: AsyncSession, telegram_id: int) -> Partner | None:
    return await session.scalar(
        select(Partner)
        .join(StaffMember, StaffMember.partner_id == Partner.id)
        .where(StaffMember.telegram_id == telegram_id)
    )


async def all_partners(session: AsyncSession) -> list[Partner]:
    return list(await session.scalars(select(Partner).order_by(Partner.handle)))


async def co_host(session: AsyncSession, salon: Salon) -> Partner | None:
    """The museum co-hosting the salon; None when the museum hosts it alone."""
    return await session.get(Partner, salon.partner_id) if salon.partner_id else None


async def add(
    session: AsyncSession,
    *,
    handle: str,
    name: str,
    language: str,
    timezone: str,
    added_by: int,
    now: datetime,
) -> bool:
    """A partner museum, once per handle (the unique handle settles two adds at once)."""
    created = await insert_missing(
        session,
        Partner,
        [
            {
                "handle": handle.lower(),
                "name": name,
                "language": language,
                "timezone": timezone,
                "added_by": added_by,
                "added_at": now,
            }
        ],
        key=["handle"],
    )
    return bool(created)


async def remove(session: AsyncSession, partner_id: int) -> bool:
    """The partner goes with its tokens; its staff become nobody's, its salons host-only."""
    await session.execute(
        update(StaffMember).where(StaffMember.partner_id == partner_id).values(partner_id=None)
    )
    result = await session.execute(delete(Partner).where(Partner.id == partner_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def partner_of_request(session: AsyncSession, chat_id: int) -> Partner | None:
    """The partner whose group this is, linked or still waiting for the host's approval."""
    return await session.scalar(
        select(Partner).where(or_(Partner.chat_id == chat_id, Partner.requested_chat_id == chat_id))
    )


async def any_without_group(session: AsyncSession) -> bool:
    return (
        await session.scalar(select(Partner.id).where(Partner.chat_id.is_(None)).limit(1))
    ) is not None


async def request_group(session: AsyncSession, partner_id: int, chat_id: int) -> bool:
    """The group asks to be the partner's own; False when the partner already has a group."""
    result = await session.execute(
        update(Partner)
        .where(Partner.id == partner_id, Partner.chat_id.is_(None))
        .values(requested_chat_id=chat_id)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def approve_group(session: AsyncSession, partner_id: int, chat_id: int) -> bool:
    """The host's moderator approves the request: once, and only the group that asked."""
    result = await session.execute(
        update(Partner)
        .where(
            Partner.id == partner_id,
            Partner.requested_chat_id == chat_id,
            Partner.chat_id.is_(None),
        )
        .values(chat_id=chat_id, requested_chat_id=None)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def refuse_group(session: AsyncSession, partner_id: int, chat_id: int) -> bool:
    result = await session.execute(
        update(Partner)
        .where(Partner.id == partner_id, Partner.requested_chat_id == chat_id)
        .values(requested_chat_id=None)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def mark_staff(session: AsyncSession, telegram_id: int, partner_id: int | None) -> None:
    """The person works for this partner (None: for the host museum). A partner removed a
    moment before (a message from its group handled beside `/partner remove`) leaves the
    person the host's rather than pointing at a partner that is gone."""
    still_there = select(Partner.id).where(Partner.id == partner_id).scalar_subquery()
    await session.execute(
        update(StaffMember)
        .where(StaffMember.telegram_id == telegram_id)
        .values(partner_id=still_there if partner_id is not None else None)
    )


async def connect(
    session: AsyncSession,
    partner_id: int,
    *,
    access_token: str,
    access_secret: str,
    x_user_id: str,
    by: int,
    now: datetime,
) -> bool:
    """Store the partner's tokens, already sealed by the caller (`sealed.Sealer`)."""
    result = await session.execute(
        update(Partner)
        .where(Partner.id == partner_id)
        .values(
            access_token=access_token,
            access_secret=access_secret,
            x_user_id=x_user_id,
            connected_at=now,
            connected_by=by,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def disconnect(session: AsyncSession, partner_id: int) -> bool:
    """The tokens are deleted; False when there were none."""
    result = await session.execute(
        update(Partner)
        .where(Partner.id == partner_id, Partner.access_token.is_not(None))
        .values(access_token=None, access_secret=None, connected_at=None, connected_by=None)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def reseal_all(session: AsyncSession, reseal: Callable[[str], str]) -> int:
    """Every stored token sealed again (key rotation); how many partners had tokens."""
    count = 0
    for partner in await all_partners(session):
        if partner.access_token is None or partner.access_secret is None:
            continue
        await session.execute(
            update(Partner)
            .where(Partner.id == partner.id)
            .values(
                access_token=reseal(partner.access_token),
                access_secret=reseal(partner.access_secret),
            )
        )
        count += 1
    return count
