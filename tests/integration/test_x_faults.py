"""Reading X through its failures: nothing lost, nothing twice, nobody stuck.

Every test drives the bot's real tweepy client against the X emulator over HTTP and breaks X
the way it breaks in production: an empty first poll, a cursor older than search's 7 days,
spent credits, refused keys or app, an outage. Then it checks that every question posted
meanwhile is stored, that the bot backed off instead of hammering X, and that the staff group
heard once when trouble started and once when it ended.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from yarl import URL

from opsbot.clock import ManualClock
from opsbot.db.engine import create_engine, create_sessionmaker
from opsbot.db.migrate import upgrade
from opsbot.db.models import Question, XCursor
from opsbot.emulators.base import Fault, LoggedRequest
from opsbot.emulators.sandbox import CURATOR_EN, Sandbox
from opsbot.runtime import running
from opsbot.settings import Settings
from opsbot.telegram.context import OpsbotApplication
from tests.integration.helpers import (
    bot_messages,
    message_by_id,
    next_attempt,
    next_read,
    press_and_wait,
    settled,
    wait_for_cards,
    write_answer,
)

SPENT = "X credits are spent"
CREDITS_BACK = "X credits are back"
KEYS_REFUSED = "X refused the museum's keys"
NOT_ENROLLED = "not enrolled for X API access"
KEYS_BACK = "X accepts the museum's keys again"
UNREACHABLE = "X cannot be reached"
REACHABLE = "X is reachable again"
GAP = "can no longer be read"
QUEUED = "wait in the queue"
# X's refusals of the museum itself: keys, app enrolment, credits.
REFUSED = (401, 402, 403)


@pytest.fixture
def bot_overrides() -> dict[str, Any]:
    # The staff group in English, so the notices read as they do in the source.
    return {"default_language": "en"}


async def stored_texts(bot: OpsbotApplication) -> set[str]:
    async with bot.bot_data.sessionmaker.begin() as session:
        return set(await session.scalars(select(Question.text)))


async def wait_for_questions(bot: OpsbotApplication, count: int, timeout: float = 30.0) -> None:
    """Wait until `count` questions are stored; fail with how many there were."""
    stored = 0
    for _attempt in range(int(timeout / 0.1)):
        async with bot.bot_data.sessionmaker.begin() as session:
            stored = int(await session.scalar(select(func.count()).select_from(Question)) or 0)
        if stored >= count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{stored} of {count} questions were stored within {timeout}s")


def notices(sandbox: Sandbox, fragment: str) -> list[str]:
    return [m["text"] for m in bot_messages(sandbox) if fragment in m["text"]]


async def wait_for_notice(sandbox: Sandbox, fragment: str, timeout: float = 30.0) -> str:
    def told() -> str | None:
        found = notices(sandbox, fragment)
        return found[0] if found else None

    told.__name__ = f"staff_told_{fragment!r}"
    return str(await sandbox.telegram.wait_for(told, timeout))


def calls(sandbox: Sandbox, status: int) -> list[LoggedRequest]:
    return [r for r in sandbox.x.requests if r.status == status]


async def wait_for_calls(sandbox: Sandbox, status: int, count: int) -> list[LoggedRequest]:
    def enough() -> list[LoggedRequest] | None:
        found = calls(sandbox, status)
        return found if len(found) >= count else None

    enough.__name__ = f"{count}_calls_answered_{status}"
    return list(await sandbox.x.wait_for(enough, timeout=30))


async def waits_after_refusals(
    bot: OpsbotApplication, clock: ManualClock, sandbox: Sandbox, status: int, count: int
) -> list[float]:
    """Move the clock from read to read, each at the moment the bot chose, and collect the
    wait the bot chose after each of `count` reads that X refused with `status`. The request
    times would carry the loaded machine's own delays; the chosen waits do not."""
    waits: list[float] = []
    while len(waits) < count:
        refused = len(calls(sandbox, status))
        await next_read(bot, clock)
        if len(calls(sandbox, status)) > refused:
            wait = bot.bot_data.polls.last_wait
            assert wait is not None
            waits.append(wait)
    return waits


