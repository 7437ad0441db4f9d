"""Post usage as X bills it, and `GET /2/usage/tweets` (getUsage) that reports it.

X bills the posts a read returns: those in the answer's `data`, each counted once per UTC day
however often it is read again that day; an empty answer costs nothing. Usage is per project
(the one app here), reported per UTC day for up to 90 days, the billing cycle restarting on
`cap_reset_day` of each month. The endpoint takes only the app's bearer token.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from opsbot.emulators.x.auth import _Identity
from opsbot.emulators.x.params import _parse_params
from opsbot.emulators.x.problems import APP_CLIENT_ID
from opsbot.emulators.x.world import World

# The reads X bills per post returned.
BILLED_READS = frozenset(
    {"getUsersMentions", "getUsersPosts", "searchPostsRecent", "getPostsById", "getPostsByIds"}
)
PROJECT_ID = "1800000000000000001"
# Pay-per-use projects are capped at 2 million post reads a month (docs.x.com, Usage).
PROJECT_CAP = 2_000_000
DEFAULT_FIELDS = ("cap_reset_day", "project_cap", "project_id", "project_usage")


def _day(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d")


class Usage(World):
    """The posts billed per UTC day; `XEmulator.__init__` sets the attributes."""

    cap_reset_day: int
    _billed: dict[str, set[str]]  # YYYY-MM-DD -> ids of the posts billed that day

    def _bill(self, op: str, status: int, body: dict[str, Any]) -> None:
        if op not in BILLED_READS or status != 200:
            return
        data = body.get("data")
        posts = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
        if posts:
            self._billed.setdefault(_day(self.clock()), set()).update(
                str(post["id"]) for post in posts
            )

    def billed_reads(self, day: str | None = None) -> int:
        """Posts billed on a UTC day (`YYYY-MM-DD`, today when None)."""
        return len(self._billed.get(day or _day(self.clock()), set()))

    def _cycle_start(self, now: datetime) -> datetime:
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        if now.day >= self.cap_reset_day:
            return start.replace(day=self.cap_reset_day)
        previous = start.replace(day=1) - timedelta(days=1)
        return previous.replace(day=min(self.cap_reset_day, previous.day))

    async def _get_usage(self, request: web.Request, identity: _Identity) -> tuple[int, Any]:
        params = _parse_params("getUsage", request.query)
        fields = params.usage_fields or frozenset(DEFAULT_FIELDS)
        now = datetime.fromtimestamp(self.clock(), UTC)
        cycle = self._cycle_start(now).strftime("%Y-%m-%d")
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        days = [today - timedelta(days=n) for n in range(params.days - 1, -1, -1)]
        daily = [
            {
                "date": day.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "usage": str(len(self._billed.get(day.strftime("%Y-%m-%d"), set()))),
            }
            for day in days
        ]
        used = sum(len(ids) for day, ids in self._billed.items() if day >= cycle)
        data: dict[str, Any] = {
            "cap_reset_day": self.cap_reset_day,
            "project_cap": str(PROJECT_CAP),
            "project_id": PROJECT_ID,
            "project_usage": str(used),
            "daily_project_usage": {"project_id": PROJECT_ID, "usage": daily},
            "daily_client_app_usage": [
                {"client_app_id": APP_CLIENT_ID, "usage": daily, "usage_result_count": len(daily)}
            ],
        }
        return 200, {"data": {name: data[name] for name in sorted(fields)}}
