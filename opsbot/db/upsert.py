"""INSERT ... ON CONFLICT for both databases the project runs on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase


def _insert(session: AsyncSession, model: type[DeclarativeBase]) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


async def insert_missing(
    session: AsyncSession,
    model: type[DeclarativeBase],
    rows: Sequence[dict[str, Any]],
    key: Sequence[str],
) -> list[Any]:
    """Insert the rows whose `key` is not stored yet; return the primary keys of those inserted.

    The database decides, so two pollers storing the same post at once still store it once.
    """
    if not rows:
        return []
    pk = model.__table__.primary_key.columns.values()[0]  # type: ignore[attr-defined]
    statement = (
        _insert(session, model).values(list(rows)).on_conflict_do_nothing(index_elements=key)
    ).returning(pk)
    result = await session.execute(statement)
    return list(result.scalars())


async def upsert(
    session: AsyncSession,
    model: type[DeclarativeBase],
    row: dict[str, Any],
    key: Sequence[str],
    update: Sequence[str],
) -> None:
    statement = _insert(session, model).values(row)
    statement = statement.on_conflict_do_update(
        index_elements=key, set_={name: statement.excluded[name] for name in update}
    )
    await session.execute(statement)


async def add_to(
    session: AsyncSession,
    model: type[DeclarativeBase],
    row: dict[str, Any],
    key: Sequence[str],
    counter: str,
) -> None:
    """Insert the row, or add its `counter` to the stored one in the same statement."""
    statement = _insert(session, model).values(row)
    column = getattr(model, counter)
    set_ = {counter: column + statement.excluded[counter]}
    set_.update({name: statement.excluded[name] for name in row if name not in (*key, counter)})
    statement = statement.on_conflict_do_update(index_elements=key, set_=set_)
    await session.execute(statement)
