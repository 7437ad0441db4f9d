"""The X budget over real HTTP: what X returned is counted, /budget, the warning, the answers.

The bot reads and posts through tweepy against the X emulator, which bills as X does (each
post returned once a UTC day, empty answers free) and serves `GET /2/usage/tweets`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from opsbot.clock import ManualClock
from opsbot.db.models import UsageKind
from opsbot.emulators.base import Fault
from opsbot.emulators.sandbox import CURATOR_EN, CURATOR_RU, MODERATOR, STAFF_CHAT_ID, Sandbox
from opsbot.runtime import running
from opsbot.services import usage
from opsbot.services.budget import SLOW_WHEN_SPENT
from opsbot.settings import Settings
from opsbot.telegram.context import OpsbotApplication
from tests.conftest import FAST_BOT
from tests.integration.helpers import (
    bot_messages,
    message_by_id,
    next_read,
    press_and_wait,
    wait_for_cards,
    write_answer,
)

# Prices that make the arithmetic plain: a tenth of a cent an owned read, half a cent a
# search read, one cent a reply; the start-up account read is free here.
PRICES = {
    "x_price_owned_read": 0.001,
    "x_price_search_read": 0.005,
    "x_price_user_read": 0.0,
    "x_price_reply": 0.01,
}


def this_month() -> str:
    return usage.month_of(datetime.now(UTC))


async def ledger(bot: OpsbotApplication) -> Mapping[UsageKind, int]:
    async with bot.bot_data.sessionmaker.begin() as session:
        return await usage.of_month(session, this_month())


async def more_polls(bot: OpsbotApplication, clock: ManualClock, count: int) -> list[float]:
    """Bring the bot's next `count` reads of X on by moving the clock; the waits it chose."""
    return [await next_read(bot, clock) for _read in range(count)]


async def ask(sandbox: Sandbox, user_id: int, text: str, expect: str) -> dict[str, Any]:
    sent = sandbox.telegram.user_sends(STAFF_CHAT_ID, user_id, text)

    def reply() -> dict[str, Any] | None:
        return next(
            (
                m
                for m in bot_messages(sandbox)
                if m.get("reply_to_message_id") == sent["message_id"] and expect in m["text"]
            ),
            None,
        )

    reply.__name__ = f"reply_{expect[:30]!r}"
    return await sandbox.telegram.wait_for(reply, 20.0)  # type: ignore[no-any-return]


async def command(sandbox: Sandbox, user_id: int, text: str, expect: str) -> dict[str, Any]:
    """Send a command; the bot's next message that says `expect`, reply or not."""
    before = max((m["message_id"] for m in sandbox.telegram.chat_view(STAFF_CHAT_ID)), default=0)
    sandbox.telegram.user_sends(STAFF_CHAT_ID, user_id, text)

    def found() -> dict[str, Any] | None:
        return next(
            (m for m in bot_messages(sandbox) if expect in m["text"] and m["message_id"] > before),
            None,
        )

    found.__name__ = f"bot_said_{expect[:30]!r}"
    return await sandbox.telegram.wait_for(found, 20.0)  # type: ignore[no-any-return]


def poll_gaps(sandbox: Sandbox) -> list[float]:
    """Seconds between the bot's successive reads of its mentions, as X saw them."""
    times = [r.at for r in sandbox.x.requests if r.endpoint == "getUsersMentions"]
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def said(sandbox: Sandbox, text: str) -> list[dict[str, Any]]:
    return [m for m in bot_messages(sandbox) if text in m["text"]]


@pytest.fixture
def bot_overrides() -> dict[str, Any]:
    return dict(PRICES)


async def test_reads_are_counted_from_what_x_returned(
    sandbox: Sandbox, settings: Settings, clock: ManualClock
) -> None:
    async with running(settings, poll_timeout=1, clock=clock) as bot:
        await count_reads(sandbox, bot, clock)
    # The month's count survives a restart.
    async with running(settings, poll_timeout=1, clock=clock) as again:
        assert (await ledger(again)).get(UsageKind.OWNED_READ) == 3


async def count_reads(sandbox: Sandbox, bot: OpsbotApplication, clock: ManualClock) -> None:
    x = sandbox.x
    await more_polls(bot, clock, 1)
    for n in range(3):
        x.visitor_posts(f"guest{n}", f"@museum Вопрос {n} #museumsalon")
    for n in range(2):
        x.visitor_posts(f"fan{n}", f"Без упоминания {n} #museumsalon")
    await wait_for_cards(sandbox, 5)
    counted = await ledger(bot)
    # Mentions are owned reads; the hashtag search brings only what mentions did not.
    assert counted.get(UsageKind.OWNED_READ) == 3
    assert counted.get(UsageKind.POST_READ) == 2
    assert counted.get(UsageKind.USER_READ) == 1
    assert x.billed_reads() == 5
    # Empty polls cost nothing and count nothing.
    await more_polls(bot, clock, 5)
    assert await ledger(bot) == counted
    assert x.billed_reads() == 5

    # No budget set: /budget shows the spend all the same, with X's own count of reads.
    answer = await ask(sandbox, MODERATOR.user_id, "/budget", "Расходы на X")
    text = answer["text"]
    assert f"Расходы на X за {this_month()} (UTC)" in text
    assert "из упоминаний и постов музея — 3, поиском — 2" in text
    assert "По данным X, прочитано постов за месяц: 5." in text
    assert "Расход по оценке: $0.013." in text
    assert "Месячный бюджет не задан" in text
    assert any(r.endpoint == "getUsage" and r.status == 200 for r in x.requests)


