"""The Telegram emulator, driven by the real python-telegram-bot over HTTP.

Answers are also checked against the Bot API description in shared/specs: only fields the spec
knows, required ones present, the right types. Without shared/ the behaviour tests still run,
their shape checks do nothing, and the test of the checker itself skips to say so.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

# The opt-in python-telegram-bot asks for; without it reading RetryAfter.retry_after warns.
os.environ.setdefault("PTB_TIMEDELTA", "true")

import aiohttp
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeChatAdministrators,
    BotCommandScopeChatMember,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyParameters,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)

from opsbot.emulators.base import Fault
from opsbot.emulators.telegram import TelegramEmulator
from opsbot.emulators.telegram import formatting as th

TOKEN = "7000000001:AAtest-token-only-the-emulator-knows"
BOT_ID = 7000000001
STAFF = -1001234567890
ANNA, BORIS, VERA = 101, 102, 103

REPO = Path(__file__).resolve().parents[2]
SPEC_FILE = REPO / ".." / "shared" / "specs" / "telegram-bot-api.min.json"


class Clock:
    """A clock the test moves by hand, so rate windows and timeouts take no real time."""

    def __init__(self) -> None:
        self.now = 1_760_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def spec_document() -> dict[str, Any] | None:
    if not SPEC_FILE.exists():
        return None
    return json.loads(SPEC_FILE.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@pytest.fixture
def spec(spec_document: dict[str, Any] | None) -> dict[str, Any]:
    if spec_document is None:
        pytest.skip(f"{SPEC_FILE} is absent: the Bot API spec lives in shared/ beside the repo")
    return spec_document


@pytest.fixture
def shapes(spec_document: dict[str, Any] | None) -> Shapes:
    return Shapes(spec_document)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {}


@pytest.fixture
async def emu(clock: Clock, emulator_options: dict[str, Any]) -> AsyncIterator[TelegramEmulator]:
    options: dict[str, Any] = {"group_limit": (20, 60.0), "global_limit": (30, 1.0)}
    options.update(emulator_options)
    emulator = TelegramEmulator(token=TOKEN, clock=clock, **options)
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


@pytest.fixture
async def bot(emu: TelegramEmulator) -> AsyncIterator[Bot]:
    client = Bot(TOKEN, base_url=f"{emu.base_url}/bot", base_file_url=f"{emu.base_url}/file/bot")
    async with client:
        yield client


def staff_world(
    emu: TelegramEmulator, *, forum: bool = False, bot_status: str = "administrator"
) -> None:
    emu.add_user(ANNA, "Anna", username="anna_moderator")
    emu.add_user(BORIS, "Boris", username="boris_curator", language_code="en")
    emu.add_user(VERA, "Vera", language_code="ru")
    emu.add_group(STAFF, "Museum staff", forum=forum)
    emu.add_member(STAFF, ANNA, "creator")
    emu.add_member(STAFF, BORIS)
    emu.add_member(STAFF, VERA)
    emu.add_bot_to_group(STAFF, ANNA, status=bot_status)


async def drain(bot: Bot) -> int:
    """Confirm every pending update; returns the next offset."""
    updates = await bot.get_updates(timeout=0)
    offset = updates[-1].update_id + 1 if updates else 0
    if updates:
        await bot.get_updates(offset=offset, timeout=0)
    return offset


async def raw(
    emu: TelegramEmulator, method: str, token: str = TOKEN, **params: Any
) -> tuple[int, Any]:
    """One Bot API call as JSON, to see exactly what Telegram would put on the wire."""
    url = f"{emu.base_url}/bot{token}/{method}"
    async with aiohttp.ClientSession() as session, session.post(url, json=params) as response:
        return response.status, await response.json()


async def control(emu: TelegramEmulator, verb: str, path: str, body: Any = None) -> tuple[int, Any]:
    url = f"{emu.base_url}/control/{path}"
    async with (
        aiohttp.ClientSession() as session,
        session.request(verb, url, json=body) as response,
    ):
        return response.status, await response.json()


# --- checking shapes against the spec -----------------------------------------------------------


def _constants(description: str) -> list[Any] | None:
    if match := re.search(r'always "([^"]+)"', description):
        return [match.group(1)]
    if match := re.match(r"Always (\d+)\.", description):
        return [int(match.group(1))]
    if match := re.search(r"must be (\w+)$", description):
        return [match.group(1)]
    if re.search(r'[Cc]an be (?:either )?"', description):
        return re.findall(r'"([^"]+)"', description)
    return None


def shape_problems(spec: dict[str, Any], types: list[str], value: Any, path: str) -> list[str]:
    """Why `value` is none of `types`; empty when it is one of them."""
    attempts = []
    for name in types:
        found = _type_problems(spec, name, value, path)
        if not found:
            return []
        attempts.append(found)
    return min(attempts, key=len)


def _type_problems(spec: dict[str, Any], name: str, value: Any, path: str) -> list[str]:
    if name.startswith("Array of "):
        if not isinstance(value, list):
            return [f"{path}: {name} expected, got {value!r}"]
        found: list[str] = []
        for index, item in enumerate(value):
            found += shape_problems(
                spec, [name.removeprefix("Array of ")], item, f"{path}[{index}]"
            )
        return found
    scalar = {
        "Integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "Float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "String": lambda v: isinstance(v, str),
        "Boolean": lambda v: isinstance(v, bool),
        "True": lambda v: v is True,
    }
    if name in scalar:
        return [] if scalar[name](value) else [f"{path}: {name} expected, got {value!r}"]
    kind = spec["types"].get(name)
    if kind is None:
        return [f"{path}: the spec has no type {name}"]
    if kind.get("subtypes"):
        return shape_problems(spec, kind["subtypes"], value, path)
    if not isinstance(value, dict):
        return [f"{path}: object {name} expected, got {value!r}"]
    fields = {f["name"]: f for f in kind.get("fields", [])}
    found = [f"{path}.{key}: not a field of {name}" for key in value if key not in fields]
    for field_name, field in fields.items():
        if field_name not in value:
            if field["required"]:
                found.append(f"{path}.{field_name}: required by {name}, missing")
            continue
        found += shape_problems(spec, field["types"], value[field_name], f"{path}.{field_name}")
        allowed = _constants(field["description"])
        if allowed is not None and value[field_name] not in allowed:
            found.append(f"{path}.{field_name}: {value[field_name]!r} is not one of {allowed}")
    return found


class Shapes:
    """Checks Bot API answers against the spec, when the spec is there."""

    def __init__(self, spec: dict[str, Any] | None) -> None:
        self.spec = spec

    def result(self, method: str, body: Any) -> None:
        assert body["ok"] is True, body
        if self.spec is None:
            return
        returns = self.spec["methods"][method]["returns"]
        problems = shape_problems(self.spec, returns, body["result"], method)
        assert not problems, "\n".join(problems)


def test_the_shape_checker_rejects_what_telegram_never_sends(spec: dict[str, Any]) -> None:
    user = {"id": 1, "is_bot": False, "first_name": "Anna"}
    assert shape_problems(spec, ["User"], user, "User") == []
    assert shape_problems(spec, ["User"], {**user, "nickname": "a"}, "User") == [
        "User.nickname: not a field of User"
    ]
    assert shape_problems(spec, ["User"], {"id": 1, "is_bot": False}, "User") == [
        "User.first_name: required by User, missing"
    ]
    assert shape_problems(spec, ["User"], {**user, "id": "1"}, "User") == [
        "User.id: Integer expected, got '1'"
    ]
    chat = {"id": -1, "type": "megagroup", "title": "x"}
    assert shape_problems(spec, ["Chat"], chat, "Chat") == [
        "Chat.type: 'megagroup' is not one of ['private', 'group', 'supergroup', 'channel']"
    ]
    # A member is one of the ChatMember kinds, told apart by its status.
    assert shape_problems(spec, ["ChatMember"], {"status": "left", "user": user}, "M") == []
    assert shape_problems(spec, ["ChatMember"], {"status": "gone", "user": user}, "M") != []


# --- the HTML parse mode ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "description"),
    [
        ("<script>alert(1)</script>", 'Unsupported start tag "script" at byte offset 0'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<b>unclosed", 'Can\'t find end tag corresponding to start tag "b"'),
        (
            "<b><i>test</b></i>",
            'Unmatched end tag at byte offset 10, expected "</i>", found "</b>"',
        ),
        ("</b>", "Unexpected end tag at byte offset 0"),
        ("x <b", "Unclosed start tag at byte offset 2"),
        ("<span>s</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<a href=https://x.org>x</a>", "Unexpected end of name token at byte offset 8"),
        (
            '<tg-emoji emoji-id="9999999999999999999">x</tg-emoji>',
            "Invalid custom emoji identifier specified",
        ),
        ("Ж <i>", 'Can\'t find end tag corresponding to start tag "i"'),
        ("Жук <x>", 'Unsupported start tag "x" at byte offset 7'),
    ],
)
def test_html_errors_carry_telegrams_words_and_byte_offsets(source: str, description: str) -> None:
    with pytest.raises(th.ParseError) as caught:
        th.parse_html(source)
    assert caught.value.description == f"Bad Request: can't parse entities: {description}"


def test_html_ampersands_are_kept_literally_unless_they_form_a_known_entity() -> None:
    text, entities = th.parse_html("AT&T &nbsp; &lt;b&gt; &amp;amp; &#128512; &#x41;&quot")
    assert text == 'AT&T &nbsp; <b> &amp; 😀 A"'
    assert entities == []


def test_html_entities_use_utf16_offsets_and_telegrams_shapes() -> None:
    source = (
        '😀 <b>жирный <i>both</i></b> <a href="https://shm.ru">музей</a> '
        '<pre><code class="language-python">x = 1</code></pre> <tg-spoiler>s</tg-spoiler> '
        "<blockquote expandable>q</blockquote>"
    )
    text, entities = th.normalize(*th.parse_html(source))
    assert text == "😀 жирный both музей x = 1 s q"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 11},
        {"type": "italic", "offset": 10, "length": 4},
        {"type": "text_link", "offset": 15, "length": 5, "url": "https://shm.ru/"},
        {"type": "pre", "offset": 21, "length": 5, "language": "python"},
        {"type": "spoiler", "offset": 27, "length": 1},
        {"type": "expandable_blockquote", "offset": 29, "length": 1},
    ]
    # Rendering back gives HTML that parses to the same message.
    assert th.normalize(*th.parse_html(th.entities_to_html(text, entities))) == (text, entities)


def test_normalize_trims_and_merges_like_tdlib() -> None:
    assert th.normalize(*th.parse_html("  \n<b>a</b><b>b</b> \n ")) == (
        "ab",
        [{"type": "bold", "offset": 0, "length": 2}],
    )
    with pytest.raises(th.TextError, match="Text must be non-empty"):
        th.normalize(" \n ", [])
    with pytest.raises(
        th.TextError, match="Entity begins after the end of the text at UTF-16 offset 100"
    ):
        th.normalize("hello", [{"type": "bold", "offset": 100, "length": 1}])


def test_auto_entities_match_telegrams() -> None:
    text = (
        "/start_salon@opsbot_test_bot Зал №1 #музейнаягостиная @museum_guide "
        "https://shm.ru/x. a@b.com"
    )
    found = {
        (e["type"], text[e["offset"] : e["offset"] + e["length"]])
        for e in th.find_auto_entities(text)
    }
    assert found == {
        ("bot_command", "/start_salon@opsbot_test_bot"),
        ("hashtag", "#музейнаягостиная"),
        ("mention", "@museum_guide"),
        ("url", "https://shm.ru/x"),
        ("email", "a@b.com"),
    }


# --- the basics ---------------------------------------------------------------------------------


async def test_get_me_is_a_spec_user_and_the_token_is_checked(
    emu: TelegramEmulator, bot: Bot, shapes: Shapes
) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (BOT_ID, "opsbot_test_bot", True)
    status, body = await raw(emu, "getMe")
    assert status == 200
    shapes.result("getMe", body)

    status, body = await raw(emu, "getMe", token="7000000001:wrong")
    assert (status, body) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    status, body = await raw(emu, "getMe", token="not-a-token")
    assert status == 404
    status, body = await raw(emu, "sendRocket")
    assert (status, body["description"]) == (404, "Not Found")
    intruder = Bot("7000000001:wrong", base_url=f"{emu.base_url}/bot")
    with pytest.raises(InvalidToken):
        async with intruder:
            pass
    # The token never reaches the request log nor anything printed about the emulator.
    assert TOKEN not in repr(emu)
    assert all(TOKEN not in json.dumps(r.params) for r in emu.requests)


async def test_method_names_ignore_case_and_parameters_come_any_way(emu: TelegramEmulator) -> None:
    staff_world(emu)
    async with aiohttp.ClientSession() as session:
        url = f"{emu.base_url}/bot{TOKEN}"
        async with session.get(f"{url}/GETME") as response:
            assert (await response.json())["result"]["id"] == BOT_ID
        async with session.get(f"{url}/sendmessage?chat_id={STAFF}&text=query") as response:
            assert (await response.json())["result"]["text"] == "query"
        form = {
            "chat_id": str(STAFF),
            "text": "form",
            "reply_markup": '{"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]}',
        }
        async with session.post(f"{url}/sendMessage", data=form) as response:
            assert (await response.json())["result"]["reply_markup"]["inline_keyboard"][0][0][
                "callback_data"
            ] == "b"
        async with session.post(
            f"{url}/sendMessage", json={"chat_id": STAFF, "text": "json"}
        ) as response:
            assert (await response.json())["result"]["text"] == "json"
    assert [m["text"] for m in emu.chat_view(STAFF)][1:] == ["query", "form", "json"]
    assert [r.endpoint for r in emu.requests] == [
        "getMe",
        "sendMessage",
        "sendMessage",
        "sendMessage",
    ]


async def test_the_bot_added_to_a_group_hears_my_chat_member_then_the_service_message(
    emu: TelegramEmulator, bot: Bot, shapes: Shapes
) -> None:
    staff_world(emu)
    status, body = await raw(emu, "getUpdates")
    assert status == 200
    shapes.result("getUpdates", body)
    kinds = [next(k for k in update if k != "update_id") for update in body["result"]]
    assert kinds == ["my_chat_member", "message"]
    updates = await bot.get_updates()
    assert updates[0].my_chat_member.new_chat_member.status == "administrator"
    assert updates[0].my_chat_member.old_chat_member.status == "left"
    assert updates[1].message.new_chat_members[0].id == BOT_ID
    assert updates[0].update_id + 1 == updates[1].update_id
    assert emu.chat_view(STAFF)[0]["text"] == "Anna added Opsbot"


async def test_a_message_to_the_group_is_spec_shaped_and_seen_by_people(
    emu: TelegramEmulator, bot: Bot, shapes: Shapes
) -> None:
    staff_world(emu)
    status, body = await raw(
        emu,
        "sendMessage",
        chat_id=STAFF,
        text="<b>Вопрос</b> от @ivan &amp; #museumsalon",
        parse_mode="HTML",
    )
    assert status == 200
    shapes.result("sendMessage", body)
    assert body["result"]["text"] == "Вопрос от @ivan & #museumsalon"
    assert [e["type"] for e in body["result"]["entities"]] == ["bold", "mention", "hashtag"]
    sent = await bot.send_message(STAFF, "Plain <b> text, no parse mode")
    assert sent.text == "Plain <b> text, no parse mode"
    view = emu.chat_view(STAFF)
    assert view[1]["html"] == "<b>Вопрос</b> от @ivan &amp; #museumsalon"
    assert view[2]["from"]["id"] == BOT_ID and view[2]["text"] == sent.text


async def test_where_the_bot_may_write(emu: TelegramEmulator, bot: Bot) -> None:
    emu.add_user(ANNA, "Anna")
    emu.add_group(STAFF, "Museum staff")
    emu.add_member(STAFF, ANNA, "creator")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(STAFF, "never a member")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(555, "nobody")
    with pytest.raises(Forbidden, match="bot can't initiate conversation with a user"):
        await bot.send_message(ANNA, "hello?")
    emu.user_sends(ANNA, ANNA, "/start")
    assert (await bot.send_message(ANNA, "hello")).chat.type == "private"
    emu.user_blocks_bot(ANNA)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(ANNA, "still there?")
    emu.add_bot_to_group(STAFF, ANNA, status="member")
    emu.remove_bot_from_group(STAFF, ANNA)
    with pytest.raises(Forbidden, match="bot was kicked from the supergroup chat"):
        await bot.send_message(STAFF, "let me in")
    emu.add_member(STAFF, BOT_ID, "left")
    with pytest.raises(Forbidden, match="bot is not a member of the supergroup chat"):
        await bot.send_message(STAFF, "let me in")
    with pytest.raises(BadRequest, match="Chat_id is empty"):
        await bot.send_message("", "to whom?")


async def test_user_messages_carry_entities_and_privacy_mode_filters_them(
    emu: TelegramEmulator, bot: Bot
) -> None:
    staff_world(emu, bot_status="member")
    await drain(bot)
    command = emu.user_sends(
        STAFF,
        ANNA,
        "/start_salon@opsbot_test_bot Зал №1 #museumsalon @boris_curator https://shm.ru",
    )
    assert [(e["type"], e["offset"], e["length"]) for e in command["entities"]] == [
        ("bot_command", 0, 28),
        ("hashtag", 36, 12),
        ("mention", 49, 14),
        ("url", 64, 14),
    ]
    emu.user_sends(STAFF, BORIS, "just chatting")
    emu.user_sends(STAFF, BORIS, "/draw@some_other_bot")
    mine = await bot.send_message(STAFF, "Reply to me")
    emu.user_sends(STAFF, VERA, "a reply", reply_to_message_id=mine.message_id)
    updates = await bot.get_updates(timeout=0)
    assert [u.message.text for u in updates] == [command["text"], "a reply"]
    assert updates[0].message.entities[0].type == "bot_command"
    assert updates[0].message.from_user.language_code == "ru"


async def test_long_polling_returns_as_soon_as_someone_writes(
    emu: TelegramEmulator, bot: Bot
) -> None:
    staff_world(emu)
    offset = await drain(bot)
    poll = asyncio.create_task(bot.get_updates(offset=offset, timeout=5))
    await asyncio.sleep(0.1)
    assert not poll.done()
    started = time.monotonic()
    emu.user_sends(STAFF, BORIS, "Когда начинаем?")
    updates = await poll
    assert time.monotonic() - started < 0.5
    assert [u.message.text for u in updates] == ["Когда начинаем?"]


async def test_a_second_poller_terminates_the_first_with_conflict(
    emu: TelegramEmulator, bot: Bot
) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=3))
    await asyncio.sleep(0.1)
    other = Bot(TOKEN, base_url=f"{emu.base_url}/bot")
    async with other:
        # A call that does not wait leaves the pending long poll alone.
        assert await other.get_updates(timeout=0) == ()
        assert not first.done()
        second = asyncio.create_task(other.get_updates(timeout=3))
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await first
        emu.add_user(ANNA, "Anna")
        emu.user_sends(ANNA, ANNA, "hi")
        assert [u.message.text for u in await second] == ["hi"]


async def test_offset_confirms_updates_and_allowed_updates_filters_new_ones(
    emu: TelegramEmulator, bot: Bot, clock: Clock
) -> None:
    staff_world(emu)
    updates = await bot.get_updates(allowed_updates=["message"])
    assert len(updates) == 2  # queued before the filter was set, so still delivered
    assert len(await bot.get_updates()) == 2  # not confirmed yet
    last = updates[-1].update_id
    assert await bot.get_updates(offset=last + 1) == ()
    sent = await bot.send_message(
        STAFF,
        "press",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="x")]]),
    )
    emu.user_presses(STAFF, BORIS, sent.message_id, "x")
    emu.user_sends(STAFF, BORIS, "text")
    fresh = await bot.get_updates(offset=last + 1)
    assert [u.message.text for u in fresh] == ["text"]
    assert fresh[0].update_id == last + 1
    # Telegram keeps unconfirmed updates for 24 hours only.
    emu.user_sends(STAFF, BORIS, "old")
    clock.advance(24 * 3600 + 1)
    assert await bot.get_updates(offset=fresh[-1].update_id + 1) == ()


async def test_force_reply_and_the_reply_that_quotes_the_bot(
    emu: TelegramEmulator, bot: Bot, shapes: Shapes
) -> None:
    staff_world(emu)
    offset = await drain(bot)
    prompt = await bot.send_message(
        STAFF,
        "Ваш ответ?",
        reply_markup=ForceReply(selective=True, input_field_placeholder="Ответ на вопрос"),
    )
    assert prompt.reply_markup is None  # a Message only ever carries an inline keyboard
    seen = emu.chat_view(STAFF)[-1]
    assert seen["reply_markup"] == {
        "force_reply": True,
        "selective": True,
        "input_field_placeholder": "Ответ на вопрос",
    }
    emu.user_sends(STAFF, BORIS, "Это было в 1872 году", reply_to_message_id=prompt.message_id)
    _, body = await raw(emu, "getUpdates", offset=offset)
    shapes.result("getUpdates", body)
    message = body["result"][0]["message"]
    assert message["reply_to_message"]["text"] == "Ваш ответ?"
    assert message["reply_to_message"]["from"]["id"] == BOT_ID
    assert (
        message["message_thread_id"] == prompt.message_id
    )  # replies in a supergroup form a thread
    assert emu.chat_view(STAFF)[-1]["reply_to_message_id"] == prompt.message_id


async def test_a_chat_read_from_a_message_on_with_the_moment_each_was_stored(
    emu: TelegramEmulator, bot: Bot, clock: Clock
) -> None:
    staff_world(emu)
    first = await bot.send_message(STAFF, "Первый")
    clock.advance(0.25)
    second = await bot.send_message(STAFF, "Второй")

    later = emu.chat_view(STAFF, after=first.message_id)

    assert [m["message_id"] for m in later] == [second.message_id]
    assert later[0]["sent_at"] == clock.now
    assert emu.chat_view(STAFF)[-2]["sent_at"] == clock.now - 0.25
    assert emu.chat_view(STAFF, after=second.message_id) == []


async def test_a_button_press_round_trip(emu: TelegramEmulator, bot: Bot, shapes: Shapes) -> None:
    staff_world(emu)
    offset = await drain(bot)
    card = await bot.send_message(
        STAFF,
        "Вопрос №1",
        reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton("Взять", callback_data="v1:tk:1")]]
        ),
    )
    query_id = emu.user_presses(STAFF, BORIS, card.message_id, "v1:tk:1")
    _, body = await raw(emu, "getUpdates", offset=offset)
    shapes.result("getUpdates", body)
    [update] = await bot.get_updates(offset=offset)
    press = update.callback_query
    assert (press.id, press.data, press.from_user.id, press.message.message_id) == (
        query_id,
        "v1:tk:1",
        BORIS,
        card.message_id,
    )
    assert await press.answer("Вопрос ваш", show_alert=True)
    assert emu.callback_answers[query_id]["text"] == "Вопрос ваш"
    assert emu.callback_answers[query_id]["show_alert"] is True
    with pytest.raises(BadRequest, match="Query is too old and response timeout expired"):
        await press.answer("again")
    with pytest.raises(ValueError, match="no button"):
        emu.user_presses(STAFF, BORIS, card.message_id, "v1:tk:2")
    forged = emu.user_presses(STAFF, BORIS, card.message_id, "v1:tk:2", forge=True)
    assert forged != query_id


async def test_an_answer_after_the_callback_timeout_is_too_late(
    emu: TelegramEmulator, bot: Bot, clock: Clock
) -> None:
    staff_world(emu)
    card = await bot.send_message(
        STAFF,
        "q",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="ok")]]),
    )
    query_id = emu.user_presses(STAFF, BORIS, card.message_id, "ok")
    clock.advance(15.5)
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(query_id)
    assert query_id not in emu.callback_answers


async def test_callback_answers_are_at_most_200_characters(emu: TelegramEmulator, bot: Bot) -> None:
    staff_world(emu)
    card = await bot.send_message(
        STAFF,
        "q",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="ok")]]),
    )
    query_id = emu.user_presses(STAFF, BORIS, card.message_id, "ok")
    status, body = await raw(emu, "answerCallbackQuery", callback_query_id=query_id, text="я" * 201)
    assert (status, body["description"]) == (400, "Bad Request: MESSAGE_TOO_LONG")
    assert await bot.answer_callback_query(query_id, text="я" * 200)


@pytest.mark.parametrize(
    ("payload", "valid"),
    [
        ("a123_x-Y", True),
        ("x" * 64, True),
        ("", False),
        ("x" * 65, False),
        ("привет", False),
        ("a١٢", False),
        ("a b", False),
        ("a+b", False),
    ],
)
async def test_a_callback_answer_url_is_a_deep_link_telegram_would_open(
    emu: TelegramEmulator, bot: Bot, payload: str, valid: bool
) -> None:
    staff_world(emu)
    card = await bot.send_message(
        STAFF,
        "q",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="ok")]]),
    )
    query_id = emu.user_presses(STAFF, BORIS, card.message_id, "ok")
    url = f"https://t.me/{emu.bot_username}?start={payload}"
    if valid:
        assert await bot.answer_callback_query(query_id, url=url)
        assert emu.callback_answers[query_id]["url"] == url
    else:
        status, body = await raw(emu, "answerCallbackQuery", callback_query_id=query_id, url=url)
        assert (status, body["description"]) == (400, "Bad Request: URL_INVALID")
        assert query_id not in emu.callback_answers


async def test_callback_data_is_one_to_64_bytes(emu: TelegramEmulator, bot: Bot) -> None:
    staff_world(emu)

    def keyboard(data: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton("b", callback_data=data)]])

    await bot.send_message(STAFF, "ascii", reply_markup=keyboard("x" * 64))
    await bot.send_message(STAFF, "cyrillic", reply_markup=keyboard("ж" * 32))
    for data in ("x" * 65, "ж" * 33):
        with pytest.raises(BadRequest, match="Button_data_invalid"):
            await bot.send_message(STAFF, "too long", reply_markup=keyboard(data))
    _, body = await raw(
        emu,
        "sendMessage",
        chat_id=STAFF,
        text="t",
        reply_markup={"inline_keyboard": [[{"text": "b", "callback_data": ""}]]},
    )
    assert (
        body["description"] == "Bad Request: can't parse inline keyboard button: "
        "Text buttons are unallowed in the inline keyboard"
    )
    assert [m["text"] for m in emu.chat_view(STAFF)][1:] == ["ascii", "cyrillic"]


@pytest.mark.parametrize(
    ("url", "description"),
    [
        (
            "http://localhost:8080/x",
            "inline keyboard button URL 'http://localhost:8080/x' is invalid: Wrong HTTP URL",
        ),
        (
            "ftp://example.com",
            "inline keyboard button URL 'ftp://example.com' is invalid: Unsupported URL protocol",
        ),
        ("not-a-url", "inline keyboard button URL 'not-a-url' is invalid: Wrong HTTP URL"),
    ],
)
async def test_url_buttons_must_point_to_the_public_web(
    emu: TelegramEmulator, url: str, description: str
) -> None:
    staff_world(emu)
    status, body = await raw(
        emu,
        "sendMessage",
        chat_id=STAFF,
        text="t",
        reply_markup={"inline_keyboard": [[{"text": "go", "url": url}]]},
    )
    assert (status, body["description"]) == (400, f"Bad Request: {description}")


async def test_keyboards_have_at_most_100_buttons(emu: TelegramEmulator) -> None:
    staff_world(emu)
    row = [{"text": str(i), "url": "https://x.com/museum"} for i in range(101)]
    _, body = await raw(
        emu, "sendMessage", chat_id=STAFF, text="t", reply_markup={"inline_keyboard": [row]}
    )
    assert body["description"] == "Bad Request: reply markup is too long"
    status, body = await raw(
        emu, "sendMessage", chat_id=STAFF, text="t", reply_markup={"inline_keyboard": [row[:100]]}
    )
    assert status == 200
    assert body["result"]["reply_markup"]["inline_keyboard"][0][0]["url"] == "https://x.com/museum"


async def test_edits_replace_text_drop_an_omitted_keyboard_and_refuse_no_change(
    emu: TelegramEmulator, bot: Bot, clock: Clock, shapes: Shapes
) -> None:
    staff_world(emu)
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Взять", callback_data="v1:tk:1")]])
    card = await bot.send_message(STAFF, "<b>Вопрос</b>", parse_mode="HTML", reply_markup=keyboard)
    clock.advance(5)
    edited = await bot.edit_message_text(
        "<b>Вопрос</b> — взял Борис",
        STAFF,
        card.message_id,
        parse_mode="HTML",
        reply_markup=keyboard,
    )
    assert edited.edit_date is not None and edited.reply_markup == keyboard
    with pytest.raises(BadRequest, match="Message is not modified: specified new message content"):
        await bot.edit_message_text(
            "<b>Вопрос</b> — взял Борис",
            STAFF,
            card.message_id,
            parse_mode="HTML",
            reply_markup=keyboard,
        )
    # Without reply_markup Telegram removes the keyboard, which is a change.
    _, body = await raw(
        emu,
        "editMessageText",
        chat_id=STAFF,
        message_id=card.message_id,
        text="<b>Вопрос</b> — взял Борис",
        parse_mode="HTML",
    )
    shapes.result("editMessageText", body)
    assert "reply_markup" not in body["result"]
    seen = emu.chat_view(STAFF)[-1]
    assert seen["edited"] and seen["edit_history"] == ["Вопрос", "Вопрос — взял Борис"]
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", STAFF, 999)
    user_message = emu.user_sends(STAFF, BORIS, "mine")
    with pytest.raises(BadRequest, match="Message can't be edited"):
        await bot.edit_message_text("x", STAFF, user_message["message_id"])


async def test_edit_reply_markup(emu: TelegramEmulator, bot: Bot) -> None:
    staff_world(emu)
    take = InlineKeyboardMarkup([[InlineKeyboardButton("Взять", callback_data="tk")]])
    release = InlineKeyboardMarkup([[InlineKeyboardButton("Отдать", callback_data="rl")]])
    card = await bot.send_message(STAFF, "q", reply_markup=take)
    assert (
        await bot.edit_message_reply_markup(STAFF, card.message_id, reply_markup=release)
    ).reply_markup == release
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(STAFF, card.message_id, reply_markup=release)
    cleared = await bot.edit_message_reply_markup(
        STAFF, card.message_id, reply_markup=InlineKeyboardMarkup([])
    )
    assert cleared.reply_markup is None
    assert emu.chat_view(STAFF)[-1]["reply_markup"] is None


async def test_text_limit_is_4096_characters_after_parsing(emu: TelegramEmulator, bot: Bot) -> None:
    staff_world(emu)
    assert len((await bot.send_message(STAFF, "x" * 4096)).text) == 4096
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(STAFF, "x" * 4097)
    # Markup and entities do not count; characters do, even those outside the BMP.
    assert (
        len((await bot.send_message(STAFF, "<b>" + "&lt;" * 4096 + "</b>", parse_mode="HTML")).text)
        == 4096
    )
    assert len((await bot.send_message(STAFF, "😀" * 4096)).text) == 4096
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(STAFF, "😀" * 4097)
    # Trailing whitespace is trimmed before counting.
    assert (await bot.send_message(STAFF, "x" * 4096 + "   \n")).text == "x" * 4096
    _, body = await raw(emu, "sendMessage", chat_id=STAFF, text="")
    assert body["description"] == "Bad Request: message text is empty"
    _, body = await raw(emu, "sendMessage", chat_id=STAFF, text=" \n ")
    assert body["description"] == "Bad Request: text must be non-empty"


async def test_html_errors_reach_the_bot_as_bad_request(emu: TelegramEmulator, bot: Bot) -> None:
    staff_world(emu)
    status, body = await raw(
        emu, "sendMessage", chat_id=STAFF, text="<script>x</script>", parse_mode="HTML"
    )
    assert (status, body) == (
        400,
        {
            "ok": False,
            "error_code": 400,
            "description": "Bad Request: can't parse entities: "
            'Unsupported start tag "script" at byte offset 0',
        },
    )
    with pytest.raises(BadRequest, match="Can't parse entities: unsupported start tag"):
        await bot.send_message(STAFF, "Вопрос: 2 < 3?", parse_mode="HTML")
    _, body = await raw(emu, "sendMessage", chat_id=STAFF, text="x", parse_mode="Markdown2")
    assert body["description"] == "Bad Request: unsupported parse_mode"
    _, body = await raw(
        emu,
        "sendMessage",
        chat_id=STAFF,
        text="hello",
        entities=[{"type": "bold", "offset": 0, "length": 100}],
    )
    assert (
        body["description"]
        == "Bad Request: entity beginning at UTF-16 offset 0 ends after the end of the text "
        "at UTF-16 offset 100"
    )
    assert len(emu.chat_view(STAFF)) == 1


async def test_documents_upload_with_a_caption_of_at_most_1024(
    emu: TelegramEmulator, bot: Bot, shapes: Shapes
) -> None:
    staff_world(emu)
    report = "вопрос,ответ\n1,2\n".encode()
    sent = await bot.send_document(
        STAFF,
        report,
        filename="archive.csv",
        caption="<b>Архив</b> " + "я" * 1018,
        parse_mode="HTML",
    )
    assert sent.document.file_name == "archive.csv" and sent.document.file_size == len(report)
    assert len(sent.caption) == 1024
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.send_document(STAFF, report, filename="archive.csv", caption="я" * 1025)
    seen = emu.chat_view(STAFF)[-1]
    assert seen["document"]["content"] == report and seen["document"]["mime_type"] == "text/csv"
    assert seen["text"].startswith("Архив")
    downloaded = await (await bot.get_file(sent.document.file_id)).download_as_bytearray()
    assert bytes(downloaded) == report
    _, body = await raw(emu, "sendDocument", chat_id=STAFF, document=sent.document.file_id)
    shapes.result("sendDocument", body)
    _, body = await raw(emu, "sendDocument", chat_id=STAFF)
    assert body["description"] == "Bad Request: there is no document in the request"


@pytest.fixture
def small_limits(emulator_options: dict[str, Any]) -> None:
    emulator_options.update(group_limit=(3, 10.0), global_limit=(5, 1.0))


@pytest.mark.usefixtures("small_limits")
async def test_a_busy_group_gets_429_and_sending_during_retry_after_is_a_violation(
    emu: TelegramEmulator, bot: Bot, clock: Clock
) -> None:
    staff_world(emu)
    first = await bot.send_message(STAFF, "card 0")
    for n in (1, 2):
        clock.advance(1.0)
        await bot.send_message(STAFF, f"card {n}")
    clock.advance(1.0)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(STAFF, "card 3")
    # The window frees when the first card is 10 s old: 7 s from now.
    assert caught.value.retry_after == timedelta(seconds=7)
    assert emu.violations == []
    _, body = await raw(emu, "sendMessage", chat_id=STAFF, text="x")
    assert body == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7},
    }
    # Any counted call inside the pause is refused, even an edit that changes nothing.
    with pytest.raises(RetryAfter):
        await bot.edit_message_text("card 0", STAFF, first.message_id)
    assert len(emu.violations) == 2 and all("chat -1001234567890" in v for v in emu.violations)
    # The pause binds that chat only.
    emu.user_sends(ANNA, ANNA, "/start")
    await bot.send_message(ANNA, "private is another scope")
    clock.advance(7.0)
    await bot.send_message(STAFF, "card 3")
    assert len(emu.violations) == 2


@pytest.mark.usefixtures("small_limits")
async def test_the_global_limit_spans_all_chats(
    emu: TelegramEmulator, bot: Bot, clock: Clock
) -> None:
    for user in range(1, 8):
        emu.add_user(user, f"U{user}")
        emu.user_sends(user, user, "/start")
    for user in range(1, 6):
        await bot.send_message(user, "hi")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(6, "hi")
    assert caught.value.retry_after == timedelta(seconds=1)
    assert emu.violations == []
    clock.advance(1.0)
    await bot.send_message(7, "hi")


async def test_an_upgraded_group_answers_with_its_new_id(
    emu: TelegramEmulator, bot: Bot, shapes: Shapes
) -> None:
    basic = -4012345
    emu.add_user(ANNA, "Anna")
    emu.add_group(basic, "Staff (old)", supergroup=False)
    emu.add_member(basic, ANNA, "creator")
    emu.add_bot_to_group(basic, ANNA)
    offset = await drain(bot)
    new_id = emu.migrate_group(basic)
    assert str(new_id).startswith("-100")
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(basic, "still here?")
    assert caught.value.new_chat_id == new_id
    _, body = await raw(emu, "sendMessage", chat_id=basic, text="x")
    assert body["parameters"] == {"migrate_to_chat_id": new_id}
    _, body = await raw(emu, "getUpdates", offset=offset)
    shapes.result("getUpdates", body)
    notes = [u["message"] for u in body["result"]]
    assert notes[0]["migrate_to_chat_id"] == new_id and notes[0]["chat"]["id"] == basic
    assert notes[1]["migrate_from_chat_id"] == basic and notes[1]["chat"]["type"] == "supergroup"
    assert (await bot.send_message(new_id, "moved")).chat.id == new_id


async def test_injected_faults(emu: TelegramEmulator, bot: Bot, clock: Clock) -> None:
    staff_world(emu)
    emu.inject_fault(Fault(endpoint="sendMessage", status=500, count=2))
    for _ in range(2):
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.send_message(STAFF, "x")
    emu.inject_fault(Fault(endpoint="sendMessage", status=502))
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(STAFF, "x")
    emu.inject_fault(
        Fault(
            endpoint="sendMessage",
            status=400,
            description="Bad Request: chat not found",
            accept=True,
        )
    )
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(STAFF, "sent, but the answer was lost")
    assert emu.chat_view(STAFF)[-1]["text"] == "sent, but the answer was lost"
    emu.inject_fault(Fault(endpoint="sendMessage", status=429, retry_after=3))
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(STAFF, "x")
    assert caught.value.retry_after == timedelta(seconds=3)
    # A 429 binds the whole bot: an edit inside the pause is a violation and is refused.
    with pytest.raises(RetryAfter):
        await bot.edit_message_text("edited", STAFF, emu.chat_view(STAFF)[-1]["message_id"])
    assert len(emu.violations) == 1
    clock.advance(3)
    emu.inject_fault(Fault(endpoint=None, status=0, delay=0.2))
    started = time.monotonic()
    assert (await bot.get_me()).id == BOT_ID
    assert time.monotonic() - started >= 0.2
    assert [r.status for r in emu.requests if r.endpoint == "sendMessage"] == [
        500,
        500,
        502,
        400,
        429,
    ]


async def test_commands_per_scope_and_language(
    emu: TelegramEmulator, bot: Bot, shapes: Shapes
) -> None:
    staff_world(emu)
    ru = [BotCommand("start_salon", "Открыть гостиную"), BotCommand("draw", "Розыгрыш")]
    en = [BotCommand("start_salon", "Open the salon"), BotCommand("draw", "Draw the winners")]
    assert await bot.set_my_commands(ru, language_code="ru")
    assert await bot.set_my_commands(en, language_code="en")
    assert await bot.set_my_commands(en[:1], scope=BotCommandScopeChat(STAFF), language_code="en")
    assert await bot.get_my_commands(language_code="ru") == tuple(ru)
    assert await bot.get_my_commands() == ()
    assert set(emu.commands) == {("default", "ru"), ("default", "en"), (f"chat:{STAFF}", "en")}
    _, body = await raw(emu, "getMyCommands", language_code="en")
    shapes.result("getMyCommands", body)
    for command, description in (
        ("Start", "Bad Request: BOT_COMMAND_INVALID"),
        ("x" * 33, "Bad Request: BOT_COMMAND_INVALID"),
        ("", "Bad Request: command must be non-empty"),
    ):
        _, body = await raw(
            emu, "setMyCommands", commands=[{"command": command, "description": "d"}]
        )
        assert body["description"] == description
    _, body = await raw(emu, "setMyCommands", commands=[{"command": "ok", "description": ""}])
    assert body["description"] == "Bad Request: command description must be non-empty"
    _, body = await raw(emu, "setMyCommands", commands=[], scope={"type": "chat"})
    assert (
        body["description"]
        == "Bad Request: can't parse BotCommandScope: Can't find field \"chat_id\""
    )
    assert await bot.set_my_commands([], language_code="ru")
    assert ("default", "ru") not in emu.commands


async def test_menu_a_person_sees_follows_the_bot_api_order(
    emu: TelegramEmulator, bot: Bot, shapes: Shapes
) -> None:
    staff_world(emu)

    def menu(chat_id: int, user_id: int) -> list[tuple[str, str]]:
        return [(c["command"], c["description"]) for c in emu.menu_for(chat_id, user_id)]

    assert menu(STAFF, BORIS) == []
    assert await bot.set_my_commands([BotCommand("help", "Help")])
    assert await bot.set_my_commands([BotCommand("help", "Помощь")], language_code="ru")
    assert menu(STAFF, BORIS) == [("help", "Help")]
    assert menu(STAFF, VERA) == [("help", "Помощь")]
    queue, draw = BotCommand("queue", "The queue"), BotCommand("draw", "Draw")
    staff = BotCommandScopeChat(STAFF)
    admins = BotCommandScopeChatAdministrators(STAFF)
    assert await bot.set_my_commands([queue], scope=staff, language_code="en")
    assert await bot.set_my_commands([queue, draw], scope=admins)
    private = BotCommandScopeAllPrivateChats()
    assert await bot.set_my_commands([BotCommand("mine", "Mine")], scope=private)
    # Boris's English list for the group; Vera's Russian one is not set there, and the group's
    # list has no language-free fallback, so she gets the default in Russian.
    assert menu(STAFF, BORIS) == [("queue", "The queue")]
    assert menu(STAFF, VERA) == [("help", "Помощь")]
    assert menu(STAFF, ANNA) == [("queue", "The queue"), ("draw", "Draw")]
    assert menu(BORIS, BORIS) == [("mine", "Mine")]
    one = BotCommandScopeChatMember(STAFF, VERA)
    assert await bot.set_my_commands([draw], scope=one, language_code="ru")
    assert menu(STAFF, VERA) == [("draw", "Draw")]
    assert await bot.get_my_commands(scope=one, language_code="ru") == (draw,)
    assert await bot.delete_my_commands(scope=staff, language_code="en")
    assert menu(STAFF, BORIS) == [("help", "Help")]
    status, body = await raw(emu, "deleteMyCommands", scope={"type": "chat_administrators",
                                                             "chat_id": STAFF})  # fmt: skip
    assert status == 200 and body["result"] is True
    shapes.result("deleteMyCommands", body)
    assert menu(STAFF, ANNA) == [("help", "Помощь")]
    status, body = await control(emu, "GET", f"menu?chat_id={STAFF}&user_id={VERA}")
    assert status == 200 and body["result"] == [{"command": "draw", "description": "Draw"}]
    status, body = await control(emu, "GET", f"menu?chat_id={STAFF}")
    assert status == 400 and "user_id" in body["description"]


async def test_chat_and_member_answers_are_spec_shaped(
    emu: TelegramEmulator, shapes: Shapes
) -> None:
    staff_world(emu)
    emu.add_member(STAFF, VERA, "restricted")
    emu.add_user(999, "Stranger")
    emu.add_user(555, "Helper bot", is_bot=True)
    emu.add_member(STAFF, 555, "administrator")
    emu.user_sends(ANNA, ANNA, "/start")
    _, body = await raw(emu, "getChat", chat_id=STAFF)
    shapes.result("getChat", body)
    _, body = await raw(emu, "getChat", chat_id=ANNA)
    shapes.result("getChat", body)
    assert body["result"]["type"] == "private"
    statuses = {}
    for user in (ANNA, BORIS, VERA, 999, BOT_ID):
        _, body = await raw(emu, "getChatMember", chat_id=STAFF, user_id=user)
        shapes.result("getChatMember", body)
        statuses[user] = body["result"]["status"]
    assert statuses == {
        ANNA: "creator",
        BORIS: "member",
        VERA: "restricted",
        999: "left",
        BOT_ID: "administrator",
    }
    _, body = await raw(emu, "getChatAdministrators", chat_id=STAFF)
    shapes.result("getChatAdministrators", body)
    assert {m["user"]["id"] for m in body["result"]} == {ANNA, BOT_ID}
    _, body = await raw(emu, "getChatMember", chat_id=STAFF, user_id=123456789)
    assert body["description"] == "Bad Request: member not found"
    _, body = await raw(emu, "getChatMember", chat_id=STAFF)
    assert body["description"] == "Bad Request: invalid user_id specified"
    _, body = await raw(emu, "getWebhookInfo")
    shapes.result("getWebhookInfo", body)
    assert (await raw(emu, "deleteWebhook", drop_pending_updates=True))[1]["result"] is True
    assert (await raw(emu, "getWebhookInfo"))[1]["result"]["pending_update_count"] == 0


async def test_deleting_messages(emu: TelegramEmulator, bot: Bot) -> None:
    staff_world(emu)
    own = await bot.send_message(STAFF, "mine")
    theirs = emu.user_sends(STAFF, BORIS, "theirs")
    assert await bot.delete_message(STAFF, own.message_id)
    assert await bot.delete_message(STAFF, theirs["message_id"])
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(STAFF, own.message_id)
    assert [m["text"] for m in emu.chat_view(STAFF)] == ["Anna added Opsbot"]
    gone = [m for m in emu.chat_view(STAFF, include_deleted=True) if m["deleted"]]
    assert [m["text"] for m in gone] == ["mine", "theirs"]
    emu.add_member(STAFF, BOT_ID, "member")
    other = emu.user_sends(STAFF, VERA, "not yours")
    with pytest.raises(BadRequest, match="Message can't be deleted"):
        await bot.delete_message(STAFF, other["message_id"])


async def test_forum_topics(emu: TelegramEmulator, bot: Bot, shapes: Shapes) -> None:
    staff_world(emu, forum=True)
    offset = await drain(bot)
    _, body = await raw(emu, "createForumTopic", chat_id=STAFF, name="Вопрос от @ivan")
    shapes.result("createForumTopic", body)
    thread = body["result"]["message_thread_id"]
    topic = await bot.create_forum_topic(STAFF, "x" * 200)
    assert topic.name == "x" * 128
    sent = await bot.send_message(STAFF, "В теме", message_thread_id=thread)
    assert sent.message_thread_id == thread and sent.is_topic_message
    assert sent.reply_to_message.forum_topic_created.name == "Вопрос от @ivan"
    with pytest.raises(BadRequest, match="Message thread not found"):
        await bot.send_message(STAFF, "nowhere", message_thread_id=9999)
    emu.user_sends(STAFF, BORIS, "Отвечаю", message_thread_id=thread)
    _, body = await raw(emu, "getUpdates", offset=offset)
    shapes.result("getUpdates", body)
    message = body["result"][-1]["message"]
    assert message["is_topic_message"] is True and message["message_thread_id"] == thread
    assert [m["text"] for m in emu.chat_view(STAFF, thread_id=thread)] == [
        "Opsbot created the topic «Вопрос от @ivan»",
        "В теме",
        "Отвечаю",
    ]
    emu.add_group(-1009876543210, "Plain")
    emu.add_member(-1009876543210, ANNA, "creator")
    emu.add_bot_to_group(-1009876543210, ANNA)
    with pytest.raises(BadRequest, match="The chat is not a forum"):
        await bot.create_forum_topic(-1009876543210, "t")
    emu.add_member(STAFF, BOT_ID, "administrator", rights={"can_manage_topics": False})
    with pytest.raises(BadRequest, match="Not enough rights to create a topic"):
        await bot.create_forum_topic(STAFF, "t")


async def test_closed_and_deleted_topics(emu: TelegramEmulator, bot: Bot) -> None:
    staff_world(emu, forum=True)
    thread = emu.add_topic(STAFF, "Salon", by_user_id=ANNA)
    card = await bot.send_message(STAFF, "A card", message_thread_id=thread)
    offset = await drain(bot)
    emu.close_topic(STAFF, thread, by_user_id=ANNA)
    [update] = await bot.get_updates(offset=offset)
    assert update.message.forum_topic_closed is not None
    assert update.message.message_thread_id == thread
    # An administrator who manages topics still writes in a closed topic; others do not.
    await bot.send_message(STAFF, "Still here", message_thread_id=thread)
    with pytest.raises(ValueError, match="closed"):
        emu.user_sends(STAFF, BORIS, "Me too", message_thread_id=thread)
    emu.add_member(STAFF, BOT_ID, "administrator", rights={"can_manage_topics": False})
    with pytest.raises(BadRequest, match="Topic_closed"):  # PTB recapitalises it
        await bot.send_message(STAFF, "Refused", message_thread_id=thread)
    status, body = await raw(emu, "sendMessage", chat_id=STAFF, text="x", message_thread_id=thread)
    assert (status, body["description"]) == (400, "Bad Request: TOPIC_CLOSED")
    await bot.send_message(STAFF, "In General")
    emu.reopen_topic(STAFF, thread, by_user_id=ANNA)
    await bot.send_message(STAFF, "Open again", message_thread_id=thread)
    # Deleting a topic takes its messages with it.
    emu.delete_topic(STAFF, thread, by_user_id=ANNA)
    with pytest.raises(BadRequest, match="Message thread not found"):
        await bot.send_message(STAFF, "Gone", message_thread_id=thread)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("Edited", chat_id=STAFF, message_id=card.message_id)
    assert [m["text"] for m in emu.chat_view(STAFF)][-1] == "In General"


async def test_editing_someone_elses_message_is_refused(emu: TelegramEmulator, bot: Bot) -> None:
    staff_world(emu)
    theirs = emu.user_sends(STAFF, BORIS, "Mine")
    mine = await bot.send_message(STAFF, "The card")
    with pytest.raises(BadRequest, match="Message can't be edited"):
        await bot.edit_message_text("The card", chat_id=STAFF, message_id=theirs["message_id"])
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("The card", chat_id=STAFF, message_id=mine.message_id)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("The card", chat_id=STAFF, message_id=mine.message_id + 1)
    # Ids in a supergroup follow one another, whoever writes.
    assert mine.message_id == theirs["message_id"] + 1


async def test_leaving_a_chat(emu: TelegramEmulator, bot: Bot) -> None:
    staff_world(emu)
    offset = await drain(bot)
    assert await bot.leave_chat(STAFF)
    assert emu.left_chats == {STAFF}
    [update] = await bot.get_updates(offset=offset)
    assert update.my_chat_member.new_chat_member.status == "left"
    with pytest.raises(Forbidden, match="bot is not a member of the supergroup chat"):
        await bot.send_message(STAFF, "back?")
    emu.user_sends(ANNA, ANNA, "/start")
    with pytest.raises(BadRequest, match="Chat member status can't be changed in private chats"):
        await bot.leave_chat(ANNA)


async def test_replies_must_point_at_a_message(emu: TelegramEmulator, bot: Bot) -> None:
    staff_world(emu)
    question = emu.user_sends(STAFF, BORIS, "Вопрос")
    answer = await bot.send_message(
        STAFF, "Ответ", reply_parameters=ReplyParameters(question["message_id"])
    )
    assert answer.reply_to_message.text == "Вопрос"
    with pytest.raises(BadRequest, match="Message to be replied not found"):
        await bot.send_message(STAFF, "Ответ", reply_parameters=ReplyParameters(999))
    loose = await bot.send_message(
        STAFF, "Ответ", reply_parameters=ReplyParameters(999, allow_sending_without_reply=True)
    )
    assert loose.reply_to_message is None


async def test_stopping_ends_a_pending_long_poll(clock: Clock) -> None:
    emulator = TelegramEmulator(token=TOKEN, clock=clock)
    await emulator.start()
    client = Bot(TOKEN, base_url=f"{emulator.base_url}/bot")
    async with client:
        poll = asyncio.create_task(client.get_updates(timeout=30))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await emulator.stop()
        assert await poll == ()
        assert time.monotonic() - started < 2


async def test_the_control_api_plays_the_people(emu: TelegramEmulator, bot: Bot) -> None:
    assert (
        await control(
            emu, "POST", "users", {"user_id": ANNA, "first_name": "Anna", "username": "anna"}
        )
    )[0] == 200
    assert (await control(emu, "POST", "groups", {"chat_id": STAFF, "title": "Staff"}))[1][
        "result"
    ]["type"] == "supergroup"
    assert (
        await control(
            emu, "POST", "members", {"chat_id": STAFF, "user_id": ANNA, "status": "creator"}
        )
    )[0] == 200
    assert (
        await control(
            emu,
            "POST",
            "members",
            {"chat_id": STAFF, "user_id": BOT_ID, "status": "administrator", "by_user_id": ANNA},
        )
    )[0] == 200
    card = await bot.send_message(
        STAFF,
        "card",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("Взять", callback_data="tk")]]),
    )
    _, body = await control(
        emu,
        "POST",
        "messages",
        {
            "chat_id": STAFF,
            "user_id": ANNA,
            "text": "ответ",
            "reply_to_message_id": card.message_id,
        },
    )
    assert body["result"]["reply_to_message"]["text"] == "card"
    _, body = await control(
        emu,
        "POST",
        "press",
        {"chat_id": STAFF, "user_id": ANNA, "message_id": card.message_id, "callback_data": "tk"},
    )
    assert body["result"]["query_id"] in emu.callback_queries
    status, body = await control(
        emu,
        "POST",
        "press",
        {"chat_id": STAFF, "user_id": ANNA, "message_id": card.message_id, "callback_data": "nope"},
    )
    assert status == 400 and "no button" in body["description"]
    assert (await control(emu, "POST", "faults", {"endpoint": "sendMessage", "status": 500}))[1][
        "result"
    ] is True
    assert (await control(emu, "DELETE", "faults"))[1]["result"] is True
    await bot.send_document(STAFF, b"%PDF-1.4", filename="report.pdf")
    _, body = await control(emu, "GET", f"chats/{STAFF}")
    assert [m["text"] for m in body["result"]] == ["Anna added Opsbot", "card", "ответ", ""]
    assert body["result"][-1]["document"]["content_base64"] == "JVBERi0xLjQ="
    _, body = await control(emu, "GET", "requests")
    assert [r["endpoint"] for r in body["result"]] == ["getMe", "sendMessage", "sendDocument"]
    assert body["result"][-1]["params"]["document"] == {"filename": "report.pdf", "size": 8}
    _, body = await control(emu, "GET", "state")
    assert body["result"]["violations"] == [] and len(body["result"]["pending_updates"]) == 4
    assert (await control(emu, "POST", "users", {"first_name": "no id"}))[0] == 400
