"""A partner connects its X account with X's PIN flow; its curators' answers then go out from
its account, and its tokens are stored sealed and never logged."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import select, text

from opsbot.clock import ManualClock
from opsbot.db.models import Alert, Delivery, DeliveryFailure, DeliveryState, Question
from opsbot.emulators.sandbox import CURATOR_EN, MODERATOR, STAFF_CHAT_ID, Sandbox
from opsbot.secret_rotation import rotate
from opsbot.services.sealed import Sealer, new_key
from opsbot.telegram.context import OpsbotApplication
from tests.integration.helpers import (
    buttons,
    cards,
    message_by_id,
    next_read,
    press_and_wait,
    read_cards,
    settled,
    wait_for_cards,
    write_answer,
)
from tests.integration.partner_world import (
    PARTNER_ADMIN,
    PARTNER_CHAT_ID,
    PARTNER_HANDLE,
    SECRET_KEY,
    add_partner,
    command,
    connect_partner,
    link_partner_group,
    partner_posts,
    start_cohosted_salon,
)


@pytest.fixture
def bot_overrides() -> dict[str, Any]:
    return {"secret_key": SECRET_KEY}


async def mark_partner_curator(sandbox: Sandbox) -> None:
    said = sandbox.telegram.user_sends(STAFF_CHAT_ID, CURATOR_EN.user_id, "I answer for them")
    await command(
        sandbox,
        STAFF_CHAT_ID,
        MODERATOR.user_id,
        f"/partner staff @{PARTNER_HANDLE}",
        "отвечает за|now answers for",
        reply_to_message_id=said["message_id"],
    )


async def partner_answer_previewed(sandbox: Sandbox, question: str) -> dict[str, Any]:
    """The partner connected, a salon co-hosted with it, a visitor's question to it answered by
    its curator in the host's group: the preview."""
    await add_partner(sandbox)
    await link_partner_group(sandbox)
    await connect_partner(sandbox)
    await mark_partner_curator(sandbox)
    await start_cohosted_salon(sandbox)
    sandbox.x.visitor_posts("ivan", f"@{PARTNER_HANDLE} {question} #museumsalon")
    [card] = await wait_for_cards(sandbox, 1)
    return await write_answer(sandbox, CURATOR_EN.user_id, card, "An answer.")


