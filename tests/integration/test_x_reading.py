"""Reading X the way it is billed: each post read once, as often as X's windows allow."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from sqlalchemy import select

from opsbot.db.models import Question
from opsbot.emulators.sandbox import Sandbox
from opsbot.telegram.context import OpsbotApplication
from opsbot.x.gateway import Page
from tests.integration.helpers import one_card_each, wait_for_cards


def count_returned_posts(bot: OpsbotApplication) -> dict[str, int]:
    """Posts X returns to the bot, per source: what X bills for."""
    gateway = bot.bot_data.gateway
    returned = {"mentions": 0, "search": 0}

    def counting(name: str) -> Any:
        original = getattr(gateway, name)

        async def read(*args: Any) -> Page:
            page: Page = await original(*args)
            returned[name] += len(page.posts)
            return page

        return read

    gateway.mentions = counting("mentions")  # type: ignore[method-assign]
    gateway.search = counting("search")  # type: ignore[method-assign]
    return returned


async def test_each_question_is_read_once(sandbox: Sandbox, bot: OpsbotApplication) -> None:
    one_card_each(bot)
    returned = count_returned_posts(bot)
    x = sandbox.x
    for n in range(20):
        x.visitor_posts(f"both{n}", f"@museum Вопрос {n} #museumsalon")
    for n in range(5):
        x.visitor_posts(f"tag{n}", f"Вопрос без упоминания {n} #музейнаягостиная")
    for n in range(5):
        x.visitor_posts(f"mention{n}", f"@museum Просто вопрос {n}")
    quote_of = x.visitor_posts("museum_fan", "Первый пост")["id"]
    x.visitor_posts("quoter", "Цитата музея #museumsalon", quote_of=quote_of)
    await wait_for_cards(sandbox, 31)
    assert sum(returned.values()) / 31 <= 1.05, returned
    async with bot.bot_data.sessionmaker.begin() as session:
        rows = await session.execute(select(Question.author_handle, Question.source))
        sources = {handle: source for handle, source in rows}
    assert all(sources[f"both{n}"] == "mentions" for n in range(20))
    assert all(sources[f"tag{n}"] == "search" for n in range(5))
    assert sources["quoter"] == "search"
    searches = [r for r in sandbox.x.requests if r.endpoint == "searchPostsRecent"]
    assert searches and all("-@museum" in r.params["query"] for r in searches)


class TestNarrowWindows:
    @pytest.fixture
    def x_options(self) -> dict[str, Any]:
        # Five reads of each source per ten seconds: polling every 0.3 s would spend a window
        # in a second and then sit idle.
        return {
            "window_seconds": 10.0,
            "limits": {"searchPostsRecent": 5, "getUsersMentions": 5},
        }

    async def test_polls_pace_themselves_by_the_rate_limit_headers(
        self, sandbox: Sandbox, bot: OpsbotApplication
    ) -> None:
        await _paced(sandbox, bot)


async def _paced(sandbox: Sandbox, bot: OpsbotApplication) -> None:
    x = sandbox.x

    def searches() -> list[float]:
        return [r.at for r in x.requests if r.endpoint == "searchPostsRecent"]

    await x.wait_for(lambda: len(searches()) >= 4, timeout=20)
    x.visitor_posts("ivan", "@museum Вопрос #museumsalon")
    await wait_for_cards(sandbox, 1, timeout=10)
    at = searches()[:4]
    gaps = [b - a for a, b in itertools.pairwise(at)]
    # Spread across the window (about two seconds apart), not spent at once.
    assert all(gap > 1.0 for gap in gaps), gaps
    assert [r for r in x.requests if r.status == 429] == []
    assert x.violations == []


async def test_a_burst_is_shown_oldest_first_across_pages_and_sources(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    x = sandbox.x
    # The first read has set the starting point: what follows is a burst between two reads.
    await x.wait_for(lambda: any(r.endpoint == "searchPostsRecent" for r in x.requests))
    one_card_each(bot)
    for n in range(150):
        text = f"@museum Вопрос {n} #museumsalon" if n % 3 else f"Вопрос {n} #museumsalon"
        x.visitor_posts(f"v{n}", text)
    found = await wait_for_cards(sandbox, 150, timeout=60)
    shown = sorted(found, key=lambda m: m["message_id"])
    order = [int(m["text"].split("Вопрос ")[1].split()[0]) for m in shown]
    assert order == list(range(150))
