"""Reading X the way it is billed: each post read once, as often as X's windows allow."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from sqlalchemy import select

from opsbot.clock import ManualClock
from opsbot.db.models import Question
from opsbot.emulators.base import Fault
from opsbot.emulators.sandbox import Sandbox
from opsbot.telegram.context import OpsbotApplication
from opsbot.x.gateway import Page
from tests.integration.helpers import (
    cards,
    next_read,
    one_card_each,
    past_flood_waits,
    read_cards,
    wait_for_cards,
)


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


WINDOW = 10.0
READS_PER_WINDOW = 5
# What X's headers allow: the reads left in a window spread until its reset. Right after the
# first read of a window that is the window (X states its reset in whole seconds, so up to a
# second more) over the reads left; followed, it stays so until the reset.
SPREAD = (WINDOW + 1.0) / (READS_PER_WINDOW - 1)
# A read itself takes real time (two requests, storing), on top of the wait the bot chose.
READ_SLACK = 0.75
# The two sources' windows open a read's duration apart, and a loaded machine stretches that:
# a fifth more than the spread still tells a bot keeping X's pace from one reading at half of it.
SPREAD_SLACK = 1.2


class TestNarrowWindows:
    @pytest.fixture
    def x_options(self) -> dict[str, Any]:
        # Five reads of each source per ten seconds: polling every 0.3 s would spend a window
        # in a second and then sit idle.
        return {
            "window_seconds": WINDOW,
            "limits": {
                "searchPostsRecent": READS_PER_WINDOW,
                "getUsersMentions": READS_PER_WINDOW,
            },
        }

    async def test_polls_pace_themselves_by_the_rate_limit_headers(
        self, sandbox: Sandbox, bot: OpsbotApplication, clock: ManualClock
    ) -> None:
        await _paced(sandbox, bot, clock)


async def _paced(sandbox: Sandbox, bot: OpsbotApplication, clock: ManualClock) -> None:
    x = sandbox.x

    def searches() -> list[float]:
        return [r.at for r in x.requests if r.endpoint == "searchPostsRecent"]

    # Each read at the moment the bot chose; X logs them on the same clock. Three windows'
    # worth, so the pace is seen across X's resets too.
    await x.wait_for(lambda: searches())
    waits = [await next_read(bot, clock) for _read in range(3 * READS_PER_WINDOW)]
    x.visitor_posts("ivan", "@museum Вопрос #museumsalon")
    await read_cards(bot, clock, sandbox, 1)
    at = searches()[: len(waits) + 1]
    gaps = [b - a for a, b in itertools.pairwise(at)]
    # Spread across the first window, not spent at once (a fresh window may start sooner)...
    assert all(gap > 1.0 for gap in gaps[: READS_PER_WINDOW - 1]), gaps
    # ...and no slower than the headers allow: the reads X would take are taken.
    assert all(wait <= SPREAD * SPREAD_SLACK for wait in waits), waits
    assert all(gap <= SPREAD * SPREAD_SLACK + READ_SLACK for gap in gaps), gaps
    assert [r for r in x.requests if r.status == 429] == []
    assert x.violations == []


async def test_a_burst_is_shown_oldest_first_across_pages_and_sources(
    sandbox: Sandbox, bot: OpsbotApplication, clock: ManualClock
) -> None:
    x = sandbox.x
    # The first read has set the starting point: what follows is a burst between two reads.
    await x.wait_for(lambda: any(r.endpoint == "searchPostsRecent" for r in x.requests))
    one_card_each(bot)
    for n in range(150):
        text = f"@museum Вопрос {n} #museumsalon" if n % 3 else f"Вопрос {n} #museumsalon"
        x.visitor_posts(f"v{n}", text)

    def all_shown() -> list[dict[str, Any]] | None:
        found = cards(sandbox)
        return found if len(found) >= 150 else None

    found = await past_flood_waits(bot, clock, all_shown, timeout=60)
    assert [r for r in sandbox.telegram.requests if r.status == 429] == []
    shown = sorted(found, key=lambda m: m["message_id"])
    order = [int(m["text"].split("Вопрос ")[1].split()[0]) for m in shown]
    assert order == list(range(150))


async def test_a_poll_still_reading_holds_its_questions_back_so_oldest_come_first(
    sandbox: Sandbox, bot: OpsbotApplication, clock: ManualClock
) -> None:
    x = sandbox.x
    await x.wait_for(lambda: any(r.endpoint == "getUsersMentions" for r in x.requests))
    one_card_each(bot)
    # Two pages of mentions; the second (the older posts) is slow to come.
    x.inject_fault(Fault(endpoint="getUsersMentions", status=0))
    x.inject_fault(Fault(endpoint="getUsersMentions", status=0, delay=2.0))
    for n in range(150):
        x.visitor_posts(f"v{n}", f"@museum Вопрос {n} #museumsalon")

    def second_page_asked() -> bool:
        return any(
            r.endpoint == "getUsersMentions" and "pagination_token" in r.params for r in x.requests
        )

    await x.wait_for(second_page_asked)
    # The first page is stored; a card queue flushing now (a wake, its idle check) must not
    # show it before the older page.
    bot.bot_data.cards.wake()

    def all_shown() -> list[dict[str, Any]] | None:
        found = cards(sandbox)
        return found if len(found) >= 150 else None

    found = await past_flood_waits(bot, clock, all_shown, timeout=60)
    shown = sorted(found, key=lambda m: m["message_id"])
    order = [int(m["text"].split("Вопрос ")[1].split()[0]) for m in shown]
    assert order == list(range(150))


@pytest.mark.parametrize("bot_overrides", [{"poll_idle_seconds": 30, "poll_live_seconds": 30}])
async def test_a_slow_answer_from_x_does_not_stretch_the_cadence(
    sandbox: Sandbox, bot: OpsbotApplication, clock: ManualClock
) -> None:
    """The next read is due a whole interval after the previous one began, not after it
    ended: while X takes its time, the bot's clock runs on towards the next read."""
    x = sandbox.x
    polls = bot.bot_data.polls
    await next_read(bot, clock)  # the first, at start
    interval = await next_read(bot, clock)
    assert interval > 25
    reads = polls.reads
    # The next read's mentions are slow to come; the clock moves on meanwhile.
    x.inject_fault(Fault(endpoint="getUsersMentions", status=0, delay=2.0))
    clock.advance(interval)
    await x.wait_for(lambda: polls.reads > reads and polls.due_in() is None)
    clock.advance(interval * 0.6)
    await x.wait_for(lambda: polls.due_in() is not None, timeout=20)
    due = polls.due_in()
    assert due is not None and due <= interval * 0.4 + 0.5, (due, interval)
