"""`opsbot demo` runs the whole loop with no tokens and shows it as a person would read it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("language", "take", "answered"),
    [("ru", "[Взять]", "Ответил(а) Vera"), ("en", "[Take]", "Answered by Boris")],
)
def test_demo_shows_cards_and_the_posted_reply(
    tmp_path: Path, language: str, take: str, answered: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSBOT_")}
    result = subprocess.run(
        [sys.executable, "-m", "opsbot", "demo", "--language", language],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    out = result.stdout
    staff, replies = out.split("═══ The museum's replies on X ═══")
    for handle in ("ivan_petrov", "kate_reads", "masha", "tom_h", "anon_fan"):
        assert f"@{handle}" in staff
    assert take in staff
    assert answered in staff
    assert "Is <b>this</b> & that allowed?" in staff
    assert "https://x.com/museum/status/" in replies
    assert "1872" in replies and replies.count("#музейнаягостиная") == 1
    assert list(tmp_path.iterdir()) == []
