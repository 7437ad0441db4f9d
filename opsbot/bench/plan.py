"""What a benchmark run does, and the measures it reports with their goals and floors.

The full plan uses Telegram's real limits (20 messages a minute to a group, 30 a second over
all chats), X's real 15-minute rate-limit windows and the bot's default live poll interval, in
real seconds: no time is compressed. The short plan (for CI) only checks that everything runs:
it shrinks the numbers and Telegram's group window tenfold, so its figures say nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

from opsbot.bench.table import Measure
from opsbot.telegram.digests import DIGEST_SIZE

# The goal for 600 questions is 3.5 minutes against a 3-minute floor.
BURST_GOAL_OVER_FLOOR = 3.5 / 3.0
GLOBAL_LIMIT = (30, 1.0)


@dataclass(frozen=True)
class Plan:
    runs: int = 3
    seed: int = 1
    short: bool = False
    postgres: str | None = None
    folder: Path | None = None
    keep: bool = False
    # Steady traffic: questions a minute, for how long.
    steady_per_minute: float = 15.0
    steady_seconds: float = 120.0
    # Answers given one at a time with nothing else going on: group messages per answer.
    quiet_answers: int = 3
    # The burst shown from one poll, and the burst under whose backlog curators answer.
    burst: int = 600
    backlog: int = 600
    backlog_answers: int = 10
    # Telegram's flood limit for one group, as the emulator enforces it and the bot paces.
    group_rate: int = 20
    group_period: float = 60.0
    poll_seconds: float = 3.0
    # How long a burst may take to show, one answer to reach its preview and card, the group
    # to stay still before an answer counts as settled.
    burst_timeout: float = 900.0
    answer_timeout: float = 60.0
    quiet_seconds: float = 3.0

    @classmethod
    def short_plan(cls, **overrides: object) -> Plan:
        plan = cls(
            runs=1,
            short=True,
            steady_per_minute=60.0,
            steady_seconds=4.0,
            quiet_answers=1,
            burst=30,
            backlog=30,
            backlog_answers=2,
            group_period=6.0,
            burst_timeout=60.0,
            answer_timeout=20.0,
            quiet_seconds=1.0,
        )
        return replace(plan, **overrides)  # type: ignore[arg-type]

    @property
    def steady_questions(self) -> int:
        return max(1, round(self.steady_per_minute * self.steady_seconds / 60))

    def burst_floor(self) -> float:
        """Seconds to carry a burst at ten a message and the group's rate."""
        return math.ceil(self.burst / DIGEST_SIZE) / self.group_rate * self.group_period

    def telegram_options(self) -> dict[str, object]:
        return {"group_limit": (self.group_rate, self.group_period), "global_limit": GLOBAL_LIMIT}

    def bot_settings(self) -> dict[str, str]:
        return {
            "OPSBOT_POLL_LIVE_SECONDS": f"{self.poll_seconds:g}",
            "OPSBOT_TELEGRAM_GROUP_RATE": str(self.group_rate),
            "OPSBOT_TELEGRAM_GROUP_PERIOD": f"{self.group_period:g}",
            "OPSBOT_TELEGRAM_GLOBAL_RATE": str(GLOBAL_LIMIT[0]),
            "OPSBOT_TELEGRAM_GLOBAL_PERIOD": f"{GLOBAL_LIMIT[1]:g}",
            "OPSBOT_LOG_LEVEL": "INFO",
        }

    def measures(self) -> list[Measure]:
        floor = self.burst_floor()
        rate = f"{self.steady_per_minute:g} a minute"
        return [
            Measure(
                "burst_visible",
                f"{self.burst} questions in one poll → all visible in the group",
                "s",
                goal=floor * BURST_GOAL_OVER_FLOOR,
                floor=floor,
                digits=0,
            ),
            Measure("telegram_429", "Telegram 429s (the whole run)", goal=0, floor=0, digits=0),
            Measure(
                "out_of_order",
                "burst questions shown before an older one",
                goal=0,
                floor=0,
                digits=0,
            ),
            Measure(
                "preview_p50",
                f"Answer → preview p50, under a {self.backlog}-question burst",
                "s",
                floor=0,
            ),
            Measure(
                "preview_p95",
                f"Answer → preview p95, under a {self.backlog}-question burst",
                "s",
                goal=2.0,
                floor=0,
            ),
            Measure("group_messages", "group messages per answer", goal=1.2, floor=1.0),
            Measure("posts_read", "X posts read per question", goal=1.05, floor=1.0, digits=2),
            Measure(
                "card_p50",
                f"post on X → card p50, {rate}",
                "s",
                floor=self.poll_seconds / 2,
            ),
            Measure(
                "card_p95",
                f"post on X → card p95, {rate}",
                "s",
                goal=5.0,
                floor=self.poll_seconds * 0.95,
            ),
        ]
