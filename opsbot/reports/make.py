"""Make a salon's (or a period's) report: read the database once, ask X once, write a file.

Shared by `/report` in the staff group and `opsbot report`: both get the same figures. X is
reached only through `lookup`, so the writers stay free of X and of Telegram.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opsbot.db.models import UsageKind
from opsbot.i18n import translator
from opsbot.reports import data, sheets
from opsbot.reports.periods import Period
from opsbot.reports.summary import Formats
from opsbot.services import report, salons, usage
from opsbot.services.budget import Prices
from opsbot.services.x_facts import PostLookup

Lookup = Callable[[list[str]], Awaitable[PostLookup]]


class Format(StrEnum):
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"
    HTML = "html"
    PNG = "png"


@dataclass(frozen=True)
class Document:
    filename: str
    content: bytes


async def salon_figures(
    sessionmaker: async_sessionmaker[AsyncSession],
    salon_id: int | None,
    *,
    handle: str,
    lookup: Lookup,
    prices: Prices,
) -> report.Figures | None:
    """The figures of salon `salon_id` (the latest when None); None if there is no such salon."""
    async with sessionmaker.begin() as session:
        salon = (
            await salons.get(session, salon_id)
            if salon_id is not None
            else await salons.latest(session)
        )
        if salon is None or salon.started_at is None:
            return None
        record = await report.gather(session, salon, handle=handle)
    return report.figures(record, await lookup(record.museum_post_ids()), prices)


async def period_figures(
    sessionmaker: async_sessionmaker[AsyncSession],
    period: Period,
    *,
    handle: str,
    lookup: Lookup,
    prices: Prices,
) -> tuple[report.Figures, list[report.Figures]]:
    """The period's total and each of its salons, oldest first; X asked once for them all.

    The total's spend on X is the whole of the period's months from the usage ledger: what
    the museum paid, salons or not."""
    counts: Counter[UsageKind] = Counter()
    async with sessionmaker.begin() as session:
        records = [
            await report.gather(session, salon, handle=handle)
            for salon in await report.in_period(session, period.start, period.end)
        ]
        for month in period.months():
            counts.update(await usage.of_month(session, month))
    found = await lookup([i for r in records for i in r.museum_post_ids()])
    each = [report.figures(r, found, prices) for r in records]
    total = report.period_total(each)
    total.topic = period.name
    total.spend = report.ledger_spend(counts, prices)
    return total, each


def formats(language: str, zone: ZoneInfo) -> Formats:
    return Formats(translator(language), zone)


def salon_document(figures: report.Figures, kind: Format, fmt: Formats) -> Document:
    name = f"salon-{figures.salon_id}-report.{kind.value}"
    if kind == Format.JSON:
        return Document(name, data.salon_json(figures))
    if kind == Format.CSV:
        return Document(name, sheets.salon_csv(figures, fmt))
    if kind == Format.XLSX:
        return Document(name, sheets.salon_xlsx(figures, fmt))
    if kind == Format.PNG:
        # matplotlib takes a while to import: only when a chart is asked for.
        from opsbot.reports.chart import salon_chart

        return Document(name, salon_chart(figures, fmt))
    from opsbot.reports import page

    return Document(name, page.report_page(figures, fmt))


def period_document(
    period: Period, total: report.Figures, each: list[report.Figures], kind: Format, fmt: Formats
) -> Document:
    name = f"report-{period.name}.{kind.value}"
    if kind == Format.JSON:
        return Document(name, data.period_json(period.name, total, each))
    if kind == Format.CSV:
        return Document(name, sheets.period_csv(total, each, fmt))
    if kind == Format.XLSX:
        return Document(name, sheets.period_xlsx(total, each, fmt))
    from opsbot.reports import page

    return Document(name, page.report_page(total, fmt, period=period.name, salons=each))
