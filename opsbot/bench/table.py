"""The benchmark's table: each measure's figure over the runs (min, median, max) beside its
goal and its floor, and whether the goal is met.

A measure's goal is an upper bound ("at most"); a run that could not measure a figure (the bot
never showed the burst in the time allowed, no answer reached its preview) counts as missing
the goal. `met?` says yes when every run met it, `k of n runs` when most runs did but not all,
and no otherwise. The floor is what no bot could beat under the platforms' limits
and the plan (Telegram's group rate, the X poll interval); it says how far from the possible
a figure is, not whether it is good.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from opsbot.bench.stats import Spread

Figures = Mapping[str, float | None]


@dataclass(frozen=True)
class Measure:
    key: str
    name: str
    unit: str = ""
    goal: float | None = None
    floor: float | None = None
    digits: int = 1

    def show(self, value: float | None) -> str:
        if value is None:
            return "—"
        number = f"{value:.{self.digits}f}"
        return f"{number} {self.unit}" if self.unit else number

    def meets(self, value: float | None) -> bool:
        return self.goal is None or (value is not None and value <= self.goal + 1e-9)


@dataclass(frozen=True)
class Row:
    measure: Measure
    values: tuple[float | None, ...]

    def spread(self) -> Spread | None:
        measured = [v for v in self.values if v is not None]
        return Spread.of(measured) if measured else None

    def met(self) -> str:
        if self.measure.goal is None:
            return "—"
        runs = len(self.values)
        meeting = sum(1 for v in self.values if self.measure.meets(v))
        if runs and meeting == runs:
            return "yes"
        if meeting * 2 > runs:
            return f"{meeting} of {runs} runs"
        return "no"

    def cells(self) -> list[str]:
        spread = self.spread()
        measure = self.measure
        low, middle, high = (
            (spread.low, spread.middle, spread.high) if spread else (None, None, None)
        )
        missing = sum(1 for v in self.values if v is None)
        shown_high = measure.show(high) + (f" ({missing} run(s) unmeasured)" if missing else "")
        return [
            measure.name,
            measure.show(low),
            measure.show(middle),
            shown_high,
            "—" if measure.goal is None else f"≤ {measure.show(measure.goal)}",
            measure.show(measure.floor),
            self.met(),
        ]


HEADER = ["measure", "min", "median", "max", "goal", "floor", "met?"]


def rows(measures: Sequence[Measure], runs: Sequence[Figures]) -> list[Row]:
    return [Row(m, tuple(run.get(m.key) for run in runs)) for m in measures]


def markdown(table: Sequence[Row]) -> list[str]:
    """The table as Markdown lines, columns padded so that it reads as text too."""
    body = [HEADER, *(row.cells() for row in table)]
    widths = [max(len(line[i]) for line in body) for i in range(len(HEADER))]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "| " + " | ".join("-" * w for w in widths) + " |"
    return [line(HEADER), rule, *(line(cells) for cells in body[1:])]
