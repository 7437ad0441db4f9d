"""The month's X spending against the museum's budget: pure arithmetic, no X, no Telegram.

The estimate prices the ledger's counts (`opsbot.services.usage`) with the current prices.
Where X's own usage report says more posts were read this month than the bot counted (another
app of the same project, or reads the bot could not see), the difference is priced as search
reads, the dearest kind of post read: the estimate may run high, never low.

As the budget runs down the idle polling slows; live polling never does, and nothing here
ever holds back a curator's answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from opsbot.db.models import UsageKind

# The moderators are warned once a month when the spend crosses this share of the budget.
WARN_AT = 0.8
# Idle polling starts to slow at this share, and slows down to this factor when it is spent.
SLOW_FROM = 0.5
SLOW_NEAR_END = 4.0
SLOW_WHEN_SPENT = 12.0

READS = (UsageKind.OWNED_READ, UsageKind.POST_READ, UsageKind.USER_READ)
POSTS = (UsageKind.POST, UsageKind.REPLY, UsageKind.LINK_POST)


@dataclass(frozen=True)
class Prices:
    """US dollars per post read or created, by what X bills separately."""

    owned_read: float
    post_read: float
    user_read: float
    post: float
    reply: float
    link_post: float

    def of(self, kind: UsageKind) -> float:
        return {
            UsageKind.OWNED_READ: self.owned_read,
            UsageKind.POST_READ: self.post_read,
            UsageKind.USER_READ: self.user_read,
            UsageKind.POST: self.post,
            UsageKind.REPLY: self.reply,
            UsageKind.LINK_POST: self.link_post,
        }.get(kind, 0.0)


@dataclass(frozen=True)
class Spend:
    """One month's usage, its estimated cost and where it stands against the budget."""

    counts: Mapping[UsageKind, int]
    usd: float
    budget: float | None
    # Posts X reported read beyond what the bot counted, priced as search reads.
    unaccounted_reads: int = 0

    @property
    def reads(self) -> int:
        return sum(self.counts.get(kind, 0) for kind in READS)

    @property
    def posts(self) -> int:
        return sum(self.counts.get(kind, 0) for kind in POSTS)

    @property
    def reported_reads(self) -> int | None:
        return self.counts.get(UsageKind.REPORTED_READS)

    @property
    def fraction(self) -> float | None:
        """The share of the budget spent (1.0 and more: spent); None without a budget."""
        if self.budget is None:
            return None
        if self.budget <= 0:
            return 1.0
        return self.usd / self.budget

    @property
    def remaining(self) -> float | None:
        return None if self.budget is None else max(self.budget - self.usd, 0.0)

    @property
    def exhausted(self) -> bool:
        return self.fraction is not None and self.fraction >= 1.0

    @property
    def needs_warning(self) -> bool:
        return self.fraction is not None and self.fraction >= WARN_AT


def estimate(counts: Mapping[UsageKind, int], prices: Prices, budget: float | None) -> Spend:
    usd = sum(prices.of(kind) * count for kind, count in counts.items())
    counted = sum(counts.get(kind, 0) for kind in READS)
    unaccounted = max(counts.get(UsageKind.REPORTED_READS, 0) - counted, 0)
    usd += unaccounted * prices.post_read
    return Spend(counts=dict(counts), usd=usd, budget=budget, unaccounted_reads=unaccounted)


def idle_slowdown(fraction: float | None) -> float:
    """How many times longer the idle interval gets at this share of the budget spent.

    Empty polls are free and each post is read once however often the bot asks, so polling
    less often saves little while idle; it keeps the bot from adding to a spent budget with
    re-reads and retries between salons. A live salon reads at its own pace regardless.
    """
    if fraction is None or fraction < SLOW_FROM:
        return 1.0
    if fraction >= 1.0:
        return SLOW_WHEN_SPENT
    return 1.0 + (SLOW_NEAR_END - 1.0) * (fraction - SLOW_FROM) / (1.0 - SLOW_FROM)
