"""`opsbot report` and `opsbot archive`: the salon's figures and the public archive as files.

Both read the bot's database and ask X once (the same settings as `opsbot run`), so they give
what `/report` and `/archive` give in the staff group. Exit status: 0 done, 2 bad input (one
line on stderr), and the settings' own exit codes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opsbot.db.engine import create_engine, create_sessionmaker
from opsbot.i18n import SUPPORTED_LANGUAGES
from opsbot.reports import archive, periods
from opsbot.reports.make import (
    Format,
    Lookup,
    formats,
    period_document,
    period_figures,
    salon_document,
    salon_figures,
)
from opsbot.services.x_facts import PostLookup
from opsbot.settings import Settings
from opsbot.x import facts
from opsbot.x.gateway import XGateway, gateway_from_settings
from opsbot.x.ledger import UsageLedger

PERIOD_FORMATS = (Format.JSON, Format.CSV, Format.XLSX, Format.HTML)


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--salon", type=int, metavar="N", help="the salon (default: the last)")
    which.add_argument("--month", metavar="YYYY-MM", help="every salon of a month, summed")
    which.add_argument("--quarter", metavar="YYYY-QN", help="every salon of a quarter, summed")
    parser.add_argument("--format", choices=[f.value for f in Format], default=Format.XLSX.value)
    parser.add_argument("--out", type=Path, required=True, metavar="FILE")
    parser.add_argument(
        "--language", choices=SUPPORTED_LANGUAGES, help="default: the bot's default language"
    )


def add_archive_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, metavar="DIR")


def _gateway(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> XGateway:
    """X, with what it bills counted in the bot's usage ledger like the bot's own reads."""
    gateway = gateway_from_settings(settings)
    gateway.on_usage = UsageLedger(sessionmaker)
    return gateway


def _lookup(gateway: XGateway) -> Lookup:
    async def lookup(ids: list[str]) -> PostLookup:
        return await facts.lookup_posts(gateway, ids)

    return lookup


def _fail(message: str) -> int:
    print(f"opsbot: {message}", file=sys.stderr)
    return 2


async def report(settings: Settings, args: argparse.Namespace) -> int:
    kind = Format(args.format)
    fmt = formats(args.language or settings.default_language, settings.zone)
    period = None
    if args.month or args.quarter:
        period = periods.parse(
            "month" if args.month else "quarter", args.month or args.quarter, settings.zone
        )
        if period is None:
            return _fail("a month is written 2026-12, a quarter 2026-Q4")
        if kind == Format.PNG:
            return _fail("the chart is made for one salon: use --salon")
    engine = create_engine(settings.database_url)
    sessionmaker = create_sessionmaker(engine)
    gateway = _gateway(settings, sessionmaker)
    try:
        if period is not None:
            total, each = await period_figures(
                sessionmaker,
                period,
                handle=settings.x_account,
                lookup=_lookup(gateway),
                prices=settings.x_prices,
            )
            if not each:
                return _fail(f"no salon took place in {period.name}")
            document = period_document(period, total, each, kind, fmt)
        else:
            figures = await salon_figures(
                sessionmaker,
                args.salon,
                handle=settings.x_account,
                lookup=_lookup(gateway),
                prices=settings.x_prices,
            )
            if figures is None:
                return _fail("there is no such salon")
            document = salon_document(figures, kind, fmt)
    finally:
        await gateway.close()
        await engine.dispose()
    args.out.write_bytes(document.content)
    print(f"{args.out}: {len(document.content)} bytes")
    return 0


async def build_archive(settings: Settings, args: argparse.Namespace) -> int:
    engine = create_engine(settings.database_url)
    sessionmaker = create_sessionmaker(engine)
    gateway = _gateway(settings, sessionmaker)
    try:
        site = await archive.build_site(
            sessionmaker,
            settings=archive.ArchiveSettings(
                handle=settings.x_account,
                default_language=settings.default_language,
                zone=settings.zone,
            ),
            lookup=_lookup(gateway),
        )
    finally:
        await gateway.close()
        await engine.dispose()
    site.write(args.out)
    print(
        f"{args.out}: {len(site.files) - 1} salon pages and index.html; left out: "
        f"{site.hidden} hidden as spam, {site.withdrawn} deleted or protected on X"
    )
    if not site.checked:
        print("X could not be asked which posts were taken back: build again later")
        return 1
    return 0
