"""What a chaos run set out to do, and what came of it: the lines it prints."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from opsbot.chaos.figures import NAMES, Figures
from opsbot.chaos.kills import AFTER_POST


@dataclass(frozen=True)
class Params:
    questions: int = 150
    answers: int = 40
    kills: int = 20
    seed: int = 1
    postgres: str | None = None
    short: bool = False
    folder: Path | None = None
    keep: bool = False
    # Seconds between two questions, on average.
    pace: float = 1.0
    # How long the play may last, and how long the last bot may take to settle.
    max_seconds: float = 900.0
    settle_seconds: float = 180.0

    @classmethod
    def short_run(cls, **overrides: object) -> Params:
        values: dict[str, object] = {
            "questions": 40,
            "answers": 10,
            "kills": 5,
            "short": True,
            "pace": 0.5,
            "max_seconds": 120.0,
            "settle_seconds": 60.0,
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


@dataclass
class Report:
    params: Params
    backend: str
    folder: Path
    figures: Figures
    questions: int
    retweets: int
    kills: int
    kills_after_post: int
    faults: Counter[str]
    x_calls: int
    seconds: float
    settled: bool
    salon_ended: bool
    bot_starts: int
    self_exits: list[int]
    violations: list[str] = field(default_factory=list)

    def shortfalls(self) -> list[str]:
        """What the run promised and did not do: then its zeros prove less."""
        wanted = self.params
        missing = []
        if self.questions < wanted.questions:
            missing.append(f"{self.questions} questions of {wanted.questions}")
        if self.figures.acknowledged < wanted.answers:
            missing.append(f"{self.figures.acknowledged} answers of {wanted.answers}")
        if self.kills < wanted.kills:
            missing.append(f"{self.kills} kills of {wanted.kills}")
        if not self.salon_ended:
            missing.append("/end_salon never took effect")
        if not self.settled:
            missing.append("the bot never went idle")
        return missing

    def ok(self) -> bool:
        return self.figures.all_zero() and not self.shortfalls()

    def lines(self) -> list[str]:
        faults = sum(self.faults.values())
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(self.faults.items()))
        out = [
            f"opsbot chaos run: seed {self.params.seed}, database {self.backend}",
            f"questions: {self.questions} (and {self.retweets} retweets)",
            f"answers: {self.figures.acknowledged}",
            f"kills: {self.kills} ({self.kills_after_post} {AFTER_POST})",
            f"X faults: {faults} of {self.x_calls} X calls ({kinds or 'none'})",
            f"seconds: {self.seconds:.0f}",
        ]
        out += [f"{name}: {self.figures.count(name)}" for name in NAMES]
        for post_id, evidence in self.figures.evidence.items():
            out.append(f"  post {post_id}:")
            out += [f"    {line}" for line in evidence]
        out.append(
            f"bot starts: {self.bot_starts}, exits on its own: {len(self.self_exits)}"
            + (f" (codes {self.self_exits})" if self.self_exits else "")
            + f", retweets carded: {self.figures.retweets_carded}"
        )
        out += [f"emulator violation: {v}" for v in self.violations]
        out += [f"short of the plan: {s}" for s in self.shortfalls()]
        out.append(f"log: {self.folder / 'bot.log'}")
        return out
