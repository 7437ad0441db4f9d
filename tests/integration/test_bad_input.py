"""Odd arguments, outsiders in private, forged ids: a clear answer, never an exception."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from opsbot.db.models import AuditEntry
from opsbot.emulators.sandbox import (
    CURATOR_EN,
    CURATOR_RU,
    MODERATOR,
    OUTSIDER,
    STAFF_CHAT_ID,
    Sandbox,
)
from opsbot.telegram.context import OpsbotApplication
from opsbot.telegram.handlers.menus import all_commands
from opsbot.telegram.roles import Role
from tests.integration.helpers import wait_for_cards
from tests.integration.test_salons import command


@pytest.mark.parametrize(
    ("user_id", "line", "expected"),
    [
        (CURATOR_EN.user_id, "/template remove ²", "Usage: /template add TEXT"),
        (CURATOR_EN.user_id, "/template remove 99999999999999999999", "Usage: /template add TEXT"),
        (MODERATOR.user_id, "/unschedule 99999999999999999999", "Как пользоваться: /unschedule"),
        (MODERATOR.user_id, "/schedule сб 19:00 Тема 99999999999999m", "от 15 минут до 4 часов"),
        (MODERATOR.user_id, "/start_salon Тема 99999999999999m", "не больше 4 часов"),
        (MODERATOR.user_id, "/draw 99999999999999999999", "от 1 до 100"),
        (MODERATOR.user_id, "/draw -3", "от 1 до 100"),
        (MODERATOR.user_id, "/duty 1 @%", "Как пользоваться: /duty"),
        (MODERATOR.user_id, "/duty 1", "Как пользоваться: /duty"),
        (MODERATOR.user_id, "/redraw @bad handle", "Как пользоваться: /redraw"),
        (MODERATOR.user_id, "/exclude", "Как пользоваться: /exclude"),
        (MODERATOR.user_id, "/reschedule 1 31.02 19:00", "непонятная дата"),
        (MODERATOR.user_id, "/autostart 1 maybe", "Как пользоваться: /autostart"),
        (CURATOR_EN.user_id, "/xhandle not a handle", "Usage: /xhandle"),
        (CURATOR_EN.user_id, "/signature " + "x" * 41, "at most 40 characters"),
        (CURATOR_EN.user_id, "/ask Hello", "Only moderators can do this."),
    ],
)
async def test_bad_arguments_get_a_clear_answer(
    sandbox: Sandbox,
    bot: OpsbotApplication,
    caplog: pytest.LogCaptureFixture,
    user_id: int,
    line: str,
    expected: str,
) -> None:
    caplog.set_level(logging.WARNING)
    await command(sandbox, user_id, line, expected)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_every_moderators_command_refuses_a_curator(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    names = sorted(c.name for c in all_commands() if c.role == Role.MODERATOR and c.in_group)
    assert {"start_salon", "draw", "schedule", "exclude"} <= set(names)
    for name in names:
        await command(
            sandbox, CURATOR_RU.user_id, f"/{name} 1", "Это могут делать только модераторы."
        )
    async with bot.bot_data.sessionmaker.begin() as session:
        refused = list(
            await session.scalars(select(AuditEntry).where(AuditEntry.outcome == "refused"))
        )
    assert sorted(r.action for r in refused) == names
    assert {(r.actor_id, r.detail) for r in refused} == {(CURATOR_RU.user_id, "not a moderator")}


async def test_outsiders_get_nothing_in_private(sandbox: Sandbox, bot: OpsbotApplication) -> None:
    telegram = sandbox.telegram
    for text in ("/start", "/salons", "/queue", "/help"):
        telegram.user_sends(OUTSIDER.user_id, OUTSIDER.user_id, text)
    await telegram.wait_for(
        lambda: len([m for m in telegram.chat_view(OUTSIDER.user_id) if m["from"]["is_bot"]]) == 4
    )
    answers = {m["text"] for m in telegram.chat_view(OUTSIDER.user_id) if m["from"]["is_bot"]}
    assert answers == {"Этот бот работает только для рабочей группы музея."}


async def test_forged_huge_ids_are_refused(
    sandbox: Sandbox, bot: OpsbotApplication, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.x.visitor_posts("ivan", "@museum Q #museumsalon")
    [card] = await wait_for_cards(sandbox, 1)
    caplog.set_level(logging.WARNING)
    presses = [
        sandbox.telegram.user_presses(
            STAFF_CHAT_ID, CURATOR_EN.user_id, card["message_id"], data, forge=True
        )
        for data in ("v1:tk:3000000000", "v1:po:99999999999", "v1:tp:1:99999999999")
    ]
    await sandbox.telegram.wait_for(
        lambda: all(p in sandbox.telegram.callback_answers for p in presses)
    )
    assert {sandbox.telegram.callback_answers[p]["text"] for p in presses} == {
        "This button is not valid any more."
    }
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
