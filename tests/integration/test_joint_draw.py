"""A co-hosted salon's one draw: entrants from both museums' questions, both accounts, both
staffs and both exclusion lists left out; the result in both groups; the partner's post."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from opsbot import verify
from opsbot.db.models import (
    Delivery,
    DeliveryKind,
    Draw,
    Partner,
    Question,
    QuestionAudience,
    Salon,
    StaffMember,
)
from opsbot.emulators.sandbox import CURATOR_EN, MODERATOR, STAFF_CHAT_ID, Sandbox
from opsbot.services import draws
from opsbot.telegram.callback_data import Action, pack
from opsbot.telegram.context import OpsbotApplication
from tests.integration.helpers import buttons, cards, settled, wait_for_cards
from tests.integration.partner_world import (
    PARTNER_ADMIN,
    PARTNER_CHAT_ID,
    PARTNER_CURATOR,
    PARTNER_HANDLE,
    SECRET_KEY,
    connect_partner,
    partner_posts,
    seat_partner,
)
from tests.integration.test_salons import command, last_id


@pytest.fixture
def bot_overrides() -> dict[str, Any]:
    return {"secret_key": SECRET_KEY}


def in_partner_group(sandbox: Sandbox, text: str) -> dict[str, Any] | None:
    return next(
        (
            m
            for m in reversed(sandbox.telegram.chat_view(PARTNER_CHAT_ID))
            if m["from"]["is_bot"] and text in m["text"]
        ),
        None,
    )


async def press(sandbox: Sandbox, user_id: int, message: dict[str, Any], label: str) -> str:
    query = sandbox.telegram.user_presses(
        PARTNER_CHAT_ID, user_id, message["message_id"], buttons(message)[label]
    )
    await sandbox.telegram.wait_for(lambda: query in sandbox.telegram.callback_answers)
    return str(sandbox.telegram.callback_answers[query]["text"])


async def small_joint_draw(
    sandbox: Sandbox, bot: OpsbotApplication
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A salon co-hosted with the partner, three questions, one winner: the result in the
    host's group and as shared in the partner's."""
    anna = MODERATOR.user_id
    await command(sandbox, anna, "/start_salon Тема 1h", "Обязательство")
    async with bot.bot_data.sessionmaker.begin() as session:
        partner_id = await session.scalar(select(Partner.id))
        await session.execute(update(Salon).values(partner_id=partner_id))
    for n in range(3):
        sandbox.x.visitor_posts(f"guest{n}", f"@museum Q{n} #museumsalon")
    await wait_for_cards(sandbox, 3)
    await command(sandbox, anna, "/end_salon", "завершена")
    result = await command(sandbox, anna, "/draw 1", "Победители")
    shared = await sandbox.telegram.wait_for(lambda: in_partner_group(sandbox, "Winners:"))
    return result, shared


