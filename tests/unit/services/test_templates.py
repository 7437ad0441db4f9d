"""Saved replies, one list per language."""

from __future__ import annotations

from opsbot.services import templates
from tests.unit.services.conftest import Sessions, in_turn


async def test_saved_replies_per_language(sessions: Sessions) -> None:
    thanks = await in_turn(sessions, lambda s: templates.add(s, "en", "Thank you, {handle}!", 1))
    await in_turn(sessions, lambda s: templates.add(s, "ru", "Спасибо, {handle}!", 1))
    later = await in_turn(sessions, lambda s: templates.add(s, "en", "See you, {handle}", 2))
    english = await in_turn(sessions, lambda s: templates.for_language(s, "en"))
    assert [t.id for t in english] == [thanks.id, later.id]
    first = await in_turn(sessions, lambda s: templates.for_language(s, "en", limit=1))
    assert [t.id for t in first] == [thanks.id]
    assert templates.fill(thanks, "visitor") == "Thank you, @visitor!"
    assert await in_turn(sessions, lambda s: templates.remove(s, thanks.id))
    assert not await in_turn(sessions, lambda s: templates.remove(s, thanks.id))
    assert await in_turn(sessions, lambda s: templates.get(s, thanks.id)) is None
