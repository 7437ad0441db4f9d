"""Approval: a curator's answer waits for a moderator, who approves it (one reply on X),
returns it with a comment, or edits it; in the group dialogue and in the private one."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from opsbot.db.models import AuditEntry
from opsbot.emulators.sandbox import CURATOR_EN, CURATOR_RU, MODERATOR, STAFF_CHAT_ID, Sandbox
from opsbot.runtime import running
from opsbot.settings import Settings
from opsbot.telegram.context import OpsbotApplication
from tests.integration.helpers import (
    bot_messages,
    buttons,
    message_by_id,
    press_and_wait,
    settled,
    wait_for_cards,
    write_answer,
)
from tests.integration.test_private_answers import answer_in_private, press, starts_the_bot

CURATORS = {"approval": "curators"}
SECOND_MODERATOR = (1004, "Dmitry", "dmitry_moderator")
SEND_RU = "Отправить на одобрение"
SEND_EN = "Send for approval"
APPROVE = "Одобрить"
RETURN = "Вернуть с комментарием"
EDIT = "Изменить"


def replies(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [p for p in sandbox.x.museum_posts() if p.get("in_reply_to_tweet_id")]


def message_in(sandbox: Sandbox, chat_id: int, message_id: int) -> dict[str, Any]:
    return next(m for m in sandbox.telegram.chat_view(chat_id) if m["message_id"] == message_id)


async def request_for(sandbox: Sandbox, fragment: str, *, skip: int = 0) -> dict[str, Any]:
    """The approval request in the staff group for the answer containing `fragment`."""

    def found() -> dict[str, Any] | None:
        requests = [
            m
            for m in bot_messages(sandbox)
            if m["text"].startswith("📨 На одобрение") and fragment in m["text"]
        ]
        return requests[skip] if len(requests) > skip else None

    return await sandbox.telegram.wait_for(found)  # type: ignore[no-any-return]


async def new_prompt(sandbox: Sandbox, chat_id: int, marker: str) -> dict[str, Any]:
    """The bot's newest reply prompt (ForceReply) in the chat whose text holds `marker`."""

    def found() -> dict[str, Any] | None:
        prompts = [
            m
            for m in sandbox.telegram.chat_view(chat_id)
            if m["from"]["is_bot"]
            and (m.get("reply_markup") or {}).get("force_reply")
            and marker in m["text"]
        ]
        return prompts[-1] if prompts else None

    return await sandbox.telegram.wait_for(found)  # type: ignore[no-any-return]


async def audit_actions(bot: OpsbotApplication) -> list[tuple[str, str]]:
    async with bot.bot_data.sessionmaker.begin() as session:
        rows = await session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(row.action, row.outcome) for row in rows]


