"""Shared fixtures: the database under test (SQLite or PostgreSQL), the emulators, the bot.

OPSBOT_TEST_DATABASE=postgresql runs every test on a fresh PostgreSQL database at
OPSBOT_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres); otherwise
each test gets its own SQLite file.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from opsbot.catalogs import ROOT, compile_all
from opsbot.emulators.sandbox import Sandbox, start_sandbox
from opsbot.runtime import running
from opsbot.settings import Settings
from opsbot.telegram.context import OpsbotApplication

SHARED = ROOT.parent / "shared"
BACKEND = os.environ.get("OPSBOT_TEST_DATABASE", "sqlite")
POSTGRES_URL = os.environ.get(
    "OPSBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)

# Flood limits scaled down so a test of 60 cards takes seconds, not minutes.
FAST_TELEGRAM = {"group_limit": (20, 2.0), "global_limit": (30, 1.0)}
FAST_BOT = {
    "telegram_group_rate": 20,
    "telegram_group_period": 2.0,
    "telegram_global_rate": 30,
    "telegram_global_period": 1.0,
    "poll_idle_seconds": 0.3,
    "poll_live_seconds": 0.3,
}


def pytest_sessionstart(session: pytest.Session) -> None:
    # The same compilation the package build does, so tests see the committed .po files.
    compile_all(ROOT / "locales")


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared test data lives beside the repository in CI")
    return path


@pytest.fixture
async def database_url(tmp_path: Path) -> AsyncIterator[str]:
    if BACKEND != "postgresql":
        yield f"sqlite+aiosqlite:///{tmp_path / 'opsbot.sqlite3'}"
        return
    name = f"opsbot_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(POSTGRES_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = POSTGRES_URL.rsplit("/", 1)[0]
    yield f"postgresql+asyncpg://{base.split('://', 1)[1]}/{name}"
    admin = await asyncpg.connect(POSTGRES_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def telegram_options() -> dict[str, Any]:
    return dict(FAST_TELEGRAM)


@pytest.fixture
def x_options() -> dict[str, Any]:
    return {}


@pytest.fixture
def forum() -> bool:
    return False


@pytest.fixture
async def sandbox(
    telegram_options: dict[str, Any], x_options: dict[str, Any], forum: bool
) -> AsyncIterator[Sandbox]:
    world = await start_sandbox(telegram_options=telegram_options, x_options=x_options, forum=forum)
    try:
        yield world
    finally:
        await world.stop()


@pytest.fixture
def bot_overrides() -> dict[str, Any]:
    return {}


@pytest.fixture
def settings(sandbox: Sandbox, database_url: str, bot_overrides: dict[str, Any]) -> Settings:
    return sandbox.settings(database_url=database_url, **{**FAST_BOT, **bot_overrides})


@pytest.fixture
async def bot(settings: Settings) -> AsyncIterator[OpsbotApplication]:
    async with running(settings, poll_timeout=1) as application:
        yield application