async def test_joint_draw_leaves_out_both_museums_and_is_verifiable(
    sandbox: Sandbox, bot: OpsbotApplication, tmp_path: Path
) -> None:
    anna = MODERATOR.user_id
    partner = await seat_partner(sandbox, bot)
    await connect_partner(sandbox)
    runtime = bot.bot_data
    async with runtime.sessionmaker.begin() as session:
        for person, handle in ((PARTNER_ADMIN, "hans_on_x"), (PARTNER_CURATOR, "lena_on_x")):
            await session.execute(
                update(StaffMember)
                .where(StaffMember.telegram_id == person.user_id)
                .values(x_handle=handle)
            )
        # The partner's own list, kept by its moderators.
        assert await draws.exclude(session, "partner_friend", None, partner_id=partner.id)
    await command(sandbox, CURATOR_EN.user_id, "/xhandle @boris_on_x", "@boris_on_x")
    await command(sandbox, anna, "/exclude @spam_bot", "@spam_bot")

    await command(sandbox, anna, "/start_salon Новый год в разных культурах 2h", "Обязательство")
    async with runtime.sessionmaker.begin() as session:
        await session.execute(update(Salon).values(partner_id=partner.id))

    x = sandbox.x
    to_host = [f"guest{n:02d}" for n in range(8)]
    to_partner = [f"pilgrim{n:02d}" for n in range(6)]
    left_out = ["boris_on_x", "hans_on_x", "lena_on_x", "spam_bot", "partner_friend"]
    for n, handle in enumerate(to_host):
        x.visitor_posts(handle, f"@museum Вопрос {n} #museumsalon")
    for n, handle in enumerate(to_partner + left_out):
        x.visitor_posts(handle, f"@{PARTNER_HANDLE} Question {n} #museumsalon")
    # The partner's account joins in under the hashtag: it is a host, neither a question nor
    # an entrant.
    x.visitor_posts(PARTNER_HANDLE, "Welcome to our joint salon! #museumsalon")
    asked = len(to_host) + len(to_partner) + len(left_out)
    await wait_for_cards(sandbox, asked, timeout=60)
    await settled(bot)
    assert len(cards(sandbox)) == asked
    async with runtime.sessionmaker.begin() as session:
        await session.execute(
            update(Question)
            .where(Question.text.contains(f"@{PARTNER_HANDLE}"))
            .values(audience=QuestionAudience.PARTNER)
        )

    await command(sandbox, anna, "/end_salon", "завершена")
    result = await command(sandbox, anna, "/draw 3 Билеты", "Победители")
    winners = [line[3:] for line in result["text"].splitlines() if line.startswith("• @")]
    assert len(winners) == 3 and set(winners) <= set(to_host + to_partner)

    # The one result, in the partner's group in its language, with its own button.
    shared = await sandbox.telegram.wait_for(lambda: in_partner_group(sandbox, "Winners:"))
    assert [line[3:] for line in shared["text"].splitlines() if line.startswith("• @")] == (winners)
    assert set(buttons(shared)) == {f"Announce from @{PARTNER_HANDLE}"}
    commitment = result["text"].split("Обязательство: ")[1].split()[0]
    assert f"Commitment: {commitment}" in shared["text"]

    before = last_id(sandbox)
    sandbox.telegram.user_sends(STAFF_CHAT_ID, anna, "/entrants")
    document = await sandbox.telegram.wait_for(
        lambda: next(
            (
                m
                for m in sandbox.telegram.chat_view(STAFF_CHAT_ID)
                if m["message_id"] > before and m.get("document")
            ),
            None,
        )
    )
    export = tmp_path / document["document"]["filename"]
    export.write_bytes(document["document"]["content"])
    data = json.loads(export.read_text())
    assert {e["handle"] for e in data["entrants"]} == set(to_host + to_partner)
    assert data["salon"]["hosts"] == ["museum", PARTNER_HANDLE]
    assert data["commitment"] == commitment
    assert verify.main([str(export), "--winners", "3", "--commitment", commitment]) == 0

    # Only the partner's moderators post from the partner's account.
    refusal = await press(
        sandbox, PARTNER_CURATOR.user_id, shared, f"Announce from @{PARTNER_HANDLE}"
    )
    assert "Only moderators" in refusal
    await press(sandbox, PARTNER_ADMIN.user_id, shared, f"Announce from @{PARTNER_HANDLE}")
    preview = await sandbox.telegram.wait_for(
        lambda: in_partner_group(sandbox, f"announcement from @{PARTNER_HANDLE}")
    )
    assert "The winners of the salon" in preview["text"]
    assert await press(sandbox, PARTNER_ADMIN.user_id, preview, "Post") == "Posting…"
    again = await press(sandbox, PARTNER_ADMIN.user_id, shared, f"Announce from @{PARTNER_HANDLE}")
    assert "Check the text" in again
    second = await sandbox.telegram.wait_for(
        lambda: (
            found
            if (found := in_partner_group(sandbox, "announcement from"))
            and found["message_id"] != preview["message_id"]
            else None
        )
    )
    assert "already handled" in await press(sandbox, PARTNER_ADMIN.user_id, second, "Post")
    async with runtime.sessionmaker.begin() as session:
        posts = list(
            await session.scalars(select(Delivery).where(Delivery.kind == DeliveryKind.WINNERS))
        )
    [post] = posts
    assert post.partner_id == partner.id and post.origin_chat_id == PARTNER_CHAT_ID
    assert all(f"@{w}" in post.payload for w in winners)
    # On X once, from the partner's own account.
    await sandbox.telegram.wait_for(lambda: partner_posts(sandbox) or None)
    await settled(bot)
    [on_x] = [p for p in partner_posts(sandbox) if "The winners" in p["text"]]
    assert all(f"@{w}" in on_x["text"] for w in winners)
    assert not [p for p in sandbox.x.museum_posts() if "The winners" in p["text"]]


async def test_partner_button_is_refused_in_the_host_group(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    anna = MODERATOR.user_id
    await seat_partner(sandbox, bot)
    await connect_partner(sandbox)
    result, shared = await small_joint_draw(sandbox, bot)
    query = sandbox.telegram.user_presses(
        STAFF_CHAT_ID,
        anna,
        result["message_id"],
        buttons(shared)[f"Announce from @{PARTNER_HANDLE}"],
        forge=True,
    )
    await sandbox.telegram.wait_for(lambda: query in sandbox.telegram.callback_answers)
    assert "co-hosting museum" in sandbox.telegram.callback_answers[query]["text"] or (
        "соведущего" in sandbox.telegram.callback_answers[query]["text"]
    )
    async with bot.bot_data.sessionmaker.begin() as session:
        assert (
            list(await session.scalars(select(Delivery.id).where(Delivery.partner_id.is_not(None))))
            == []
        )


async def test_a_partner_not_connected_is_told_how_instead_of_a_button(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    await seat_partner(sandbox, bot)
    _result, shared = await small_joint_draw(sandbox, bot)
    assert "/partner connect" in shared["text"] and not buttons(shared)
    # A press made up for the button is refused with the same reason; nothing is queued.
    async with bot.bot_data.sessionmaker.begin() as session:
        draw_id = await session.scalar(select(Draw.id))
    assert draw_id is not None
    refusal = await press_data(
        sandbox, shared, pack(Action.PARTNER_DRAW_ANNOUNCE, draw_id), forge=True
    )
    assert "/partner connect" in refusal
    refusal = await press_data(sandbox, shared, pack(Action.PARTNER_DRAW_POST, draw_id), forge=True)
    assert "/partner connect" in refusal
    await settled(bot)
    async with bot.bot_data.sessionmaker.begin() as session:
        assert list(await session.scalars(select(Delivery.id))) == []
    assert not partner_posts(sandbox)


async def press_data(
    sandbox: Sandbox, message: dict[str, Any], data: str, *, forge: bool = False
) -> str:
    query = sandbox.telegram.user_presses(
        PARTNER_CHAT_ID, PARTNER_ADMIN.user_id, message["message_id"], data, forge=forge
    )
    await sandbox.telegram.wait_for(lambda: query in sandbox.telegram.callback_answers)
    return str(sandbox.telegram.callback_answers[query]["text"])
