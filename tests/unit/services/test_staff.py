"""The staff as the bot remembers them, and the moderators it can reach in private."""

from __future__ import annotations

from opsbot.services import moderators, staff
from opsbot.services.moderators import Reachable
from tests.unit.services.conftest import Sessions, in_turn


async def see(sessions: Sessions, telegram_id: int, **extra: object) -> None:
    values: dict[str, object] = {
        "first_name": "Anna",
        "username": "anna",
        "telegram_language": "ru",
    }
    values.update(extra)
    await in_turn(
        sessions,
        lambda s: staff.see_member(s, telegram_id=telegram_id, **values),  # type: ignore[arg-type]
    )


async def test_seeing_a_member_again_keeps_their_own_choices(sessions: Sessions) -> None:
    await see(sessions, 1)
    await in_turn(sessions, lambda s: staff.set_language(s, 1, "en"))
    await in_turn(sessions, lambda s: staff.set_signature(s, 1, "— Anna"))
    await in_turn(sessions, lambda s: staff.set_x_handle(s, 1, "anna_x"))
    await in_turn(sessions, lambda s: staff.open_private_chat(s, 1))
    await see(sessions, 1, first_name="Anna K." + "!" * 300, username=None, telegram_language="de")
    assert await in_turn(sessions, lambda s: staff.language_of(s, 1, None, "ru")) == "en"
    assert await in_turn(sessions, lambda s: staff.signature_of(s, 1)) == "— Anna"
    name = await in_turn(sessions, lambda s: staff.display_name(s, 1))
    assert name is not None and name.startswith("Anna K.") and len(name) == 200
    reachable = await in_turn(sessions, lambda s: moderators.reachable_in_private(s, [1], "ru"))
    assert reachable == [Reachable(1, "en")]


async def test_language_falls_back_to_telegrams_then_the_museums(sessions: Sessions) -> None:
    assert await in_turn(sessions, lambda s: staff.language_of(s, 5, None, "ru")) == "ru"
    assert await in_turn(sessions, lambda s: staff.language_of(s, 5, "en-GB", "ru")) == "en"
    await see(sessions, 5, telegram_language="en")
    # Without a live update, the language Telegram last reported.
    assert await in_turn(sessions, lambda s: staff.language_of(s, 5, None, "ru")) == "en"
    assert await in_turn(sessions, lambda s: staff.language_of(s, 5, "de", "ru")) == "ru"


async def test_display_names(sessions: Sessions) -> None:
    assert await in_turn(sessions, lambda s: staff.display_name(s, None)) is None
    assert await in_turn(sessions, lambda s: staff.display_name(s, 42)) == "42"
    await see(sessions, 7, first_name="", username="boris")
    assert await in_turn(sessions, lambda s: staff.display_name(s, 7)) == "@boris"


async def test_the_staff_group_follows_its_migration(sessions: Sessions) -> None:
    assert await in_turn(sessions, lambda s: staff.staff_chat_id(s, -100)) == -100
    await in_turn(sessions, lambda s: staff.move_staff_chat(s, -1001))
    await in_turn(sessions, lambda s: staff.move_staff_chat(s, -1002))
    assert await in_turn(sessions, lambda s: staff.staff_chat_id(s, -100)) == -1002


async def test_moderators_reachable_in_private(sessions: Sessions) -> None:
    assert await in_turn(sessions, lambda s: moderators.reachable_in_private(s, [], "ru")) == []
    await in_turn(sessions, lambda s: moderators.remember_administrators(s, [3, 1, 3]))
    assert await in_turn(sessions, moderators.administrators) == {1, 3}
    for person, language in ((1, "en"), (2, None), (3, "ru"), (4, "en")):
        await see(sessions, person, telegram_language=language)
    for person in (1, 2, 4):
        await in_turn(sessions, lambda s, p=person: staff.open_private_chat(s, p))  # type: ignore[misc]
    # 3 never opened a private chat; 4 is a plain curator; 2 is a moderator by settings.
    found = await in_turn(sessions, lambda s: moderators.reachable_in_private(s, [2], "ru"))
    assert found == [Reachable(1, "en"), Reachable(2, "ru")]
    await in_turn(sessions, lambda s: moderators.remember_administrators(s, []))
    assert await in_turn(sessions, moderators.administrators) == set()
