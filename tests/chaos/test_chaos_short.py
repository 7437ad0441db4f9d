"""The short chaos run on the test database: the real `opsbot run` killed with SIGKILL during
a salon while X fails now and then, and still nothing lost, nothing twice, nobody stuck."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsbot.chaos.figures import NAMES
from opsbot.chaos.report import Params
from opsbot.chaos.run import run
from tests.conftest import BACKEND, POSTGRES_URL


@pytest.mark.timeout(150)
async def test_short_chaos_run_loses_and_doubles_nothing(tmp_path: Path) -> None:
    params = Params.short_run(
        folder=tmp_path, postgres=POSTGRES_URL if BACKEND == "postgresql" else None
    )

    report = await run(params)

    told = "\n".join(report.lines())
    assert report.shortfalls() == [], told
    assert report.kills_after_post >= 2, told
    assert {name: report.figures.count(name) for name in NAMES} == dict.fromkeys(NAMES, 0), told