@pytest.mark.parametrize(
    "bot_overrides",
    [{**PRICES, "x_monthly_budget": 0.005, "moderator_ids": [CURATOR_EN.user_id]}],
)
async def test_warned_once_at_80_percent_and_answers_still_posted_when_spent(
    sandbox: Sandbox, bot: OpsbotApplication, clock: ManualClock
) -> None:
    x = sandbox.x
    await more_polls(bot, clock, 1)
    for n in range(4):
        x.visitor_posts(f"guest{n}", f"@museum Вопрос {n} #museumsalon")
    await wait_for_cards(sandbox, 4)
    warning = "⚠️ Модераторам: потрачено 80 % бюджета X"
    await sandbox.telegram.wait_for(lambda: said(sandbox, warning))
    await more_polls(bot, clock, 5)
    assert len(said(sandbox, warning)) == 1

    english = await ask(sandbox, CURATOR_EN.user_id, "/budget", "X spending")
    assert "Posts read: 4 from the museum's mentions and posts, 0 by search" in english["text"]
    assert "Budget: $0.005, 80 % spent, $0.001 left." in english["text"]
    assert "times less often to save the budget" in english["text"]

    # One more question spends the rest: the moderators hear it once, the curators still answer.
    x.visitor_posts("guest9", "@museum Последний вопрос #museumsalon")
    # Past 80 % the bot reads X less often: its next read is brought on.
    await next_read(bot, clock)
    cards = await wait_for_cards(sandbox, 5)
    spent = "⚠️ Модераторам: бюджет X на этот месяц ($0.005) исчерпан"
    await sandbox.telegram.wait_for(lambda: said(sandbox, spent))
    card = cards[-1]
    await press_and_wait(sandbox, CURATOR_RU.user_id, card, "Взять")
    preview = await write_answer(sandbox, CURATOR_RU.user_id, card, "Отвечаем и без бюджета.")
    await press_and_wait(sandbox, CURATOR_RU.user_id, preview, "Опубликовать")
    await sandbox.telegram.wait_for(
        lambda: "Ответил(а) Vera" in message_by_id(sandbox, card["message_id"])["text"]
    )
    replies = [p for p in x.museum_posts() if p.get("in_reply_to_tweet_id")]
    assert len(replies) == 1
    # The estimate is refreshed with each read of X.
    await next_read(bot, clock)
    await sandbox.telegram.wait_for(
        lambda: bot.bot_data.budget_fraction is not None and bot.bot_data.budget_fraction > 1
    )
    assert (await ledger(bot)).get(UsageKind.REPLY) == 1
    russian = await ask(sandbox, MODERATOR.user_id, "/budget", "Расходы на X")
    assert "Опубликовано: ответов — 1, других постов — 0, со ссылкой — 0." in russian["text"]
    assert "Бюджет исчерпан" in russian["text"]
    assert len(said(sandbox, spent)) == 1
    assert len(said(sandbox, warning)) == 1

    # Between salons X is now read a dozen times less often (every 3.6 s instead of 0.3 s)...
    # (the first wait may have begun before the budget was spent)
    gap = (await more_polls(bot, clock, 2))[-1]
    assert gap >= FAST_BOT["poll_idle_seconds"] * SLOW_WHEN_SPENT * 0.9
    # ...but a live salon is read at its own pace (here X's: 450 reads in 15 minutes, one
    # every 2 s), budget or not.
    await command(sandbox, MODERATOR.user_id, "/start_salon Без бюджета", "Обязательство")
    gaps = await more_polls(bot, clock, 4)
    assert max(gaps[-3:]) < FAST_BOT["poll_idle_seconds"] * SLOW_WHEN_SPENT * 0.75
    # As X saw them, on the same clock.
    assert max(poll_gaps(sandbox)[-3:]) < FAST_BOT["poll_idle_seconds"] * SLOW_WHEN_SPENT * 0.75


async def test_budget_answers_from_its_own_count_when_x_does_not_report(
    sandbox: Sandbox, bot: OpsbotApplication, clock: ManualClock
) -> None:
    await more_polls(bot, clock, 1)
    sandbox.x.visitor_posts("guest", "@museum Вопрос #museumsalon")
    await wait_for_cards(sandbox, 1)
    sandbox.x.inject_fault(Fault(endpoint="getUsage", status=503, count=1))
    answer = await ask(sandbox, MODERATOR.user_id, "/budget", "Расходы на X")
    assert "из упоминаний и постов музея — 1, поиском — 0" in answer["text"]
    assert "По данным X" not in answer["text"]
    assert [r.status for r in sandbox.x.requests if r.endpoint == "getUsage"] == [503]


async def test_budget_is_for_moderators_only(sandbox: Sandbox, bot: OpsbotApplication) -> None:
    refusal = await ask(sandbox, CURATOR_RU.user_id, "/budget", "Это могут делать только")
    assert "Расходы" not in refusal["text"]
    assert not said(sandbox, "Расходы на X")


async def test_salon_summary_shows_the_months_spend(
    sandbox: Sandbox, bot: OpsbotApplication, clock: ManualClock
) -> None:
    await more_polls(bot, clock, 1)
    sandbox.x.visitor_posts("guest", "@museum Вопрос #museumsalon")
    await wait_for_cards(sandbox, 1)
    await command(sandbox, MODERATOR.user_id, "/start_salon Бюджет", "Обязательство")
    summary = await command(sandbox, MODERATOR.user_id, "/end_salon", "завершена")
    assert "X в этом месяце: потрачено около $0.001 (бюджет не задан)." in summary["text"]
