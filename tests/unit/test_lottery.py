"""The ticket draw: known answers, edge cases, tamper detection, exports, the CLI, fairness.

Expected values are computed here with hashlib and hmac directly, never by the module, so a
mistake in the module cannot agree with itself.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from opsbot import verify as verify_cli
from opsbot.services import lottery
from opsbot.services.lottery import (
    canonical_entrants,
    commitment,
    draw,
    entrant_list_hash,
    export_csv,
    export_json,
    load_export,
    new_secret,
    rank,
    verify,
)

REPO = Path(__file__).resolve().parents[2]
SECRET = bytes(range(32))
IDS = ["1500000000000000001", "42", "783214", "9", "1234567890123", "42", "100"]
SALON = {
    "number": 7,
    "topic": "Импрессионисты",
    "started_at": datetime(2025, 3, 1, 18, 0, tzinfo=UTC),
    "ended_at": datetime(2025, 3, 1, 19, 0, tzinfo=UTC),
}
HANDLES = {"42": "@answer", "9": "nine", "100": "hundred"}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def ticket(secret: bytes, user_id: str) -> str:
    return hmac.new(secret, user_id.encode("ascii"), hashlib.sha256).hexdigest()


def expected_ranking(secret: bytes, ids: list[str]) -> list[str]:
    distinct = sorted(set(ids), key=int)
    return sorted(distinct, key=lambda i: (int(ticket(secret, i), 16), int(i)))


# --- primitives ----------------------------------------------------------------------------


def test_new_secret_is_32_fresh_bytes() -> None:
    first, second = new_secret(), new_secret()
    assert isinstance(first, bytes) and len(first) == 32
    assert first != second


def test_commitment_known_answer() -> None:
    assert commitment(SECRET) == sha256(SECRET)
    assert commitment(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_entrant_hash_sorts_numerically_and_collapses_duplicates() -> None:
    ids = ["10", "2", "1", "2", "9"]
    assert canonical_entrants(ids) == ["1", "2", "9", "10"]
    assert entrant_list_hash(ids) == sha256(b"1\n2\n9\n10")  # lexicographic would be 1,10,2,9
    assert entrant_list_hash(IDS) == sha256("\n".join(sorted(set(IDS), key=int)).encode())


def test_empty_entrant_list_hashes_the_empty_string() -> None:
    assert canonical_entrants([]) == []
    assert entrant_list_hash([]) == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


@pytest.mark.parametrize(
    "bad", ["", "12a", "-1", "+1", " 1", "1 ", "1.0", "1e3", "٣", "01", "0x1f", "1\n"]
)
def test_ids_that_are_not_plain_decimal_are_rejected(bad: str) -> None:
    with pytest.raises(ValueError, match="not an X user id"):
        canonical_entrants(["1", bad])
    with pytest.raises(ValueError):
        draw(SECRET, [bad], 1)


def test_a_single_string_is_not_taken_for_a_list_of_digits() -> None:
    with pytest.raises(TypeError):
        canonical_entrants("123")


def test_rank_known_answer_and_determinism() -> None:
    assert rank(SECRET, IDS) == expected_ranking(SECRET, IDS)
    assert rank(SECRET, IDS) == rank(SECRET, list(reversed(IDS)))
    assert draw(SECRET, IDS, 2) == draw(SECRET, reversed(IDS), 2)


def test_rank_is_a_permutation_of_the_distinct_entrants() -> None:
    ids = [str(n) for n in range(1000, 1100)] * 2
    ranking = rank(new_secret(), ids)
    assert sorted(ranking, key=int) == canonical_entrants(ids)
    assert len(ranking) == 100
    # Another secret, another order (equal by chance with probability 1/100!).
    assert rank(new_secret(), ids) != ranking


# --- draw ----------------------------------------------------------------------------------


def test_draw_result() -> None:
    result = draw(SECRET, IDS, 2)
    ranking = expected_ranking(SECRET, IDS)
    assert result.entrants == sorted(set(IDS), key=int)
    assert result.entrant_hash == sha256("\n".join(result.entrants).encode())
    assert result.commitment == sha256(SECRET)
    assert result.secret_hex == SECRET.hex()
    assert result.winners == ranking[:2]
    assert result.reserve == ranking[2:]


def test_draw_without_entrants_has_no_winners() -> None:
    result = draw(SECRET, [], 3)
    assert result.entrants == result.winners == result.reserve == []
    assert result.entrant_hash == sha256(b"")


def test_fewer_entrants_than_winners_all_win() -> None:
    result = draw(SECRET, ["5", "3"], 10)
    assert sorted(result.winners) == ["3", "5"]
    assert result.reserve == []


def test_duplicate_ids_collapse_to_one_entry() -> None:
    result = draw(SECRET, ["7", "7", "7", "8"], 2)
    assert result.entrants == ["7", "8"]
    assert sorted(result.winners) == ["7", "8"]


@pytest.mark.parametrize("winners", [0, -1])
def test_a_draw_has_at_least_one_winner(winners: int) -> None:
    with pytest.raises(ValueError):
        draw(SECRET, IDS, winners)


def test_a_guessable_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="secret"):
        draw(b"short", IDS, 1)


# --- verify --------------------------------------------------------------------------------


def _verify(result: lottery.DrawResult, **changes: object) -> lottery.VerifyReport:
    result = replace(result, **changes)  # type: ignore[arg-type]
    return verify(
        result.secret_hex,
        result.commitment,
        result.entrants,
        result.entrant_hash,
        result.winners,
        result.reserve,
    )


def _failed(report: lottery.VerifyReport) -> list[str]:
    return [check.name for check in report.checks if not check.ok]


def test_verify_accepts_an_honest_draw() -> None:
    result = draw(new_secret(), IDS, 3)
    report = _verify(result)
    assert report.ok
    assert [check.name for check in report.checks] == [
        "commitment",
        "entrant list",
        "winners",
        "reserve",
    ]
    assert report.winners == result.winners and report.reserve == result.reserve


def test_verify_detects_a_tampered_secret() -> None:
    result = draw(SECRET, IDS, 2)
    report = _verify(result, secret_hex=new_secret().hex())
    assert not report.ok
    assert "commitment" in _failed(report)
    explanation = report.checks[0].explanation
    assert "not the committed secret" in explanation


def test_verify_refuses_a_guessable_secret_even_if_committed() -> None:
    result = draw(SECRET, IDS, 2)
    short = b"1234"
    report = _verify(result, secret_hex=short.hex(), commitment=sha256(short))
    assert "commitment" in _failed(report)
    assert "guessable" in report.checks[0].explanation


def test_verify_detects_a_secret_that_is_not_hex() -> None:
    report = _verify(draw(SECRET, IDS, 2), secret_hex="not hex")
    assert _failed(report) == ["commitment", "winners", "reserve"]
    assert report.ranking is None


@pytest.mark.parametrize(
    "entrants",
    [
        pytest.param(["1", "9", "42", "100"], id="someone-removed"),
        pytest.param(canonical_entrants([*IDS, "666"]), id="someone-added"),
        pytest.param(["1", "x"], id="garbage"),
    ],
)
def test_verify_detects_a_tampered_entrant_list(entrants: list[str]) -> None:
    report = _verify(draw(SECRET, IDS, 2), entrants=entrants)
    assert not report.ok
    assert "entrant list" in _failed(report)


def test_verify_detects_a_wrong_winner() -> None:
    result = draw(SECRET, IDS, 2)
    impostor = result.reserve[0]
    report = _verify(result, winners=[result.winners[0], impostor])
    assert _failed(report) == ["winners"]
    winners_check = report.checks[2]
    assert impostor in winners_check.explanation
    assert result.winners[1] in winners_check.explanation
    # The recomputation still shows the true winners.
    assert report.winners == result.winners


def test_verify_detects_a_reordered_reserve() -> None:
    result = draw(SECRET, IDS, 2)
    report = _verify(result, reserve=list(reversed(result.reserve)))
    assert _failed(report) == ["reserve"]


def test_verify_winners_in_any_order_and_reserve_optional() -> None:
    result = draw(SECRET, IDS, 3)
    report = verify(
        result.secret_hex.upper(),
        result.commitment.upper(),
        list(reversed(result.entrants)),
        f" {result.entrant_hash} ",
        list(reversed(result.winners)),
    )
    assert report.ok
    assert [check.name for check in report.checks] == ["commitment", "entrant list", "winners"]


def test_verify_holds_the_draw_to_the_announced_number_of_tickets() -> None:
    result = draw(SECRET, IDS, 3)
    fewer = verify(
        result.secret_hex,
        result.commitment,
        result.entrants,
        result.entrant_hash,
        result.winners[:2],
        winner_count=3,
    )
    assert _failed(fewer) == ["winners"]


def test_verify_a_draw_without_entrants() -> None:
    result = draw(SECRET, [], 1)
    assert _verify(result).ok
    assert not _verify(result, winners=["5"]).ok


# --- exports -------------------------------------------------------------------------------


def test_json_export_round_trip() -> None:
    result = draw(new_secret(), IDS, 2)
    text = export_json(result, salon=SALON, handles=HANDLES)
    document = json.loads(text)
    assert document["salon"] == {
        "number": 7,
        "topic": "Импрессионисты",
        "started_at": "2025-03-01T18:00:00+00:00",
        "ended_at": "2025-03-01T19:00:00+00:00",
    }
    assert "HMAC-SHA256" in document["algorithm"]
    assert document["entrants"][0] == {"id": "9", "handle": "nine"}
    assert {"id": "42", "handle": "answer"} in document["entrants"]
    assert {"id": "783214", "handle": None} in document["entrants"]
    assert document["winners"] == result.winners

    loaded = load_export(text)
    assert loaded["salon"] == document["salon"]
    assert loaded["secret"] == result.secret_hex
    assert loaded["commitment"] == result.commitment
    assert loaded["entrant_hash"] == result.entrant_hash
    assert loaded["entrants"] == result.entrants
    assert loaded["handles"] == {"42": "answer", "9": "nine", "100": "hundred"}
    assert loaded["winners"] == result.winners
    assert loaded["reserve"] == result.reserve


def test_csv_export_round_trip() -> None:
    rows = [("100", "hundred"), ("9", "@nine"), ("42", ""), ("9", "nine"), ("55", "a,b")]
    text = export_csv(rows)
    assert text.splitlines() == ["x_user_id,handle", "9,nine", "42,", '55,"a,b"', "100,hundred"]
    loaded = load_export(text)
    assert loaded["entrants"] == ["9", "42", "55", "100"]
    assert loaded["handles"] == {"9": "nine", "55": "a,b", "100": "hundred"}
    assert loaded["secret"] is loaded["commitment"] is loaded["entrant_hash"] is None
    assert loaded["winners"] is loaded["reserve"] is None
    # Windows line ends, a BOM, and no header: what a spreadsheet may save it as.
    assert load_export("\ufeff" + text.replace("\n", "\r\n"))["entrants"] == loaded["entrants"]
    assert load_export("9\n100\n")["entrants"] == ["9", "100"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{not json",
        "[1, 2]",
        '{"winners": []}',
        '{"entrants": [9]}',
        '{"entrants": ["9"], "secret": "xyz"}',
        '{"entrants": ["9"], "commitment": "abcd"}',
        "name,handle\nalice,alice\n",
        "x_user_id,handle\n12,a\nbob,b\n",
    ],
)
def test_load_refuses_what_is_not_an_export(text: str) -> None:
    with pytest.raises(ValueError):
        load_export(text)


def test_load_accepts_entrants_as_bare_ids() -> None:
    assert load_export('{"entrants": ["10", "9"]}')["entrants"] == ["9", "10"]


# --- the verify-draw command ---------------------------------------------------------------


@pytest.fixture
def published(tmp_path: Path) -> tuple[lottery.DrawResult, Path]:
    result = draw(new_secret(), IDS, 2)
    path = tmp_path / "draw.json"
    path.write_text(export_json(result, salon=SALON, handles=HANDLES), encoding="utf-8")
    return result, path


def _tamper(path: Path, **changes: object) -> Path:
    document = json.loads(path.read_text(encoding="utf-8"))
    document.update(changes)
    tampered = path.with_name("tampered.json")
    tampered.write_text(json.dumps(document), encoding="utf-8")
    return tampered


def test_cli_passes_an_honest_draw(
    published: tuple[lottery.DrawResult, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    result, path = published
    assert verify_cli.main([str(path)]) == 0
    out = capsys.readouterr().out
    checks = [line for line in out.splitlines() if line.startswith("[")]
    assert len(checks) == 4 and all(line.startswith("[ok  ] ") for line in checks)
    assert "@answer" in out or "@nine" in out or "@hundred" in out
    for user_id in result.winners + result.reserve:
        assert re.search(rf"^\s+\d+\. {user_id}\b", out, re.MULTILINE)


def test_cli_fails_a_tampered_draw(
    published: tuple[lottery.DrawResult, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    result, path = published
    tampered = _tamper(path, winners=[result.reserve[0], result.winners[1]])
    assert verify_cli.main([str(tampered)]) == 1
    assert "[FAIL] winners" in capsys.readouterr().out

    assert verify_cli.main([str(path), "--commitment", sha256(b"other")]) == 1
    assert "[FAIL] commitment" in capsys.readouterr().out

    assert verify_cli.main([str(path), "--expect", ",".join(result.reserve[:2])]) == 1
    assert verify_cli.main([str(path), "--expect", ",".join(result.winners[::-1])]) == 0
    assert verify_cli.main([str(path), "--winners", "3"]) == 1  # two were published
    capsys.readouterr()


def test_cli_checks_a_csv_with_the_published_values(
    published: tuple[lottery.DrawResult, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    result, path = published
    csv_path = path.with_suffix(".csv")
    csv_path.write_text(export_csv([(i, HANDLES.get(i, "")) for i in IDS]), encoding="utf-8")
    given = [
        "--secret",
        result.secret_hex,
        "--commitment",
        result.commitment,
        "--entrant-hash",
        result.entrant_hash,
    ]
    assert verify_cli.main([str(csv_path), *given, "--winners", "2"]) == 0
    out = capsys.readouterr().out
    assert f"1. {result.winners[0]}" in out
    assert verify_cli.main([str(csv_path), *given, "--expect", ",".join(result.winners)]) == 0
    capsys.readouterr()
    # Without the secret a CSV cannot be checked at all.
    assert verify_cli.main([str(csv_path), "--winners", "2"]) == 2
    assert "--secret" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "args"),
    [
        pytest.param(None, [], id="missing"),
        pytest.param(b"\xff\xfe\x00garbage", [], id="binary"),
        pytest.param(b"{ nope", [], id="bad-json"),
        pytest.param(b'{"entrants": ["1", "one"]}', [], id="bad-id"),
        pytest.param(b"x_user_id,handle\n1,a\n", ["--secret", "zz"], id="bad-option"),
    ],
)
def test_cli_unreadable_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, args: list[str]
) -> None:
    path = tmp_path / "draw.json"
    if content is not None:
        path.write_bytes(content)
    assert verify_cli.main([str(path), *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1
    assert captured.err.startswith("opsbot verify-draw: ")
    assert "Traceback" not in captured.err


def test_python_m_opsbot_verify(published: tuple[lottery.DrawResult, Path]) -> None:
    result, path = published
    done = subprocess.run(
        [sys.executable, "-m", "opsbot.verify", str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "[ok  ] winners" in done.stdout
    assert f"1. {result.winners[0]}" in done.stdout


def test_the_snippet_in_the_docs_recomputes_the_draw(
    published: tuple[lottery.DrawResult, Path],
) -> None:
    """docs/lottery.md promises a 10-line, standard-library-only re-run: it must agree."""
    result, path = published
    docs = (REPO / "docs" / "lottery.md").read_text(encoding="utf-8")
    snippet = re.search(r"```python\n(.*?)```", docs, re.DOTALL)
    assert snippet is not None
    assert len([line for line in snippet.group(1).splitlines() if line.strip()]) <= 10
    assert "opsbot" not in snippet.group(1)
    script = path.with_name("check.py")
    script.write_text(snippet.group(1), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-I", str(script), str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"winners: {result.winners} OK",
        f"reserve: {result.reserve} OK",
    ]


# --- fairness ------------------------------------------------------------------------------


def test_every_entrant_is_equally_likely_to_win() -> None:
    """Chi-square goodness of fit, 20,000 draws of 1 winner among 10 with fresh secrets.

    Random by design: the critical value 27.877 (9 degrees of freedom, p = 0.001) means an
    honest draw fails this test once in a thousand runs.
    """
    entrants = [str(1_000_000_000 + 7919 * n) for n in range(10)]
    draws = 20_000
    wins = Counter(draw(new_secret(), entrants, 1).winners[0] for _ in range(draws))
    expected = draws / len(entrants)
    statistic = sum((wins[user_id] - expected) ** 2 / expected for user_id in entrants)
    assert statistic < 27.877, (statistic, wins)
