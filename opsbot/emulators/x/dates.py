"""Ids and dates as X writes them: snowflake ids carry their millisecond, dates are RFC 3339.

An id is (milliseconds since X's epoch) << 22 plus a sequence, so ids sort by time and a
since_id tells how old it is; `created_at` has milliseconds and a Z.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

TWITTER_EPOCH_MS = 1_288_834_974_657
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$")


def _iso(ts: float) -> str:
    moment = datetime.fromtimestamp(ts, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse_time(value: str) -> float | None:
    if not _RFC3339.match(value):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _snowflake_ms(post_id: int) -> float:
    return ((post_id >> 22) + TWITTER_EPOCH_MS) / 1000.0
