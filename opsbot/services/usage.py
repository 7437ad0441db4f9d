"""The ledger of what X returned and took, per calendar month in UTC (X bills by UTC days).

Only what X actually answered is counted: the posts in a read's `data` (an empty read costs
nothing), and each post X created. Counts are added in the database in one statement, so the
poller and the outbox never lose each other's. The posts X's own usage endpoint reports for
the month are kept beside them, replaced (not added) on each report.

Reads are also counted for the salon they were made for: the one a post made at that moment
would be filed under (live, or in the day after it ended), so a salon's report can price its
own reads; reads between salons belong to none.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.base import utcnow
from opsbot.db.models import SalonXUsage, UsageKind, XUsage
from opsbot.db.upsert import add_to, upsert
from opsbot.services import salons
from opsbot.services.budget import READS


def month_of(moment: datetime) -> str:
    """The billing month of a UTC moment, as `YYYY-MM`."""
    return moment.strftime("%Y-%m")


async def add(session: AsyncSession, month: str, kind: UsageKind, count: int) -> None:
    """Add `count` posts of `kind` to the month; nothing at all for an empty answer."""
    if count <= 0:
        return
    row = {"month": month, "kind": kind, "count": count, "updated_at": utcnow()}
    await add_to(session, XUsage, row, ["month", "kind"], "count")


async def report(session: AsyncSession, month: str, reads: int) -> None:
    """What X's usage endpoint says was read this month (the latest report replaces any older)."""
    row = {"month": month, "kind": UsageKind.REPORTED_READS, "count": reads, "updated_at": utcnow()}
    await upsert(session, XUsage, row, ["month", "kind"], ["count", "updated_at"])


async def of_month(session: AsyncSession, month: str) -> Mapping[UsageKind, int]:
    rows = await session.execute(select(XUsage.kind, XUsage.count).where(XUsage.month == month))
    return {UsageKind(kind): int(count) for kind, count in rows.all()}


async def add_for_salon(
    session: AsyncSession, moment: datetime, kind: UsageKind, count: int
) -> None:
    """Count a read made at `moment` for its salon, if it was made for one."""
    if count <= 0 or kind not in READS:
        return
    salon_id, _after = await salons.salon_for_post(session, moment)
    if salon_id is None:
        return
    row = {"salon_id": salon_id, "kind": kind, "count": count}
    await add_to(session, SalonXUsage, row, ["salon_id", "kind"], "count")


async def of_salon(session: AsyncSession, salon_id: int) -> Mapping[UsageKind, int]:
    rows = await session.execute(
        select(SalonXUsage.kind, SalonXUsage.count).where(SalonXUsage.salon_id == salon_id)
    )
    return {UsageKind(kind): int(count) for kind, count in rows.all()}