async def draft_in_group(sandbox: Sandbox, text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Vera (no private chat) answers the first card in the group; the card and the preview."""
    sandbox.x.visitor_posts("ivan", "@museum Когда основан музей? #museumsalon")
    [card] = await wait_for_cards(sandbox, 1)
    preview = await write_answer(sandbox, CURATOR_RU.user_id, card, text)
    return card, preview


@pytest.mark.parametrize("bot_overrides", [CURATORS])
@pytest.mark.parametrize("where", ["group", "private"])
async def test_a_draft_sent_for_approval_and_approved_is_one_reply(
    sandbox: Sandbox, bot: OpsbotApplication, where: str
) -> None:
    if where == "group":
        card, preview = await draft_in_group(sandbox, "В 1872 году.")
        curator, chat_id, send = CURATOR_RU, STAFF_CHAT_ID, SEND_RU
    else:
        curator, chat_id, send = CURATOR_EN, CURATOR_EN.user_id, SEND_EN
        await starts_the_bot(sandbox, curator.user_id)
        sandbox.x.visitor_posts("ivan", "@museum Когда основан музей? #museumsalon")
        [card] = await wait_for_cards(sandbox, 1)
        preview, _bot_time = await answer_in_private(
            sandbox, curator.user_id, card, "В 1872 году.", "Ответить"
        )
    assert "Post" not in buttons(preview) and "Опубликовать" not in buttons(preview)
    answered = await press(sandbox, chat_id, curator.user_id, preview, send)
    assert answered["text"] in (
        "Sent to the moderators for approval.",
        "Отправлено модераторам на одобрение.",
    )

    request = await request_for(sandbox, "В 1872 году.")
    # The exact text X will get, with its length, and the moderators' three buttons.
    assert "В 1872 году. #museumsalon" in request["text"]
    assert "/280" in request["text"] and "@ivan" in request["text"]
    assert set(buttons(request)) == {APPROVE, RETURN, EDIT}
    await sandbox.telegram.wait_for(
        lambda: "ждёт одобрения" in message_by_id(sandbox, card["message_id"])["text"]
    )
    await sandbox.telegram.wait_for(
        lambda: "⏳" in message_in(sandbox, chat_id, preview["message_id"])["text"]
    )
    assert not buttons(message_in(sandbox, chat_id, preview["message_id"])).keys() & {send}
    assert replies(sandbox) == []

    assert await press_and_wait(sandbox, MODERATOR.user_id, request, APPROVE) == (
        "Одобрено: публикую…"
    )
    await sandbox.telegram.wait_for(
        lambda: "Ответил(а)" in message_by_id(sandbox, card["message_id"])["text"]
    )
    [reply] = replies(sandbox)
    assert "В 1872 году." in reply["text"]
    await sandbox.telegram.wait_for(
        lambda: "✅ Одобрил(а) Anna" in message_by_id(sandbox, request["message_id"])["text"]
    )
    assert not buttons(message_by_id(sandbox, request["message_id"]))

    def posted() -> bool:
        shown = message_in(sandbox, chat_id, preview["message_id"])
        return f"status/{reply['id']}" in shown["html"] and "⏳" not in shown["text"]

    await sandbox.telegram.wait_for(posted)
    await settled(bot)
    # Nothing more went out once the bot had nothing left to send.
    assert len(replies(sandbox)) == 1
    # The approval's own redraw of the preview never lands over the outbox's "Posted".
    assert posted()
    actions = await audit_actions(bot)
    assert ("approval_send", "ok") in actions and ("approval_approve", "ok") in actions


@pytest.mark.parametrize("bot_overrides", [CURATORS])
async def test_returned_with_a_comment_edited_and_approved(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    card, preview = await draft_in_group(sandbox, "Давно.")
    await press_and_wait(sandbox, CURATOR_RU.user_id, preview, SEND_RU)
    request = await request_for(sandbox, "Давно.")

    assert await press_and_wait(sandbox, MODERATOR.user_id, request, RETURN) == (
        "Ответьте на моё сообщение в группе."
    )
    ask = await new_prompt(sandbox, STAFF_CHAT_ID, "💬")
    sandbox.telegram.user_sends(
        STAFF_CHAT_ID, MODERATOR.user_id, "Назовите год.", reply_to_message_id=ask["message_id"]
    )
    # The curator is told, with the comment, in a prompt whose reply is the new version.
    notice = await new_prompt(sandbox, STAFF_CHAT_ID, "Назовите год.")
    assert "↩️" in notice["text"] and "Anna" in notice["text"]
    returned = message_by_id(sandbox, request["message_id"])
    assert "↩️ Вернул(а) Anna: Назовите год." in returned["text"] and not buttons(returned)
    await sandbox.telegram.wait_for(
        lambda: "возвращён на доработку" in message_by_id(sandbox, card["message_id"])["text"]
    )
    assert "Назовите год." in message_by_id(sandbox, preview["message_id"])["text"]
    # A returned answer cannot be sent again as it is.
    assert SEND_RU not in buttons(message_by_id(sandbox, preview["message_id"]))

    sent = sandbox.telegram.user_sends(
        STAFF_CHAT_ID, CURATOR_RU.user_id, "В 1872 году.", reply_to_message_id=notice["message_id"]
    )
    second = await sandbox.telegram.wait_for(
        lambda: next(
            (
                m
                for m in bot_messages(sandbox)
                if m.get("reply_to_message_id") == sent["message_id"]
            ),
            None,
        )
    )
    await press_and_wait(sandbox, CURATOR_RU.user_id, second, SEND_RU)
    again = await request_for(sandbox, "В 1872 году.")
    assert again["message_id"] != request["message_id"]
    await press_and_wait(sandbox, MODERATOR.user_id, again, APPROVE)
    await sandbox.telegram.wait_for(
        lambda: "Ответил(а) Vera" in message_by_id(sandbox, card["message_id"])["text"]
    )
    [reply] = replies(sandbox)
    assert "В 1872 году." in reply["text"]
    await settled(bot)
    assert len(replies(sandbox)) == 1
    actions = await audit_actions(bot)
    for step in ("approval_comment_asked", "approval_return", "approval_approve"):
        assert (step, "ok") in actions


@pytest.mark.parametrize("bot_overrides", [CURATORS])
async def test_a_returned_answer_reaches_the_curator_in_private(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    curator = CURATOR_EN
    await starts_the_bot(sandbox, curator.user_id)
    sandbox.x.visitor_posts("ivan", "@museum Когда основан музей? #museumsalon")
    [card] = await wait_for_cards(sandbox, 1)
    preview, _bot_time = await answer_in_private(
        sandbox, curator.user_id, card, "Long ago.", "Ответить"
    )
    await press(sandbox, curator.user_id, curator.user_id, preview, SEND_EN)
    request = await request_for(sandbox, "Long ago.")
    await press_and_wait(sandbox, MODERATOR.user_id, request, RETURN)
    ask = await new_prompt(sandbox, STAFF_CHAT_ID, "💬")
    sandbox.telegram.user_sends(
        STAFF_CHAT_ID, MODERATOR.user_id, "Name the year.", reply_to_message_id=ask["message_id"]
    )
    notice = await new_prompt(sandbox, curator.user_id, "Name the year.")
    assert "Anna returned your answer to @ivan" in notice["text"]
    assert notice["reply_to_message_id"] == preview["message_id"]
    await sandbox.telegram.wait_for(
        lambda: (
            "↩️ Returned by Anna: Name the year."
            in (message_in(sandbox, curator.user_id, preview["message_id"])["text"])
        )
    )
    # In private, text without a reply answers the latest prompt: the notice.
    sent = sandbox.telegram.user_sends(curator.user_id, curator.user_id, "In 1872.")
    second = await sandbox.telegram.wait_for(
        lambda: next(
            (
                m
                for m in sandbox.telegram.chat_view(curator.user_id)
                if m.get("reply_to_message_id") == sent["message_id"]
            ),
            None,
        )
    )
    assert "In 1872. #museumsalon" in second["text"]
    await press(sandbox, curator.user_id, curator.user_id, second, SEND_EN)
    again = await request_for(sandbox, "In 1872.")
    await press_and_wait(sandbox, MODERATOR.user_id, again, APPROVE)
    await sandbox.telegram.wait_for(
        lambda: "Ответил(а) Boris" in message_by_id(sandbox, card["message_id"])["text"]
    )
    await settled(bot)
    [reply] = replies(sandbox)
    assert "In 1872." in reply["text"]


@pytest.mark.parametrize("bot_overrides", [CURATORS])
async def test_a_moderator_edits_the_text_before_approving(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    _card, preview = await draft_in_group(sandbox, "В 1827 году.")
    await press_and_wait(sandbox, CURATOR_RU.user_id, preview, SEND_RU)
    request = await request_for(sandbox, "В 1827 году.")
    await press_and_wait(sandbox, MODERATOR.user_id, request, EDIT)
    ask = await new_prompt(sandbox, STAFF_CHAT_ID, "✏️")
    assert "В 1827 году." in ask["text"]
    sandbox.telegram.user_sends(
        STAFF_CHAT_ID, MODERATOR.user_id, "В 1872 году.", reply_to_message_id=ask["message_id"]
    )
    edited = await sandbox.telegram.wait_for(
        lambda: (
            (m := message_by_id(sandbox, request["message_id"]))
            and "✏️ Исправил(а) Anna" in m["text"]
            and m
        )
    )
    assert "В 1872 году. #museumsalon" in edited["text"] and "/280" in edited["text"]
    await sandbox.telegram.wait_for(
        lambda: "В 1872 году." in message_by_id(sandbox, preview["message_id"])["text"]
    )
    await press_and_wait(sandbox, MODERATOR.user_id, edited, APPROVE)
    await sandbox.telegram.wait_for(lambda: replies(sandbox) or None)
    [reply] = replies(sandbox)
    assert "В 1872 году." in reply["text"]
    await settled(bot)
    assert len(replies(sandbox)) == 1
    assert ("approval_edit", "ok") in await audit_actions(bot)


@pytest.mark.parametrize("bot_overrides", [CURATORS])
async def test_two_moderators_approving_at_once_post_once(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    user_id, name, username = SECOND_MODERATOR
    sandbox.telegram.add_user(user_id, name, username=username, language_code="ru")
    sandbox.telegram.add_member(STAFF_CHAT_ID, user_id, "administrator")
    _card, preview = await draft_in_group(sandbox, "В 1872 году.")
    await press_and_wait(sandbox, CURATOR_RU.user_id, preview, SEND_RU)
    request = await request_for(sandbox, "В 1872 году.")
    data = buttons(request)[APPROVE]
    queries = [
        sandbox.telegram.user_presses(STAFF_CHAT_ID, who, request["message_id"], data)
        for who in (MODERATOR.user_id, user_id)
    ]
    await sandbox.telegram.wait_for(
        lambda: all(q in sandbox.telegram.callback_answers for q in queries)
    )
    answers = [sandbox.telegram.callback_answers[q]["text"] for q in queries]
    assert answers.count("Одобрено: публикую…") == 1
    assert sum(a.startswith("Уже одобрил(а) ") for a in answers) == 1
    await sandbox.telegram.wait_for(lambda: replies(sandbox) or None)
    await settled(bot)
    assert len(replies(sandbox)) == 1
    outcomes = [o for a, o in await audit_actions(bot) if a == "approval_approve"]
    assert sorted(outcomes) == ["ok", "refused"]


@pytest.mark.parametrize("bot_overrides", [CURATORS])
async def test_a_curator_cannot_approve_nor_post_past_approval(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    _card, preview = await draft_in_group(sandbox, "В 1872 году.")
    post = buttons(preview)[SEND_RU].replace(":sf:", ":po:")
    # A preview shown before approval was switched on still has Post.
    query = sandbox.telegram.user_presses(
        STAFF_CHAT_ID, CURATOR_RU.user_id, preview["message_id"], post, forge=True
    )
    await sandbox.telegram.wait_for(lambda: query in sandbox.telegram.callback_answers)
    assert "одобрения модератора" in sandbox.telegram.callback_answers[query]["text"]

    await press_and_wait(sandbox, CURATOR_RU.user_id, preview, SEND_RU)
    request = await request_for(sandbox, "В 1872 году.")
    for curator, refusal in (
        (CURATOR_RU, "Это могут делать только модераторы."),
        (CURATOR_EN, "Only moderators can do this."),
    ):
        for label in (APPROVE, RETURN, EDIT):
            assert await press_and_wait(sandbox, curator.user_id, request, label) == refusal
    await settled(bot)
    assert replies(sandbox) == []
    assert set(buttons(message_by_id(sandbox, request["message_id"]))) == {APPROVE, RETURN, EDIT}
    assert ("post", "refused") in await audit_actions(bot)


async def test_approval_survives_a_restart(sandbox: Sandbox, settings: Settings) -> None:
    settings = settings.model_copy(update={"approval": "curators"})
    async with running(settings, poll_timeout=1):
        card, preview = await draft_in_group(sandbox, "В 1872 году.")
        await press_and_wait(sandbox, CURATOR_RU.user_id, preview, SEND_RU)
        request = await request_for(sandbox, "В 1872 году.")
        await sandbox.telegram.wait_for(
            lambda: "ждёт одобрения" in message_by_id(sandbox, card["message_id"])["text"]
        )
    async with running(settings, poll_timeout=1) as bot:
        await press_and_wait(sandbox, MODERATOR.user_id, request, APPROVE)
        await sandbox.telegram.wait_for(
            lambda: "Ответил(а) Vera" in message_by_id(sandbox, card["message_id"])["text"]
        )
        await settled(bot)
    assert len(replies(sandbox)) == 1


@pytest.mark.parametrize("bot_overrides", [{"approval": "listed"}])
async def test_only_listed_curators_need_approval(sandbox: Sandbox, bot: OpsbotApplication) -> None:
    sandbox.telegram.user_sends(STAFF_CHAT_ID, CURATOR_RU.user_id, "Привет")
    sandbox.telegram.user_sends(STAFF_CHAT_ID, CURATOR_RU.user_id, "/approval @vera_curator on")
    refused = await sandbox.telegram.wait_for(
        lambda: next((m for m in bot_messages(sandbox) if "только модераторы" in m["text"]), None)
    )
    assert refused
    sandbox.telegram.user_sends(STAFF_CHAT_ID, MODERATOR.user_id, "/approval @vera_curator on")
    await sandbox.telegram.wait_for(
        lambda: any("Ответы Vera теперь" in m["text"] for m in bot_messages(sandbox))
    )
    sandbox.telegram.user_sends(STAFF_CHAT_ID, MODERATOR.user_id, "/approval")
    await sandbox.telegram.wait_for(
        lambda: any(
            "Ответы этих кураторов" in m["text"] and "Vera" in m["text"]
            for m in bot_messages(sandbox)
        )
    )
    sandbox.x.visitor_posts("ivan", "@museum Когда основан музей? #museumsalon")
    sandbox.x.visitor_posts("olga", "@museum Где гардероб? #museumsalon")
    first, second = await wait_for_cards(sandbox, 2)
    vera = await write_answer(sandbox, CURATOR_RU.user_id, first, "В 1872 году.")
    assert SEND_RU in buttons(vera)
    boris = await write_answer(sandbox, CURATOR_EN.user_id, second, "On the ground floor.")
    assert "Post" in buttons(boris)
    anna = await write_answer(sandbox, MODERATOR.user_id, first, "В 1872 году!")
    assert "Опубликовать" in buttons(anna)


@pytest.mark.parametrize("bot_overrides", [CURATORS])
async def test_a_withdrawn_request_says_so(sandbox: Sandbox, bot: OpsbotApplication) -> None:
    _card, preview = await draft_in_group(sandbox, "В 1872 году.")
    await press_and_wait(sandbox, CURATOR_RU.user_id, preview, SEND_RU)
    request = await request_for(sandbox, "В 1872 году.")
    shown = message_by_id(sandbox, preview["message_id"])
    await press_and_wait(sandbox, CURATOR_RU.user_id, shown, "Отмена")
    await sandbox.telegram.wait_for(
        lambda: "Отозвано" in message_by_id(sandbox, request["message_id"])["text"]
    )
    assert not buttons(message_by_id(sandbox, request["message_id"]))
    # A moderator whose app still shows the buttons.
    query = sandbox.telegram.user_presses(
        STAFF_CHAT_ID,
        MODERATOR.user_id,
        request["message_id"],
        buttons(request)[APPROVE],
        forge=True,
    )
    await sandbox.telegram.wait_for(lambda: query in sandbox.telegram.callback_answers)
    assert "отменён" in sandbox.telegram.callback_answers[query]["text"]
    await settled(bot)
    assert replies(sandbox) == []
