"""Partner museums from the staff's side: the commands, who may use them, and answers a
partner's curator posts by hand when the bot may not post as the partner."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from opsbot.db.models import Partner, Question, QuestionStatus, StaffMember
from opsbot.emulators.sandbox import (
    CURATOR_EN,
    CURATOR_RU,
    MODERATOR,
    OUTSIDER,
    STAFF_CHAT_ID,
    Sandbox,
)
from opsbot.services import partners
from opsbot.telegram.context import OpsbotApplication
from tests.integration.helpers import buttons, press_and_wait, wait_for_cards, write_answer
from tests.integration.partner_world import (
    PARTNER_ADMIN,
    PARTNER_CHAT_ID,
    PARTNER_CURATOR,
    PARTNER_HANDLE,
    SECRET_KEY,
    add_partner,
    command,
    link_partner_group,
    says,
    start_cohosted_salon,
)


@pytest.fixture
def bot_overrides() -> dict[str, Any]:
    return {"secret_key": SECRET_KEY}


async def test_partner_commands_refuse_curators_strangers_and_unapproved_groups(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    # A curator may list partners but not add or remove them: in their own language.
    await command(
        sandbox,
        STAFF_CHAT_ID,
        CURATOR_EN.user_id,
        f'/partner add @{PARTNER_HANDLE} "Somebody"',
        "Only moderators can do this",
    )
    await command(
        sandbox,
        STAFF_CHAT_ID,
        CURATOR_RU.user_id,
        f"/partner remove @{PARTNER_HANDLE}",
        "Это могут делать только модераторы",
    )
    # A stranger is not served at all, even in private.
    stranger = OUTSIDER.user_id
    await command(
        sandbox, stranger, stranger, "/partner connect", "Этот бот работает только для рабочей"
    )
    await add_partner(sandbox)
    # A curator of the host may not connect a partner's account.
    curator = CURATOR_EN.user_id
    await command(
        sandbox, curator, curator, "/partner connect", "Only an administrator of the partner"
    )
    # The partner's group before the host approved it: commands are refused with the reason.
    sandbox.telegram.add_bot_to_group(PARTNER_CHAT_ID, PARTNER_ADMIN.user_id)
    await command(
        sandbox,
        PARTNER_CHAT_ID,
        PARTNER_CURATOR.user_id,
        f"/partner group @{PARTNER_HANDLE}",
        "Only an administrator of this group",
    )
    await command(
        sandbox,
        PARTNER_CHAT_ID,
        PARTNER_ADMIN.user_id,
        f"/partner group @{PARTNER_HANDLE}",
        "Asked",
    )
    await command(
        sandbox,
        PARTNER_CHAT_ID,
        PARTNER_ADMIN.user_id,
        "/ask What do you celebrate?",
        "waits for a moderator of the host museum to approve",
    )
    await command(
        sandbox,
        PARTNER_CHAT_ID,
        PARTNER_CURATOR.user_id,
        "/partners",
        "waits for a moderator of the host museum",
    )
    # Its administrator is not yet its moderator in private either.
    admin = PARTNER_ADMIN.user_id
    await command(sandbox, admin, admin, "/partner connect", "This bot works for")


@pytest.mark.parametrize(
    ("arguments", "refusal"),
    [
        ('@no-such-handle! "Name"', "is not an X handle"),
        ('@museum "Ourselves"', "museum's own account"),
        (f'@{PARTNER_HANDLE} "Name" de', "not a language the bot speaks"),
        (f'@{PARTNER_HANDLE} "Name" en Mars/Base', "Unknown time zone"),
        (f"@{PARTNER_HANDLE} Name-without-quotes", "Usage"),
    ],
)
async def test_partner_add_checks_every_argument(
    sandbox: Sandbox, bot: OpsbotApplication, arguments: str, refusal: str
) -> None:
    moderator = MODERATOR.user_id
    await command(sandbox, STAFF_CHAT_ID, moderator, "/language en", "English")
    await command(sandbox, STAFF_CHAT_ID, moderator, f"/partner add {arguments}", refusal)
    async with bot.bot_data.sessionmaker.begin() as session:
        assert not list(await session.scalars(select(Partner)))


async def partners_of_people(bot: OpsbotApplication, *people: int) -> list[Partner | None]:
    """Each person's museum once the bot has seen them all (None: the host's)."""
    runtime = bot.bot_data
    for _attempt in range(600):
        async with runtime.sessionmaker.begin() as session:
            seen = {
                member.telegram_id
                for member in await session.scalars(
                    select(StaffMember).where(StaffMember.telegram_id.in_(people))
                )
            }
            if seen == set(people):
                return [await partners.partner_of_staff(session, person) for person in people]
        await asyncio.sleep(0.05)
    raise AssertionError(f"the bot never saw {sorted(set(people) - seen)}")


async def test_add_list_link_and_remove_a_partner(sandbox: Sandbox, bot: OpsbotApplication) -> None:
    await add_partner(sandbox)
    await command(
        sandbox,
        STAFF_CHAT_ID,
        MODERATOR.user_id,
        f'/partner add @{PARTNER_HANDLE.upper()} "Again"',
        "уже партнёр",
    )
    await link_partner_group(sandbox)
    listed = await command(sandbox, STAFF_CHAT_ID, MODERATOR.user_id, "/partners", PARTNER_HANDLE)
    assert "Europe/Moscow" in listed["text"] and "привязана" in listed["text"]
    # People who write in the linked group are the partner's staff (and answer from its
    # account); the host's moderator, who sits there too, stays the host's.
    sandbox.telegram.add_member(PARTNER_CHAT_ID, MODERATOR.user_id)
    # The bot's answer to the moderator's command comes after it has looked at who he is.
    await command(sandbox, PARTNER_CHAT_ID, MODERATOR.user_id, "/partners", ".")
    sandbox.telegram.user_sends(PARTNER_CHAT_ID, PARTNER_CURATOR.user_id, "Hello!")
    [partner] = await partners_of_people(bot, PARTNER_CURATOR.user_id)
    assert partner is not None and partner.handle == PARTNER_HANDLE
    assert await partners_of_people(bot, MODERATOR.user_id) == [None]
    await command(
        sandbox,
        STAFF_CHAT_ID,
        MODERATOR.user_id,
        f"/partner remove @{PARTNER_HANDLE}",
        "удалён",
    )
    async with bot.bot_data.sessionmaker.begin() as session:
        assert not list(await session.scalars(select(Partner)))


async def test_an_answer_posted_by_hand_is_checked_on_x(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    await add_partner(sandbox)
    said = sandbox.telegram.user_sends(STAFF_CHAT_ID, CURATOR_EN.user_id, "I answer for them")
    await command(
        sandbox,
        STAFF_CHAT_ID,
        MODERATOR.user_id,
        f"/partner staff @{PARTNER_HANDLE}",
        "отвечает за",
        reply_to_message_id=said["message_id"],
    )
    await start_cohosted_salon(sandbox)
    question = sandbox.x.visitor_posts(
        "ivan", f"@{PARTNER_HANDLE} @museum Why do you light candles? #museumsalon"
    )
    [card] = await wait_for_cards(sandbox, 1)
    preview = await write_answer(sandbox, CURATOR_EN.user_id, card, "For the feast.")
    assert "Post" not in buttons(preview)
    open_on_x = [
        b
        for row in preview["reply_markup"]["inline_keyboard"]
        for b in row
        if b.get("url", "").endswith(f"/status/{question['id']}")
    ]
    assert open_on_x
    # Only its curator may mark it.
    refusal = await press_and_wait(sandbox, CURATOR_RU.user_id, preview, "Mark answered")
    assert "только куратор" in refusal
    await press_and_wait(sandbox, CURATOR_EN.user_id, preview, "Mark answered")
    prompt = await says(sandbox, STAFF_CHAT_ID, preview["message_id"], "link of your reply")

    async def send_link(text: str, expected: str) -> None:
        await command(
            sandbox,
            STAFF_CHAT_ID,
            CURATOR_EN.user_id,
            text,
            expected,
            reply_to_message_id=prompt["message_id"],
        )

    own = sandbox.x.visitor_posts("museum", "@ivan For the feast.", reply_to=question["id"])
    not_reply = sandbox.x.visitor_posts(PARTNER_HANDLE, "For the feast. #museumsalon")
    theirs = sandbox.x.visitor_posts(PARTNER_HANDLE, "For the feast.", reply_to=question["id"])
    await send_link("done!", "not a link to a post on X")
    await send_link(f"https://x.com/museum/status/{own['id']}", f"not from @{PARTNER_HANDLE}")
    await send_link(
        f"https://x.com/{PARTNER_HANDLE}/status/{not_reply['id']}", "not a reply to the question"
    )
    await send_link(f"https://x.com/{PARTNER_HANDLE}/status/{theirs['id']}", "Checked on X")
    async with bot.bot_data.sessionmaker.begin() as session:
        status = await session.scalar(select(Question.status))
    assert status == QuestionStatus.ANSWERED
    # Nothing was posted by the bot itself.
    assert not [p for p in sandbox.x.museum_posts() if p["text"] == "For the feast. #museumsalon"]
