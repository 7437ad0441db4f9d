"""`python -m opsbot.bench`: the options, the runs, the printed table and the exit code.

The exit code says whether the benchmark ran, not whether the goals are met: 0 when every run
carried out its plan, 1 when the bot failed (did not start, or exited by itself), 2 when the
benchmark could not run at all.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import platform
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from opsbot.bench.plan import Plan
from opsbot.bench.run import BenchResult, run_bench
from opsbot.bench.table import markdown, rows
from opsbot.chaos.database import require_loopback


def parse_args(argv: Sequence[str] | None) -> Plan:
    parser = argparse.ArgumentParser(
        prog="python -m opsbot.bench",
        description="Run the real bot against the emulators with Telegram's and X's real "
        "limits, in real time, and print what it achieves beside the goals.",
    )
    parser.add_argument("--runs", type=int, help="how many runs (3; short 1)")
    parser.add_argument(
        "--short",
        action="store_true",
        help="tiny numbers and a tenfold faster Telegram group window: checks that it runs "
        "(for CI), its figures mean nothing",
    )
    parser.add_argument("--seed", type=int, default=1, help="the audience's random seed (1)")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="run on fresh databases created on this PostgreSQL server (this machine only)",
    )
    parser.add_argument("--folder", type=Path, help="where the logs and SQLite files go")
    parser.add_argument(
        "--keep", action="store_true", help="keep the folder and the PostgreSQL databases"
    )
    args = parser.parse_args(argv)
    if args.runs is not None and args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.postgres is not None:
        try:
            require_loopback(args.postgres)
        except ValueError as exc:
            parser.error(str(exc))
    common: dict[str, object] = {
        "seed": args.seed,
        "postgres": args.postgres,
        "folder": args.folder,
        "keep": args.keep,
    }
    if args.runs is not None:
        common["runs"] = args.runs
    return Plan.short_plan(**common) if args.short else Plan(**common)  # type: ignore[arg-type]


def report(result: BenchResult) -> list[str]:
    plan = result.plan
    backend = "PostgreSQL" if plan.postgres else "SQLite"
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"opsbot benchmark, {when}: {len(result.runs)} run(s) of {result.seconds / 60:.1f} "
        f"min in all, {backend}, Python {platform.python_version()}, {platform.machine()}",
    ]
    if plan.short:
        lines.append("SHORT RUN: tiny numbers and a faster Telegram window; figures mean nothing")
    lines += ["", *markdown(rows(plan.measures(), [run.figures for run in result.runs])), ""]
    for run in result.runs:
        # The folder of a run without failures is gone unless it was asked for.
        where = f", {run.folder}" if run.folder.exists() else ""
        lines.append(f"run {run.number} ({run.seconds:.0f}s{where}):")
        lines += [f"  {note}" for note in run.notes]
        lines += [f"  FAILED: {failure}" for failure in run.failures]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    plan = parse_args(argv)

    def progress(line: str) -> None:
        print(f"... {line}", file=sys.stderr, flush=True)

    try:
        result = asyncio.run(run_bench(plan, progress=progress))
    except ValueError as exc:
        print(f"opsbot bench: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    for line in report(result):
        print(line)
    with contextlib.suppress(BrokenPipeError):
        sys.stdout.flush()
    return 1 if result.failures() else 0