async def test_pin_flow_connects_and_answers_go_out_from_the_partner(
    sandbox: Sandbox, bot: OpsbotApplication, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await add_partner(sandbox)
    await link_partner_group(sandbox)
    pin, _link = await connect_partner(sandbox)
    [token] = sandbox.x.access_tokens_of(PARTNER_HANDLE)
    secret = sandbox.x._access_tokens[token][0]

    runtime = bot.bot_data
    async with runtime.sessionmaker.begin() as session:
        row = (
            await session.execute(
                text("SELECT access_token, access_secret, x_user_id FROM partner")
            )
        ).one()
    raw = " ".join(str(value) for value in row)
    assert token not in raw and secret not in raw
    sealer = Sealer(SECRET_KEY)
    assert sealer.open(row[0]) == token and sealer.open(row[1]) == secret
    assert row[2] == sandbox.x.add_user(PARTNER_HANDLE)["id"]

    await mark_partner_curator(sandbox)
    await start_cohosted_salon(sandbox)
    question = sandbox.x.visitor_posts(
        "ivan", f"@{PARTNER_HANDLE} @museum What is a samovar doing here? #museumsalon"
    )
    [card] = await wait_for_cards(sandbox, 1)
    preview = await write_answer(sandbox, CURATOR_EN.user_id, card, "It warms the tea.")
    await press_and_wait(sandbox, CURATOR_EN.user_id, preview, "Post")
    await sandbox.telegram.wait_for(lambda: partner_posts(sandbox) or None)
    await settled(bot)
    [reply] = partner_posts(sandbox)
    assert reply["in_reply_to_tweet_id"] == question["id"]
    assert not [p for p in sandbox.x.museum_posts() if p.get("in_reply_to_tweet_id")]

    for secret_value in (token, secret, pin):
        assert secret_value not in caplog.text
        assert not any(secret_value in r.getMessage() for r in caplog.records)
    assert any(r.levelno == logging.DEBUG for r in caplog.records)


async def test_disconnect_deletes_the_tokens_and_a_queued_answer_fails_with_the_reason(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    preview = await partner_answer_previewed(sandbox, "@museum A question?")
    assert "Post" in buttons(preview)

    admin = PARTNER_ADMIN.user_id
    await command(sandbox, admin, admin, "/partner disconnect", "Disconnected")
    async with bot.bot_data.sessionmaker.begin() as session:
        row = (await session.execute(text("SELECT access_token, access_secret FROM partner"))).one()
    assert tuple(row) == (None, None)
    # The preview shown before still offers Post: the outbox refuses it with the reason.
    await press_and_wait(sandbox, CURATOR_EN.user_id, preview, "Post")
    await settled(bot)
    await sandbox.telegram.wait_for(
        lambda: (
            "has not let the bot post as its account"
            in message_by_id(sandbox, preview["message_id"])["text"]
        )
    )
    async with bot.bot_data.sessionmaker.begin() as session:
        failure = await session.scalar(select(Delivery.failure))
    assert failure == DeliveryFailure.NOT_CONNECTED
    assert not partner_posts(sandbox)


async def test_a_partners_moderator_asks_from_the_partners_account(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    await add_partner(sandbox)
    await link_partner_group(sandbox)
    await connect_partner(sandbox)
    await command(sandbox, STAFF_CHAT_ID, MODERATOR.user_id, "/start_salon Feasts", "Feasts")
    await settled(bot)
    told = await command(
        sandbox,
        PARTNER_CHAT_ID,
        PARTNER_ADMIN.user_id,
        "/ask How do you celebrate?",
        "Q1",
    )
    [prompt] = [p for p in partner_posts(sandbox) if p["text"].startswith("Q1")]
    assert "How do you celebrate?" in prompt["text"]
    assert f"{PARTNER_HANDLE}/status/{prompt['id']}" in told["text"]


async def test_connect_without_a_secret_key_is_refused(
    sandbox: Sandbox, bot: OpsbotApplication, bot_overrides: dict[str, Any]
) -> None:
    bot.bot_data.settings = bot.bot_data.settings.model_copy(update={"secret_key": None})
    await add_partner(sandbox)
    await link_partner_group(sandbox)
    admin = PARTNER_ADMIN.user_id
    await command(sandbox, admin, admin, "/partner connect", "OPSBOT_SECRET_KEY is not set")


async def test_rotating_the_key_reseals_the_stored_tokens(
    sandbox: Sandbox, bot: OpsbotApplication, database_url: str
) -> None:
    await add_partner(sandbox)
    await link_partner_group(sandbox)
    await connect_partner(sandbox)
    [token] = sandbox.x.access_tokens_of(PARTNER_HANDLE)
    newer = new_key()
    assert await rotate(database_url, f"{newer},{SECRET_KEY}") == 1
    async with bot.bot_data.sessionmaker.begin() as session:
        sealed = await session.scalar(text("SELECT access_token FROM partner"))
    assert Sealer(newer).open(sealed) == token


async def test_tokens_revoked_on_x_fail_the_partners_post_without_the_museums_alert(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    preview = await partner_answer_previewed(sandbox, "A question?")
    # The partner withdraws the app's access on X itself: X answers its tokens with 401.
    assert sandbox.x.revoke_access(PARTNER_HANDLE) == 1
    await press_and_wait(sandbox, CURATOR_EN.user_id, preview, "Post")
    await sandbox.telegram.wait_for(
        lambda: (
            "/partner connect" in message_by_id(sandbox, preview["message_id"])["text"]
            and "no longer accepts" in message_by_id(sandbox, preview["message_id"])["text"]
        )
    )
    await settled(bot)
    async with bot.bot_data.sessionmaker.begin() as session:
        delivery = await session.scalar(select(Delivery))
        alerts = list(await session.scalars(select(Alert).where(Alert.active.is_(True))))
    assert delivery is not None and delivery.failure == DeliveryFailure.PARTNER_REVOKED
    assert delivery.state == DeliveryState.FAILED
    # The museum's own keys are fine: no alert about them, and the museum posts on.
    assert alerts == []
    assert not partner_posts(sandbox)


async def test_the_partners_own_posts_are_no_questions(
    sandbox: Sandbox, bot: OpsbotApplication, clock: ManualClock
) -> None:
    """The prompts the bot posts from the partner's account, and the partner tagging the
    museum, come back in the reads of X: while the salon is co-hosted they are no questions."""
    await add_partner(sandbox)
    await link_partner_group(sandbox)
    await connect_partner(sandbox)
    await start_cohosted_salon(sandbox)
    await command(
        sandbox, PARTNER_CHAT_ID, PARTNER_ADMIN.user_id, "/ask How do you celebrate?", "Q1"
    )
    [prompt] = [p for p in partner_posts(sandbox) if p["text"].startswith("Q1")]
    assert "#museumsalon" in prompt["text"]
    sandbox.x.visitor_posts(PARTNER_HANDLE, "@museum Glad to co-host with you! #museumsalon")
    asked = sandbox.x.visitor_posts("ivan", "@museum A question of a visitor? #museumsalon")
    [card] = await read_cards(bot, clock, sandbox, 1)
    for _read in range(2):
        await next_read(bot, clock)
    await settled(bot)
    assert asked["id"] in str(card["html"]) and len(cards(sandbox)) == 1
    async with bot.bot_data.sessionmaker.begin() as session:
        assert list(await session.scalars(select(Question.x_post_id))) == [asked["id"]]
