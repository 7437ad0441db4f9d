"""A period of the Ministry's returns, `month 2026-12` or `quarter 2026-Q4`, in local time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_QUARTER = re.compile(r"(\d{4})-[QqКк]?([1-4])")


@dataclass(frozen=True)
class Period:
    name: str
    start: datetime
    end: datetime

    def months(self) -> list[str]:
        """Its calendar months as `YYYY-MM`: how X bills, and the usage ledger counts."""
        out, moment = [], self.start
        while moment < self.end:
            out.append(moment.strftime("%Y-%m"))
            moment = _month_start(moment.year, moment.month + 1, moment.tzinfo)  # type: ignore[arg-type]
        return out


def _month_start(year: int, month: int, zone: ZoneInfo) -> datetime:
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return datetime(year, month, 1, tzinfo=zone)


def parse(kind: str, text: str, zone: ZoneInfo) -> Period | None:
    """None when `text` is not a month (2026-12) or a quarter (2026-Q4) of kind `kind`."""
    if kind == "month":
        found = _MONTH.fullmatch(text.strip())
        if not found or not 1 <= int(found[2]) <= 12:
            return None
        year, month = int(found[1]), int(found[2])
        return Period(
            f"{year}-{month:02d}",
            _month_start(year, month, zone),
            _month_start(year, month + 1, zone),
        )
    if kind == "quarter":
        found = _QUARTER.fullmatch(text.strip())
        if not found:
            return None
        year, quarter = int(found[1]), int(found[2])
        first = 3 * (quarter - 1) + 1
        return Period(
            f"{year}-Q{quarter}",
            _month_start(year, first, zone),
            _month_start(year, first + 3, zone),
        )
    return None