def assert_backs_off(waits: list[float]) -> None:
    """The waits between attempts grow (they double) instead of repeating at the interval."""
    assert all(later > earlier for earlier, later in itertools.pairwise(waits)), waits
    assert waits[-1] >= 1.5 ** (len(waits) - 1) * waits[0], waits


async def first_poll_done(sandbox: Sandbox) -> None:
    """The bot's first poll has had X's answer for both sources (search is read second)."""
    await sandbox.x.wait_for(
        lambda: any(r.endpoint == "searchPostsRecent" and r.status for r in sandbox.x.requests)
    )


async def test_an_empty_first_poll_leaves_a_starting_point_and_the_next_reads_every_page(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    await first_poll_done(sandbox)
    # All of them arrive before the next poll: visitor_posts does not yield to the bot.
    for n in range(150):
        sandbox.x.visitor_posts(f"tag{n}", f"Hashtag question {n} #museumsalon")
    for n in range(120):
        sandbox.x.visitor_posts(f"men{n}", f"@museum Mention question {n}")
    await wait_for_questions(bot, 270)
    texts = await stored_texts(bot)
    assert {f"Hashtag question {n} #museumsalon" for n in range(150)} <= texts
    assert {f"@museum Mention question {n}" for n in range(120)} <= texts


async def bot_stopped_with(settings: Settings, since_id: str, read_until: datetime) -> None:
    """The database as a bot that stopped with this cursor leaves it."""
    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
        async with create_sessionmaker(engine).begin() as session:
            for source in ("mentions", "search"):
                session.add(
                    XCursor(
                        source=source,
                        since_id=since_id,
                        read_until=read_until,
                        updated_at=datetime.now(UTC),
                    )
                )
    finally:
        await engine.dispose()


def created_at(post: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(post["created_at"].replace("Z", "+00:00"))


async def test_a_search_cursor_older_than_7_days_restarts_reads_everything_and_tells_the_gap(
    sandbox: Sandbox, settings: Settings
) -> None:
    now = datetime.now(UTC)
    last_read = sandbox.x.visitor_posts(
        "early", "@museum Asked before the break #museumsalon", created_at=now - timedelta(days=8)
    )
    # The bot stopped 8 days ago, right after reading that post.
    await bot_stopped_with(settings, last_read["id"], created_at(last_read))
    for n in range(150):
        sandbox.x.visitor_posts(
            f"tag{n}",
            f"Hashtag question {n} #museumsalon",
            created_at=now - timedelta(days=6) + timedelta(minutes=40 * n),
        )
    async with running(settings, poll_timeout=1) as bot:
        await wait_for_questions(bot, 150)
        assert {f"Hashtag question {n} #museumsalon" for n in range(150)} <= await stored_texts(bot)
        notice = await wait_for_notice(sandbox, GAP)
    assert created_at(last_read).astimezone(settings.zone).strftime("%d.%m.%Y %H:%M") in notice
    # From the last post read to the oldest moment search still reaches (less a little slack).
    assert "(24 hours)" in notice
    assert len(notices(sandbox, GAP)) == 1
    assert sandbox.x.violations == []


async def test_after_a_quiet_week_an_old_search_cursor_resumes_without_a_gap(
    sandbox: Sandbox, settings: Settings
) -> None:
    now = datetime.now(UTC)
    last_read = sandbox.x.visitor_posts(
        "early",
        "@museum The last question of the season #museumsalon",
        created_at=now - timedelta(days=8),
    )
    # The bot read X all week, found nothing new, and stopped an hour ago.
    await bot_stopped_with(settings, last_read["id"], now - timedelta(hours=1))
    for n in range(150):
        sandbox.x.visitor_posts(
            f"tag{n}",
            f"Hashtag question {n} #museumsalon",
            created_at=now - timedelta(hours=1) + timedelta(seconds=20 * n),
        )
    async with running(settings, poll_timeout=1) as bot:
        await wait_for_questions(bot, 150)
        searches = len([r for r in sandbox.x.requests if r.endpoint == "searchPostsRecent"])
        # A later poll has begun, so the one that read the questions has told all it had to.
        await sandbox.x.wait_for(
            lambda: (
                len([r for r in sandbox.x.requests if r.endpoint == "searchPostsRecent"]) > searches
            )
        )
        texts = await stored_texts(bot)
    assert {f"Hashtag question {n} #museumsalon" for n in range(150)} <= texts
    assert notices(sandbox, GAP) == []


async def test_spent_credits_pause_reading_alert_once_keep_the_cursor_and_lose_nothing(
    sandbox: Sandbox, bot: OpsbotApplication, clock: ManualClock
) -> None:
    sandbox.x.visitor_posts("ivan", "@museum Before the credits ran out #museumsalon")
    await wait_for_questions(bot, 1)
    sandbox.x.set_account(credits=False)
    for n in range(130):
        sandbox.x.visitor_posts(f"tag{n}", f"Hashtag question {n} #museumsalon")
    spent = await wait_for_notice(sandbox, SPENT)
    assert "developer console" in spent
    assert_backs_off(await waits_after_refusals(bot, clock, sandbox, 402, 4))
    sandbox.x.set_account(credits=True)
    await next_read(bot, clock)
    await wait_for_notice(sandbox, CREDITS_BACK)
    await wait_for_questions(bot, 131)
    assert {f"Hashtag question {n} #museumsalon" for n in range(130)} <= await stored_texts(bot)
    assert len(notices(sandbox, SPENT)) == 1
    assert len(notices(sandbox, CREDITS_BACK)) == 1


def refusals(sandbox: Sandbox) -> list[LoggedRequest]:
    return [r for r in sandbox.x.requests if r.endpoint == "createPosts" and r.status in REFUSED]


def refuse_keys(sandbox: Sandbox) -> Callable[[], None]:
    sandbox.x.inject_fault(Fault(endpoint=None, status=401, count=10**6))
    return sandbox.x.faults.clear


def refuse_app(sandbox: Sandbox) -> Callable[[], None]:
    sandbox.x.set_account(enrolled=False)
    return lambda: sandbox.x.set_account(enrolled=True)


@pytest.mark.parametrize(
    ("refuse", "status", "told"),
    [(refuse_keys, 401, KEYS_REFUSED), (refuse_app, 403, NOT_ENROLLED)],
    ids=["401-keys", "403-client-not-enrolled"],
)
async def test_refused_keys_or_app_back_off_alert_once_and_resume(
    sandbox: Sandbox,
    bot: OpsbotApplication,
    clock: ManualClock,
    refuse: Callable[[Sandbox], Callable[[], None]],
    status: int,
    told: str,
) -> None:
    sandbox.x.visitor_posts("ivan", "@museum Before the keys broke #museumsalon")
    await wait_for_questions(bot, 1)
    restore = refuse(sandbox)
    for n in range(5):
        sandbox.x.visitor_posts(f"tag{n}", f"Hashtag question {n} #museumsalon")
    await wait_for_notice(sandbox, told)
    assert_backs_off(await waits_after_refusals(bot, clock, sandbox, status, 4))
    restore()
    await next_read(bot, clock)
    await wait_for_notice(sandbox, KEYS_BACK)
    await wait_for_questions(bot, 6)
    assert len(notices(sandbox, told)) == 1
    assert len(notices(sandbox, KEYS_BACK)) == 1


def spend_credits(sandbox: Sandbox) -> Callable[[], None]:
    sandbox.x.set_account(credits=False)
    return lambda: sandbox.x.set_account(credits=True)


@pytest.mark.parametrize(
    ("refuse", "waiting"),
    [
        (refuse_keys, "X refused the museum's keys, not this answer"),
        (refuse_app, "not enrolled for X API access (client-not-enrolled), not this answer"),
        (spend_credits, "the museum's X credits are spent, not this answer"),
    ],
    ids=["401-keys", "403-client-not-enrolled", "402-credits"],
)
async def test_a_post_refused_for_the_museum_not_the_answer_waits_with_the_real_reason(
    sandbox: Sandbox,
    bot: OpsbotApplication,
    clock: ManualClock,
    refuse: Callable[[Sandbox], Callable[[], None]],
    waiting: str,
) -> None:
    question = sandbox.x.visitor_posts("ivan", "@museum When was it built? #museumsalon")
    [card] = await wait_for_cards(sandbox, 1)
    preview = await write_answer(
        sandbox, CURATOR_EN.user_id, card, "In 1872.", answer_label="Answer"
    )
    restore = refuse(sandbox)
    await press_and_wait(sandbox, CURATOR_EN.user_id, preview, "Post")
    shown = await sandbox.telegram.wait_for(
        lambda: waiting in message_by_id(sandbox, preview["message_id"])["text"]
    )
    assert shown
    assert "Not posted" not in message_by_id(sandbox, preview["message_id"])["text"]
    await wait_for_notice(sandbox, QUEUED)
    # Refused again at the next attempt: still one notice.
    await next_attempt(bot, clock)
    await sandbox.x.wait_for(lambda: len(refusals(sandbox)) >= 2)
    restore()
    await next_attempt(bot, clock)
    await sandbox.telegram.wait_for(
        lambda: "Answered by Boris" in message_by_id(sandbox, card["message_id"])["text"],
        timeout=20,
    )
    # Once each: nothing more comes once the outbox has nothing left.
    await settled(bot)
    replies = [p for p in sandbox.x.museum_posts() if p["in_reply_to_tweet_id"] == question["id"]]
    assert len(replies) == 1
    assert len(notices(sandbox, QUEUED)) == 1


async def test_a_refusal_for_credits_older_than_a_read_that_worked_is_not_news(
    sandbox: Sandbox, bot: OpsbotApplication
) -> None:
    """The credits were topped up while X was refusing the post: the museum was read with
    success after the post was sent, so the refusal is old news, not a notice."""
    question = sandbox.x.visitor_posts("ivan", "@museum When was it built? #museumsalon")
    [card] = await wait_for_cards(sandbox, 1)
    preview = await write_answer(
        sandbox, CURATOR_EN.user_id, card, "In 1872.", answer_label="Answer"
    )
    # X holds the post's answer back, then refuses it for spent credits.
    sandbox.x.inject_fault(Fault(endpoint="createPosts", status=402, delay=3.0))
    await press_and_wait(sandbox, CURATOR_EN.user_id, preview, "Post")
    await sandbox.x.wait_for(lambda: any(r.endpoint == "createPosts" for r in sandbox.x.requests))
    # Meanwhile X answers a read sent after the post.
    assert await bot.bot_data.gateway.followers() >= 0
    # X holds its answer 3 s (real time): room for a loaded machine beyond that.
    await sandbox.x.wait_for(lambda: refusals(sandbox), timeout=20)
    await sandbox.telegram.wait_for(
        lambda: "Answered by Boris" in message_by_id(sandbox, card["message_id"])["text"],
        timeout=20,
    )
    replies = [p for p in sandbox.x.museum_posts() if p["in_reply_to_tweet_id"] == question["id"]]
    assert len(replies) == 1
    assert notices(sandbox, SPENT) == []
    assert notices(sandbox, CREDITS_BACK) == []


async def test_an_outage_is_retried_quietly_told_once_and_loses_nothing(
    sandbox: Sandbox, bot: OpsbotApplication, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.x.visitor_posts("ivan", "@museum Before the outage #museumsalon")
    await wait_for_questions(bot, 1)
    port = URL(sandbox.x.base_url).port
    caplog.set_level(logging.WARNING)
    await sandbox.x.stop()
    for n in range(30):
        sandbox.x.visitor_posts(f"tag{n}", f"Hashtag question {n} #museumsalon")

    def tries() -> list[float]:
        return [
            r.created
            for r in caplog.records
            if r.name.startswith("opsbot") and "unreachable on getUsersMentions" in r.getMessage()
        ]

    await wait_for_notice(sandbox, UNREACHABLE)
    # The next reads, each at the moment the bot chose: the waits between them grow.
    waits = []
    for _read in range(3):
        await next_read(bot, clock)
        assert bot.bot_data.polls.last_wait is not None
        waits.append(bot.bot_data.polls.last_wait)
    await sandbox.x.start(port=port)
    await next_read(bot, clock)
    await wait_for_notice(sandbox, REACHABLE)
    await wait_for_questions(bot, 31)
    ours = [r for r in caplog.records if r.name.startswith("opsbot")]
    assert [r for r in ours if r.levelno >= logging.ERROR or r.exc_info] == []
    assert len(tries()) >= 3
    assert_backs_off(waits)
    assert len(notices(sandbox, UNREACHABLE)) == 1
    assert len(notices(sandbox, REACHABLE)) == 1
