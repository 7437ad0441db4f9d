"""A missing or malformed setting: one line naming the variable, exit code 2, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from opsbot.settings import Settings, SettingsError, load_settings
from tests.environment import without_opsbot_settings

ROOT = Path(__file__).resolve().parents[2]

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
    clean = without_opsbot_settings()
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
        # tweepy always asks for /2/...: a path here would be silently doubled or dropped.
        ({"OPSBOT_X_API_URL": "http://127.0.0.1:8082/2"}, "OPSBOT_X_API_URL is malformed"),
        # Pasted with the token in it: refused, and the token is not repeated.
        (
            {"OPSBOT_TELEGRAM_API_URL": "https://api.telegram.org/bot123456:AAsecret-token"},
            "OPSBOT_TELEGRAM_API_URL is malformed",
        ),
        ({"OPSBOT_STAFF_CHAT_ID": "987654"}, "group ids are negative"),
        ({"OPSBOT_REMINDER_OFFSETS": ",,"}, "OPSBOT_REMINDER_OFFSETS is malformed"),
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


def test_no_reminders_is_said_with_none(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in VALID.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("OPSBOT_REMINDER_OFFSETS", "none")
    assert load_settings(_env_file=None).reminder_offsets == []
    monkeypatch.setenv("OPSBOT_REMINDER_OFFSETS", "10m, 24h")
    assert load_settings(_env_file=None).reminder_offsets == [
        timedelta(hours=24),
        timedelta(minutes=10),
    ]


def test_positive_staff_chat_id_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in VALID.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("OPSBOT_STAFF_CHAT_ID", "987654")
    with pytest.raises(SettingsError) as raised:
        load_settings(_env_file=None)
    message = str(raised.value)
    assert message.startswith("OPSBOT_STAFF_CHAT_ID is malformed")
    # What it is, and how to find the right one.
    assert "person" in message and "-100" in message and "\n" not in message


def _clear_opsbot_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("OPSBOT_"):
            monkeypatch.delenv(name)


def test_env_example_filled_in_loads_with_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`.env.example` copied to `.env`: its empty lines are the defaults, not malformed values."""
    _clear_opsbot_env(monkeypatch)
    lines = []
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        name, _, value = line.partition("=")
        if name in VALID and not value:
            line = f"{name}={VALID[name]}"
        lines.append(line)
    (tmp_path / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.x_api_url is None
    assert settings.moderator_ids == []
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert settings.reminder_offsets == [
        timedelta(hours=24),
        timedelta(hours=1),
        timedelta(minutes=10),
    ]
    assert settings.database_url == "sqlite+aiosqlite:///opsbot.sqlite3"


def test_env_example_names_every_setting() -> None:
    listed = {
        line.partition("=")[0]
        for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
        if "=" in line and not line.startswith("#")
    }
    assert listed == {f"OPSBOT_{name.upper()}" for name in Settings.model_fields}


OPTIONAL = sorted(name for name, field in Settings.model_fields.items() if not field.is_required())


@pytest.mark.parametrize("name", OPTIONAL)
def test_an_empty_value_means_the_default(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _clear_opsbot_env(monkeypatch)
    variable = f"OPSBOT_{name.upper()}"
    (tmp_path / ".env").write_text(
        "".join(f"{k}={v}\n" for k, v in VALID.items()) + f"{variable}=\n", encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    default = Settings.model_fields[name].get_default(call_default_factory=True)
    assert getattr(load_settings(), name) == default
    # An empty environment variable is the same as an empty line in `.env`.
    monkeypatch.setenv(variable, "")
    assert getattr(load_settings(), name) == default


def test_db_upgrade_needs_only_the_database(tmp_path: Path) -> None:
    env = {"OPSBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'opsbot.sqlite3'}"}
    result = run_opsbot(env, tmp_path, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert "database is up to date" in result.stdout
    assert (tmp_path / "opsbot.sqlite3").exists()


def test_declared_lower_bounds_have_the_apis_used() -> None:
    """The oldest versions pyproject.toml allows must have what the code calls."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = {Requirement(r).name.lower(): Requirement(r) for r in project["dependencies"]}

    def lowest(name: str) -> Version:
        bounds = [Version(s.version) for s in requirements[name].specifier if s.operator == ">="]
        assert bounds, f"{name} has no lower bound"
        return max(bounds)

    assert lowest("python-telegram-bot") >= Version("22.2")  # PTB_TIMEDELTA
    assert lowest("pydantic-settings") >= Version("2.7")  # NoDecode
    assert lowest("alembic") >= Version("1.16")  # [tool.alembic] in pyproject.toml
    assert lowest("aiohttp") >= Version("3.12")  # client middlewares (opsbot/x/session.py)
    # The bot paces itself (opsbot/telegram/ratelimit.py); aiolimiter would be dead weight.
    assert "rate-limiter" not in requirements["python-telegram-bot"].extras


def test_missing_setting_raises_settings_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("OPSBOT_"):
            monkeypatch.delenv(name)
    with pytest.raises(SettingsError, match="OPSBOT_"):
        load_settings(_env_file=None)
