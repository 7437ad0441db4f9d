"""Shared fixtures: the database under test (SQLite or PostgreSQL), the emulators, the bot.

The bot and both emulators share one `ManualClock`: a test that moves it moves the whole
world's time (the bot's retries and schedules, X's and Telegram's windows) instead of waiting.

OPSBOT_TEST_DATABASE=postgresql runs every test on a fresh PostgreSQL database at
OPSBOT_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres); otherwise
each test gets its own SQLite file. Either is a copy of one database migrated at the start of
the run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from opsbot.catalogs import ROOT, compile_all
from opsbot.clock import ManualClock
from opsbot.db.engine import create_engine
from opsbot.db.migrate import upgrade
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


@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One database migrated to head for the whole run, copied for each test: the bot's own
    upgrade at start then finds nothing to do, instead of running every migration again."""
    if BACKEND != "postgresql":
        path = tmp_path_factory.mktemp("template") / "opsbot.sqlite3"
        asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))
        yield str(path)
        return
    name = f"opsbot_template_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        asyncio.run(_migrate(_postgres_url(name)))
        yield name
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def _admin(statement: str) -> None:
    admin = await asyncpg.connect(POSTGRES_URL)
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


def _postgres_url(name: str) -> str:
    base = POSTGRES_URL.rsplit("/", 1)[0]
    return f"postgresql+asyncpg://{base.split('://', 1)[1]}/{name}"


@pytest.fixture
async def database_url(tmp_path: Path, migrated: str) -> AsyncIterator[str]:
    """A database of the test's own, already at the newest migration."""
    if BACKEND != "postgresql":
        path = tmp_path / "opsbot.sqlite3"
        shutil.copyfile(migrated, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    name = f"opsbot_test_{uuid.uuid4().hex[:12]}"
    await _admin(f'CREATE DATABASE "{name}" TEMPLATE "{migrated}"')
    yield _postgres_url(name)
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def sandbox(
    telegram_options: dict[str, Any], x_options: dict[str, Any], forum: bool, clock: ManualClock
) -> AsyncIterator[Sandbox]:
    world = await start_sandbox(
        telegram_options={"clock": clock.timestamp, **telegram_options},
        x_options={"clock": clock.timestamp, **x_options},
        forum=forum,
    )
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
async def bot(settings: Settings, clock: ManualClock) -> AsyncIterator[OpsbotApplication]:
    async with running(settings, poll_timeout=1, clock=clock) as application:
        yield application
