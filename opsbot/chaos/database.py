"""A fresh database for one chaos run, and the run's read-only view of it.

SQLite: a new file in the run's folder. PostgreSQL: a new database created on the given server
and dropped at the end (unless kept). Only a server on this machine is accepted: the run is a
failure test, and its traffic stays on loopback.
"""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from opsbot.db.models import Answer, AnswerStatus, Delivery, Question, Salon
from opsbot.settings import normalise_database_url


@dataclass(frozen=True)
class RunDatabase:
    backend: str
    # What the bot is given as OPSBOT_DATABASE_URL; may hold a password: never printed.
    url: str
    name: str
    admin_url: str | None = None


def require_loopback(url: str) -> None:
    """Refuse a PostgreSQL server that is not on this machine (a socket path is local)."""
    host = make_url(url).host
    if not host or host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError("--postgres must name a server on this machine (127.0.0.1, ::1)")


async def create_database(folder: Path, postgres: str | None, kind: str = "chaos") -> RunDatabase:
    """`kind` names the file or the database: which sort of run left it, if it is kept."""
    if postgres is None:
        path = folder / f"{kind}.sqlite3"
        return RunDatabase("sqlite", f"sqlite:///{path}", path.name)
    require_loopback(postgres)
    name = f"opsbot_{kind}_{uuid.uuid4().hex[:12]}"
    await _administer(postgres, f'CREATE DATABASE "{name}"')
    url = make_url(postgres).set(drivername="postgresql", database=name)
    return RunDatabase(
        "postgresql", url.render_as_string(hide_password=False), name, admin_url=postgres
    )


async def drop_database(database: RunDatabase) -> None:
    if database.admin_url is None:
        return
    await _administer(database.admin_url, f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')


async def _administer(url: str, statement: str) -> None:
    # CREATE and DROP DATABASE refuse to run inside a transaction.
    engine = create_async_engine(normalise_database_url(url), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def reader(database: RunDatabase) -> AsyncEngine:
    """An engine for the run's own reads. Not the bot's engine: that one opens every SQLite
    transaction with BEGIN IMMEDIATE, and a reader must not hold the bot's writers back."""
    return create_async_engine(normalise_database_url(database.url))


async def salon_status(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.scalar(select(Salon.status).order_by(Salon.id.desc()).limit(1))


async def salon_is(engine: AsyncEngine, status: str) -> bool:
    return await salon_status(engine) == status


async def unsettled_answers(engine: AsyncEngine) -> int:
    """Answers the bot still owes X: posting (in the outbox: sending, or waiting to retry)."""
    async with engine.connect() as connection:
        rows = await connection.scalars(
            select(Answer.id).where(Answer.status == AnswerStatus.POSTING)
        )
        return len(list(rows))


@dataclass(frozen=True)
class StoredQuestion:
    id: int
    x_post_id: str
    status: str
    card_message_id: int | None
    salon_seq: int | None


@dataclass(frozen=True)
class StoredAnswer:
    id: int
    question_id: int
    status: str
    text: str
    x_post_id: str | None
    attempts: int
    last_error: str
    preview_message_id: int | None


async def snapshot(engine: AsyncEngine) -> tuple[list[StoredQuestion], list[StoredAnswer]]:
    async with engine.connect() as connection:
        questions = [
            StoredQuestion(row.id, row.x_post_id, row.status, row.card_message_id, row.salon_seq)
            for row in await connection.execute(
                select(
                    Question.id,
                    Question.x_post_id,
                    Question.status,
                    Question.card_message_id,
                    Question.salon_seq,
                ).order_by(Question.id)
            )
        ]
        answers = [
            StoredAnswer(
                row.id,
                row.question_id,
                row.status,
                row.text,
                row[4],
                row[5],
                row[6],
                row.preview_message_id,
            )
            for row in await connection.execute(
                select(
                    Answer.id,
                    Answer.question_id,
                    Answer.status,
                    Answer.text,
                    Answer.x_post_id,
                    func.coalesce(_delivery_of(Delivery.attempts), 0),
                    func.coalesce(_delivery_of(Delivery.last_error), ""),
                    Answer.preview_message_id,
                ).order_by(Answer.id)
            )
        ]
    return questions, answers


def _delivery_of(column: Any) -> Any:
    """A column of the outbox row that carries this answer (part) to X."""
    return select(column).where(Delivery.answer_id == Answer.id).limit(1).scalar_subquery()
