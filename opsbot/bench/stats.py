"""The statistics of the benchmark: percentiles of one run's samples, and the spread of a
figure over the runs (min, median, max).

Percentiles interpolate linearly between the closest ranks (what NumPy and Python's
`statistics.quantiles(..., method="inclusive")` do): with few samples the p95 lies between the
two largest rather than jumping to the maximum.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """The `q`-th percentile (0-100) of `values`, which must not be empty."""
    if not values:
        raise ValueError("no samples")
    if not 0 <= q <= 100:
        raise ValueError("q must be between 0 and 100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


@dataclass(frozen=True)
class Spread:
    """A figure over the runs that measured it."""

    low: float
    middle: float
    high: float
    runs: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        return cls(min(values), median(values), max(values), len(values))
