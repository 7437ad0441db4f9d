"""Saved replies: short answers the Answer step offers, one list per language."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from opsbot.db.models import Template


async def for_language(
    session: AsyncSession, language: str, limit: int | None = None
) -> list[Template]:
    query = select(Template).where(Template.language == language).order_by(Template.id)
    return list(await session.scalars(query.limit(limit) if limit else query))


async def get(session: AsyncSession, template_id: int) -> Template | None:
    return await session.get(Template, template_id)


async def add(session: AsyncSession, language: str, text: str, by: int | None) -> Template:
    template = Template(language=language, text=text, created_by=by)
    session.add(template)
    await session.flush()
    return template


async def remove(session: AsyncSession, template_id: int) -> bool:
    result = await session.execute(delete(Template).where(Template.id == template_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def fill(template: Template, handle: str) -> str:
    """The saved reply for one visitor: `{handle}` becomes their @handle."""
    return template.text.replace("{handle}", f"@{handle}")
