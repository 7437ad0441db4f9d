"""The downtime gap, its wording, and `opsbot health`'s verdict: pure functions, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from opsbot.health import MAX_AGE, Unhealthy, verdict
from opsbot.i18n import translator
from opsbot.services.downtime import DOWNTIME_NOTICE, Gap, find_gap
from opsbot.telegram.heartbeats import duration, render_count, render_gap

NOW = datetime(2026, 11, 28, 16, 40, tzinfo=UTC)


def test_a_gap_is_told_only_after_a_long_silence() -> None:
    assert find_gap({}, NOW) is None
    recent = {"telegram": NOW - DOWNTIME_NOTICE, "x": NOW - timedelta(hours=2)}
    assert find_gap(recent, NOW) is None
    old = {"telegram": NOW - timedelta(minutes=98), "x": NOW - timedelta(minutes=101)}
    assert find_gap(old, NOW) == Gap(NOW - timedelta(minutes=98), NOW)


@pytest.mark.parametrize(
    ("length", "ru", "en"),
    [
        (timedelta(minutes=98), "1 ч 38 мин", "1 hr 38 min"),
        (timedelta(hours=2), "2 ч", "2 hr"),
        (timedelta(days=10, hours=3, minutes=5), "10 дн. 3 ч", "10 days 3 hr"),
        (timedelta(seconds=20), "1 мин", "1 min"),
    ],
)
def test_durations_read_naturally(length: timedelta, ru: str, en: str) -> None:
    assert duration(length, "ru") == ru
    assert duration(length, "en") == en


def test_the_notice_in_the_staff_language() -> None:
    gap = Gap(NOW - timedelta(minutes=98), NOW)
    zone = ZoneInfo("Europe/Moscow")
    assert render_gap(gap, translator("ru"), zone) == (
        "⏸ opsbot не работал с 28.11.2026, 18:02 до 28.11.2026, 19:40 (1 ч 38 мин)."
    )
    english = render_gap(gap, translator("en"), zone)
    assert english.startswith("⏸ opsbot was not running from 11/28/26, 6:02")
    assert english.endswith("7:40\u202fPM (1 hr 38 min).")
    assert render_count(0, translator("en")) == "No questions arrived on X meanwhile."
    assert render_count(3, translator("ru")).startswith("За это время в X пришло 3 вопроса")
    assert render_count(1, translator("en")).startswith("1 question arrived")


def test_health_verdict_names_what_is_stale() -> None:
    fresh = {"telegram": NOW - timedelta(seconds=30), "x": NOW - timedelta(seconds=400)}
    assert verdict(fresh, NOW, MAX_AGE) == (
        "healthy: Telegram answered 30 s ago, X answered 400 s ago"
    )
    with pytest.raises(Unhealthy, match=r"^stale: X last answered 400 s ago \(at most 300 s\)$"):
        verdict(fresh, NOW, {**MAX_AGE, "x": 300.0})
    with pytest.raises(Unhealthy, match=r"^stale: Telegram last answered .*; X never answered$"):
        verdict({"telegram": NOW - timedelta(hours=1)}, NOW, MAX_AGE)
