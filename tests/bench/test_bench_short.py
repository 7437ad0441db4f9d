"""The benchmark's short plan runs end to end on the test database: the real `opsbot run`
against the emulators, every scenario played and every figure measured, and the table
printed. Its figures are not checked against the goals: that is what the full run is for."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsbot.bench.cli import report
from opsbot.bench.plan import Plan
from opsbot.bench.run import run_bench
from tests.conftest import BACKEND, POSTGRES_URL


@pytest.mark.timeout(120)
async def test_the_short_benchmark_runs_and_prints_its_table(tmp_path: Path) -> None:
    plan = Plan.short_plan(
        folder=tmp_path, postgres=POSTGRES_URL if BACKEND == "postgresql" else None
    )

    result = await run_bench(plan)

    lines = report(result)
    told = "\n".join(lines)
    assert result.failures() == [], told
    [run] = result.runs
    assert {key for key, value in run.figures.items() if value is None} == set(), told
    # Every question was read from X, and the burst all reached the group.
    assert run.figures["posts_read"] is not None and run.figures["posts_read"] >= 1.0, told
    assert run.figures["group_messages"] is not None and run.figures["group_messages"] >= 1, told
    table = [line for line in lines if line.startswith("| ")]
    assert len(table) == 2 + len(plan.measures()), told
    assert not any("emulator violation" in line for line in lines), told
