"""Alembic environment: async engine, the models' metadata, the URL from OPSBOT_DATABASE_URL."""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from opsbot.db import models  # noqa: F401  (registers the tables on Base.metadata)
from opsbot.db.base import Base, UTCDateTime
from opsbot.db.engine import create_engine
from opsbot.settings import load_database_settings

config = context.config
target_metadata = Base.metadata


def database_url() -> str:
    # No alembic.ini: the project is configured in pyproject.toml, and the URL is read as
    # `opsbot db upgrade` reads it (the environment, then `.env`; empty means the default).
    return load_database_settings().database_url


def render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    # Migrations must not import the application's column types, which may change later.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    # Batch mode lets ALTER TABLE migrations run on SQLite too.
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    engine = create_engine(database_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        # Called from opsbot itself inside its event loop, with a connection already open.
        do_run_migrations(connection)
    else:
        asyncio.run(run_async_migrations())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
