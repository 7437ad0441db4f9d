"""A partner museum beside the sandbox's: its X account, its staff group and its people, set
up either through the /partner commands or written straight into the database."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.fernet import Fernet
from sqlalchemy import update

from opsbot.db.models import Partner, StaffMember
from opsbot.emulators.sandbox import MODERATOR, STAFF_CHAT_ID, Person, Sandbox
from opsbot.telegram.context import OpsbotApplication
from tests.integration.helpers import bot_messages, settled

PARTNER_HANDLE = "religionmuseum"
PARTNER_NAME = "Museum of the History of Religion"
PARTNER_CHAT_ID = -1001000000002
PARTNER_ADMIN = Person(3001, "Piotr", "piotr_religion", "en")
PARTNER_CURATOR = Person(3002, "Lena", "lena_religion", "en")
PARTNER_SIGNATURE = "— Piotr, MHR"
SECRET_KEY = Fernet.generate_key().decode()


def add_partner_people(sandbox: Sandbox, *, own_group: bool = True) -> dict[str, Any]:
    """The partner's account on X (returned) and its people; its own staff group, the bot not
    yet in it."""
    account = sandbox.x.add_user(PARTNER_HANDLE, PARTNER_NAME)
    telegram = sandbox.telegram
    for person in (PARTNER_ADMIN, PARTNER_CURATOR):
        telegram.add_user(
            person.user_id,
            person.first_name,
            username=person.username,
            language_code=person.language_code,
        )
    if own_group:
        telegram.add_group(PARTNER_CHAT_ID, "Religion museum staff")
        telegram.add_member(PARTNER_CHAT_ID, PARTNER_ADMIN.user_id, "creator")
        telegram.add_member(PARTNER_CHAT_ID, PARTNER_CURATOR.user_id, "member")
    return account


def partner_posts(sandbox: Sandbox) -> list[dict[str, Any]]:
    """What the partner's account has posted on X."""
    return sandbox.x._posts_of(sandbox.x.add_user(PARTNER_HANDLE)["id"])


async def says(sandbox: Sandbox, chat_id: int, after: int, pattern: str) -> dict[str, Any]:
    """The bot's first message in the chat after message `after` that matches `pattern`."""

    def found() -> dict[str, Any] | None:
        for m in sandbox.telegram.chat_view(chat_id):
            if m["from"]["is_bot"] and m["message_id"] > after and re.search(pattern, m["text"]):
                return m
        return None

    found.__name__ = f"bot_says_{pattern!r}_in_{chat_id}"
    return await sandbox.telegram.wait_for(found)  # type: ignore[no-any-return]


async def command(
    sandbox: Sandbox, chat_id: int, user_id: int, text: str, answer: str, **reply: int
) -> dict[str, Any]:
    sent = sandbox.telegram.user_sends(chat_id, user_id, text, **reply)
    return await says(sandbox, chat_id, sent["message_id"], answer)


async def add_partner(sandbox: Sandbox) -> None:
    add_partner_people(sandbox)
    await command(
        sandbox,
        STAFF_CHAT_ID,
        MODERATOR.user_id,
        f'/partner add @{PARTNER_HANDLE} "{PARTNER_NAME}" en Europe/Moscow',
        "Партнёр добавлен|Partner added",
    )


async def link_partner_group(sandbox: Sandbox) -> None:
    sandbox.telegram.add_bot_to_group(PARTNER_CHAT_ID, PARTNER_ADMIN.user_id)
    seen = max((m["message_id"] for m in bot_messages(sandbox)), default=0)
    await command(
        sandbox,
        PARTNER_CHAT_ID,
        PARTNER_ADMIN.user_id,
        f"/partner group @{PARTNER_HANDLE}",
        "Asked",
    )
    request = await says(sandbox, STAFF_CHAT_ID, seen, PARTNER_HANDLE)
    approve = next(
        data
        for row in request["reply_markup"]["inline_keyboard"]
        for button in row
        if (data := button["callback_data"]).startswith("v1:pa:")
    )
    query = sandbox.telegram.user_presses(
        STAFF_CHAT_ID, MODERATOR.user_id, request["message_id"], approve
    )
    await sandbox.telegram.wait_for(lambda: query in sandbox.telegram.callback_answers)
    await says(sandbox, PARTNER_CHAT_ID, 0, "now the staff group")


async def connect_partner(sandbox: Sandbox) -> tuple[str, str]:
    """/partner connect in private, the PIN from X back; the PIN and the link X gave."""
    admin = PARTNER_ADMIN.user_id
    link = await command(sandbox, admin, admin, "/partner connect", "oauth_token=")
    url = re.search(r"https://\S+", link["text"])
    assert url is not None
    token = parse_qs(urlsplit(url.group(0)).query)["oauth_token"][0]
    pin = sandbox.x.authorize(token, PARTNER_HANDLE)
    await command(sandbox, admin, admin, pin, "Connected")
    return pin, url.group(0)


async def start_cohosted_salon(sandbox: Sandbox, topic: str = "Feasts") -> dict[str, Any]:
    """The host's moderator starts a salon with the partner: its curators may then take what
    tags it."""
    return await command(
        sandbox,
        STAFF_CHAT_ID,
        MODERATOR.user_id,
        f'/start_salon "{topic}" 90m with @{PARTNER_HANDLE}',
        f"@{PARTNER_HANDLE}",
    )


async def seat_partner(
    sandbox: Sandbox,
    bot: OpsbotApplication,
    *,
    language: str = "en",
    timezone: str = "Europe/Berlin",
    followers: int | None = None,
    own_group: bool = True,
    staff: bool = True,
) -> Partner:
    """The partner as the /partner commands leave it, written straight into the database (for
    tests about what comes after): its row, its group with the bot in it, its administrator
    (signing) and curator, the curator with a private chat open (as after /start)."""
    account = add_partner_people(sandbox, own_group=own_group)
    if followers is not None:
        sandbox.x.set_followers(PARTNER_HANDLE, followers)
    async with bot.bot_data.sessionmaker.begin() as session:
        partner = Partner(
            handle=PARTNER_HANDLE,
            name=PARTNER_NAME,
            language=language,
            timezone=timezone,
            chat_id=PARTNER_CHAT_ID if own_group else None,
            x_user_id=account["id"],
        )
        session.add(partner)
        await session.flush()
        if staff:
            for person, signature in ((PARTNER_ADMIN, PARTNER_SIGNATURE), (PARTNER_CURATOR, None)):
                session.add(
                    StaffMember(
                        telegram_id=person.user_id,
                        first_name=person.first_name,
                        username=person.username,
                        telegram_language=person.language_code,
                        partner_id=partner.id,
                        signature=signature,
                    )
                )
            await session.flush()
            await session.execute(
                update(StaffMember)
                .where(StaffMember.telegram_id == PARTNER_CURATOR.user_id)
                .values(private_chat=True)
            )
    if own_group:
        sandbox.telegram.add_bot_to_group(PARTNER_CHAT_ID, PARTNER_ADMIN.user_id)
    # Telegram lets the bot write to the curator once she has started it.
    sandbox.telegram.user_starts_bot(PARTNER_CURATOR.user_id)
    await settled(bot)
    return partner
