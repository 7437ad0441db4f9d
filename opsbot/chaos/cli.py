"""`python -m opsbot.chaos`: the options, the run, the printed figures and the exit code."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path

from opsbot.chaos.database import require_loopback
from opsbot.chaos.report import Params
from opsbot.chaos.run import ChaosError, run


def parse_args(argv: Sequence[str] | None) -> Params:
    parser = argparse.ArgumentParser(
        prog="python -m opsbot.chaos",
        description="A salon against the emulators while the bot is killed and X fails; "
        "prints what was lost or doubled, and exits non-zero unless all of it is 0.",
    )
    parser.add_argument("--questions", type=int, help="audience questions (150; short 40)")
    parser.add_argument("--answers", type=int, help="answers to post (40; short 10)")
    parser.add_argument("--kills", type=int, help="kill -9 of the bot (20; short 5)")
    parser.add_argument("--seed", type=int, default=1, help="the random generator's seed (1)")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="run on a fresh database created on this PostgreSQL server (this machine only)",
    )
    parser.add_argument(
        "--short", action="store_true", help="about 40 questions, 10 answers, 5 kills"
    )
    parser.add_argument("--folder", type=Path, help="where the log and the SQLite file go")
    parser.add_argument(
        "--keep", action="store_true", help="keep the folder and the PostgreSQL database"
    )
    args = parser.parse_args(argv)
    overrides = {
        name: value
        for name in ("questions", "answers", "kills")
        if (value := getattr(args, name)) is not None
    }
    for name, value in overrides.items():
        if value < 1:
            parser.error(f"--{name} must be at least 1")
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
        **overrides,
    }
    return Params.short_run(**common) if args.short else Params(**common)  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> int:
    params = parse_args(argv)

    def progress(line: str) -> None:
        print(f"... {line}", file=sys.stderr, flush=True)

    try:
        report = asyncio.run(run(params, progress=progress))
    except (ChaosError, ValueError) as exc:
        print(f"opsbot chaos: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    for line in report.lines():
        print(line)
    with contextlib.suppress(BrokenPipeError):
        sys.stdout.flush()
    return 0 if report.ok() else 1
