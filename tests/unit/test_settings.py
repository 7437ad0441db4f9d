"""A missing or malformed setting: one line naming the variable, exit code 2, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from opsbot.settings import SettingsError, load_settings

VALID = {
    "OPSBOT_TELEGRAM_TOKEN": "1:abc",
    "OPSBOT_STAFF_CHAT_ID": "-1001",
    "OPSBOT_X_ACCOUNT": "@museum",
    "OPSBOT_X_BEARER_TOKEN": "b",
    "OPSBOT_X_API_KEY": "k",
    "OPSBOT_X_API_SECRET": "s",
    "OPSBOT_X_ACCESS_TOKEN": "t",
    "OPSBOT_X_ACCESS_TOKEN_SECRET": "ts",
}


def run_opsbot(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OPSBOT_")}
    return subprocess.run(
        [sys.executable, "-m", "opsbot", *args],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"OPSBOT_TELEGRAM_TOKEN": None}, "OPSBOT_TELEGRAM_TOKEN is not set"),
        ({"OPSBOT_STAFF_CHAT_ID": "staff"}, "OPSBOT_STAFF_CHAT_ID is malformed"),
        ({"OPSBOT_TIMEZONE": "Mars/Olympus"}, "OPSBOT_TIMEZONE is malformed"),
        ({"OPSBOT_DATABASE_URL": "mysql://x"}, "OPSBOT_DATABASE_URL is malformed"),
        ({"OPSBOT_DEFAULT_LANGUAGE": "de"}, "OPSBOT_DEFAULT_LANGUAGE is malformed"),
        ({"OPSBOT_MODERATOR_IDS": "1,two"}, "OPSBOT_MODERATOR_IDS is malformed"),
        ({"OPSBOT_POLL_LIVE_SECONDS": "-1"}, "OPSBOT_POLL_LIVE_SECONDS is malformed"),
    ],
)
def test_run_with_bad_setting_exits_2_naming_it(
    tmp_path: Path, change: dict[str, str | None], message: str
) -> None:
    env = {k: v for k, v in {**VALID, **change}.items() if v is not None}
    result = run_opsbot(env, tmp_path, "run")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    # The bad value itself may be a secret: it is never echoed.
    for value in change.values():
        if value and len(value) > 3:
            assert value not in result.stderr


def test_env_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("OPSBOT_"):
            monkeypatch.delenv(name)
    (tmp_path / ".env").write_text("\n".join(f"{k}={v}" for k, v in VALID.items()) + "\n")
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.x_account == "museum"
    assert settings.hashtags == ["#museumsalon", "#музейнаягостиная"]
    assert settings.database_url.startswith("sqlite+aiosqlite:///")


def test_lists_and_urls_normalised(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in VALID.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("OPSBOT_MODERATOR_IDS", "1, 2,3")
    monkeypatch.setenv("OPSBOT_HASHTAGS", "museumsalon, #музейнаягостиная")
    monkeypatch.setenv("OPSBOT_DATABASE_URL", "postgresql://u@h/db")
    settings = load_settings(_env_file=None)
    assert settings.moderator_ids == [1, 2, 3]
    assert settings.hashtags == ["#museumsalon", "#музейнаягостиная"]
    assert settings.database_url == "postgresql+asyncpg://u@h/db"


def test_missing_setting_raises_settings_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("OPSBOT_"):
            monkeypatch.delenv(name)
    with pytest.raises(SettingsError, match="OPSBOT_"):
        load_settings(_env_file=None)
