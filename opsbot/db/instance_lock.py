"""One running bot per database: a second `opsbot run` on the same data refuses to start.

Two processes would both send every card and both retry every answer. The lock dies with its
process (kill -9 included), so a restart never waits for a stale one: on PostgreSQL a
session-level advisory lock held on a connection of its own, on SQLite an exclusive `flock`
on a file beside the database (SQLite has no lock that outlives a transaction).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from pathlib import Path
from typing import IO

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

# pg_advisory_lock takes a signed 64-bit key; derived from a name so it is stable.
ADVISORY_KEY = int.from_bytes(hashlib.sha256(b"opsbot:instance").digest()[:8], "big", signed=True)


class AnotherInstanceRunning(Exception):
    """Another `opsbot run` holds this database; the message is safe to print."""


class InstanceLock:
    def __init__(self) -> None:
        self._connection: AsyncConnection | None = None
        self._file: IO[bytes] | None = None

    async def acquire(self, engine: AsyncEngine) -> None:
        """Take the lock or raise AnotherInstanceRunning."""
        if engine.dialect.name == "postgresql":
            await self._acquire_advisory(engine)
        else:
            self._acquire_file(engine)

    async def _acquire_advisory(self, engine: AsyncEngine) -> None:
        # Autocommit: the connection must not sit "idle in transaction" for the bot's life.
        connection = await engine.connect()
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        taken = await connection.scalar(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}
        )
        if not taken:
            await connection.close()
            raise AnotherInstanceRunning(
                "another opsbot is running on this database; stop it first"
            )
        self._connection = connection

    def _acquire_file(self, engine: AsyncEngine) -> None:
        database = make_url(str(engine.url)).database
        if not database or database == ":memory:":
            return
        path = Path(f"{database}.lock")
        handle = path.open("ab")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise AnotherInstanceRunning(
                f"another opsbot is running on {database}; stop it first"
            ) from None
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n".encode())
        handle.flush()
        self._file = handle

    async def release(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY}
                )
            await self._connection.close()
            self._connection = None
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
