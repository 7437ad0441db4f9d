"""`opsbot verify-draw`: redo a salon's ticket draw from its published export.

Needs no settings, tokens or database, so anyone who downloaded the export can run it.
Exit status: 0 every check passed, 1 a check failed, 2 the input could not be used.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from opsbot.services.lottery import Export, VerifyReport, canonical_entrants, load_export, verify

PROG = "opsbot verify-draw"
_DIGEST = re.compile(r"[0-9a-fA-F]{64}")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")


class InputError(Exception):
    """Input that cannot be verified at all: exit 2 with one line, never a traceback."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options, also for a subcommand parser in opsbot.cli."""
    parser.add_argument("file", metavar="FILE", help="the draw export, JSON or CSV ('-': stdin)")
    parser.add_argument("--secret", metavar="HEX", help="the revealed secret (default: the JSON's)")
    parser.add_argument(
        "--commitment", metavar="HEX", help="published at salon start (default: the JSON's)"
    )
    parser.add_argument(
        "--entrant-hash", metavar="HEX", help="published at salon end (default: the JSON's)"
    )
    parser.add_argument(
        "--winners", metavar="N", type=int, help="how many were drawn (default: as published)"
    )
    parser.add_argument(
        "--expect", metavar="ID,ID,...", help="the winners to check (default: the JSON's)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Check a salon's ticket draw from its published export."
    )
    add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse has already printed
        return exc.code if isinstance(exc.code, int) else 2
    return run(args)


def run(args: argparse.Namespace) -> int:
    try:
        export = _read(args.file)
        report, handles = _verify(export, args)
    except InputError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    _print(report, handles)
    return 0 if report.ok else 1


def _read(file: str) -> Export:
    try:
        data = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {file}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"cannot read {file}: not UTF-8 text") from None
    try:
        return load_export(text)
    except ValueError as exc:
        raise InputError(f"cannot read {file}: {_one_line(exc)}") from None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _hex_option(
    value: str | None, published: str | None, *, what: str, option: str, pattern: re.Pattern[str]
) -> str:
    """The command line's value over the file's; a missing one is an input error."""
    if value is None:
        if published is None:
            raise InputError(f"the file has no {what}: give {option} HEX")
        return published
    if not pattern.fullmatch(value.strip()):
        raise InputError(f"{option} is not hexadecimal of the right length")
    return value.strip().lower()


def _verify(export: Export, args: argparse.Namespace) -> tuple[VerifyReport, dict[str, str]]:
    secret = _hex_option(
        args.secret, export["secret"], what="secret", option="--secret", pattern=_HEX
    )
    commitment = _hex_option(
        args.commitment,
        export["commitment"],
        what="commitment (published at salon start)",
        option="--commitment",
        pattern=_DIGEST,
    )
    entrant_hash = _hex_option(
        args.entrant_hash,
        export["entrant_hash"],
        what="entrant hash (published at salon end)",
        option="--entrant-hash",
        pattern=_DIGEST,
    )
    if args.winners is not None and args.winners < 1:
        raise InputError("--winners must be at least 1")
    winners = export["winners"]
    if args.expect is not None:
        try:
            winners = [user_id for user_id in args.expect.replace(" ", "").split(",") if user_id]
            canonical_entrants(winners)
        except ValueError as exc:
            raise InputError(f"--expect: {exc}") from None
    if winners is None and args.winners is None:
        raise InputError("the file names no winners: give --winners N or --expect ID,ID,...")
    report = verify(
        secret,
        commitment,
        export["entrants"],
        entrant_hash,
        winners,
        export["reserve"],
        winner_count=args.winners,
    )
    return report, export["handles"]


def _print(report: VerifyReport, handles: dict[str, str]) -> None:
    for check in report.checks:
        print(f"[{'ok  ' if check.ok else 'FAIL'}] {check.name}: {check.explanation}")
    if report.ranking is not None:

        def who(user_id: str) -> str:
            handle = handles.get(user_id)
            return f"{user_id} @{handle}" if handle else user_id

        print(f"winners (recomputed, {len(report.winners)} of {len(report.ranking)} entrants):")
        for place, user_id in enumerate(report.winners, 1):
            print(f"  {place}. {who(user_id)}")
        print(f"reserve (in order, {len(report.reserve)}):")
        for place, user_id in enumerate(report.reserve, len(report.winners) + 1):
            print(f"  {place}. {who(user_id)}")
    failed = sum(not check.ok for check in report.checks)
    if failed:
        print(f"FAILED: {failed} of {len(report.checks)} checks")
    else:
        print(f"all {len(report.checks)} checks passed")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
