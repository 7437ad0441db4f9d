"""The benchmark's arithmetic: percentiles, the spread over runs, whether a goal is met, the
Markdown table, and the figures read from the staff group and the request logs."""

from __future__ import annotations

from typing import Any

import pytest

from opsbot.bench.measures import (
    Shown,
    all_visible_after,
    first_shown,
    group_messages,
    latencies,
    posts_read,
    refused_too_many,
    shown_before_an_older_one,
)
from opsbot.bench.plan import Plan
from opsbot.bench.stats import Spread, median, percentile
from opsbot.bench.table import Measure, Row, markdown, rows
from opsbot.emulators.base import LoggedRequest
from opsbot.emulators.x import PostsRead

GROUP = -1001000000001
BOT = {"id": 7000000001, "is_bot": True}
PERSON = {"id": 1002, "is_bot": False}


def test_percentiles_interpolate_between_ranks() -> None:
    assert percentile([3.0], 95) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert median([5.0, 1.0, 3.0]) == 3.0
    # Twenty samples: the p95 lies between the two largest.
    samples = [float(n) for n in range(1, 21)]
    assert percentile(samples, 95) == pytest.approx(19.05)
    assert percentile(samples, 0) == 1.0 and percentile(samples, 100) == 20.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_the_spread_over_runs() -> None:
    assert Spread.of([200.0, 180.0, 230.0]) == Spread(180.0, 200.0, 230.0, 3)


@pytest.mark.parametrize(
    ("values", "met"),
    [
        ((1.0, 1.5, 2.0), "yes"),
        ((1.0, 1.5, 2.5), "2 of 3 runs"),
        ((1.0, 2.5, 2.5), "no"),
        ((1.0, None, 1.0), "2 of 3 runs"),
        ((None,), "no"),
        ((2.0,), "yes"),
    ],
)
def test_a_goal_is_met_by_every_run_most_runs_or_not(
    values: tuple[float | None, ...], met: str
) -> None:
    row = Row(Measure("p95", "p95", "s", goal=2.0, floor=0.0), values)
    assert row.met() == met


def test_a_measure_without_goal_is_only_shown() -> None:
    row = Row(Measure("p50", "p50", "s", floor=1.5), (3.0, 1.0, 2.0))
    assert row.cells() == ["p50", "1.0 s", "2.0 s", "3.0 s", "—", "1.5 s", "—"]


def test_the_markdown_table_lines_up_and_names_unmeasured_runs() -> None:
    measures = [
        Measure("burst", "600 questions → all visible", "s", goal=210, floor=180, digits=0),
        Measure("reads", "X posts read per question", goal=1.05, floor=1.0, digits=2),
    ]
    lines = markdown(
        rows(measures, [{"burst": 200.4, "reads": 1.0}, {"burst": None, "reads": 2.0}])
    )
    assert [c.strip() for c in lines[0].split("|")[1:-1]] == [
        "measure", "min", "median", "max", "goal", "floor", "met?",
    ]  # fmt: skip
    assert len({len(line) for line in lines}) == 1
    cells = [c.strip() for c in lines[2].split("|")[1:-1]]
    assert cells == [
        "600 questions → all visible",
        "200 s",
        "200 s",
        "200 s (1 run(s) unmeasured)",
        "≤ 210 s",
        "180 s",
        "no",
    ]
    cells = [c.strip() for c in lines[3].split("|")[1:-1]]
    assert cells == ["X posts read per question", "1.00", "1.50", "2.00", "≤ 1.05", "1.00", "no"]


def test_the_burst_floor_is_ten_a_message_at_the_group_rate() -> None:
    assert Plan().burst_floor() == 180.0
    burst = next(m for m in Plan().measures() if m.key == "burst_visible")
    assert burst.goal == pytest.approx(210.0)


def _message(message_id: int, at: float, text: str, html: str, sender: Any = BOT) -> Any:
    return {"message_id": message_id, "sent_at": at, "text": text, "html": html, "from": sender}


def _link(handle: str, post_id: str) -> str:
    return f'<a href="https://x.com/{handle}/status/{post_id}">@{handle}</a>'


def _card(message_id: int, at: float, post_id: str) -> Any:
    return _message(
        message_id, at, "❓ Вопрос", f"❓ {_link('anna', post_id)} <blockquote>Вопрос</blockquote>"
    )


def _digest(message_id: int, at: float, post_ids: list[str]) -> Any:
    lines = "\n".join(_link("anna", p) for p in post_ids)
    return _message(message_id, at, "📥 3 questions are waiting", f"📥 waiting\n{lines}")


def test_a_question_is_shown_by_its_first_card_or_digest_line() -> None:
    messages = [
        _card(5, 105.0, "30"),
        _digest(3, 103.0, ["10", "20"]),
        _message(4, 104.0, "@museum 40", _link("anna", "40"), sender=PERSON),
        _card(6, 106.0, "10"),
    ]
    shown = first_shown(messages, "museum")
    assert shown == {
        "10": Shown(103.0, 3, 0),
        "20": Shown(103.0, 3, 1),
        "30": Shown(105.0, 5, 0),
    }
    assert all_visible_after(shown, ["10", "20", "30"], since=100.0) == 5.0
    assert all_visible_after(shown, ["10", "40"], since=100.0) is None
    assert latencies(shown, {"10": 101.0, "30": 104.5, "40": 100.0}) == [2.0, 0.5]


def test_questions_shown_before_an_older_one() -> None:
    posts = ["a", "b", "c", "d", "e"]

    def at(*order: str) -> dict[str, Shown]:
        return {post: Shown(0.0, 1 + n // 2, n % 2) for n, post in enumerate(order)}

    assert shown_before_an_older_one(at("a", "b", "c", "d", "e"), posts) == 0
    # Newest page first: two pages of a burst in the wrong order.
    assert shown_before_an_older_one(at("d", "e", "a", "b", "c"), posts) == 2
    assert shown_before_an_older_one(at("e", "d", "c", "b", "a"), posts) == 4
    assert shown_before_an_older_one(at("a", "c", "b"), posts) == 1


def test_group_messages_count_what_telegram_carried_out_in_the_group() -> None:
    def request(endpoint: str, at: float, chat: object = GROUP, status: int = 200) -> Any:
        return LoggedRequest(at, endpoint, {"chat_id": chat}, status)

    requests = [
        request("sendMessage", 9.0),
        request("sendMessage", 10.0),
        request("editMessageText", 11.0, chat=str(GROUP)),
        request("editMessageReplyMarkup", 12.0),
        request("editMessageText", 12.5, status=400),
        request("sendMessage", 13.0, status=429),
        request("sendMessage", 14.0, chat=1002),
        request("answerCallbackQuery", 15.0, chat=None),
        request("sendMessage", 21.0),
    ]
    assert group_messages(requests, GROUP, 10.0, 20.0) == 3
    assert refused_too_many(requests) == 1


def test_posts_read_by_operation() -> None:
    reads = [
        PostsRead(1.0, "getUsersMentions", ("1", "2")),
        PostsRead(2.0, "searchPostsRecent", ("3",)),
        PostsRead(3.0, "getUsersMentions", ("4",), ("1",)),
    ]
    assert posts_read(reads) == {"getUsersMentions": 4, "searchPostsRecent": 1}
