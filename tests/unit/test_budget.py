"""The month's X spend, its share of the budget, the idle-poll slowdown: no X, no Telegram."""

from __future__ import annotations

import pytest

from opsbot.db.models import UsageKind
from opsbot.services.budget import (
    SLOW_NEAR_END,
    SLOW_WHEN_SPENT,
    Prices,
    estimate,
    idle_slowdown,
)
from opsbot.settings import Settings, SettingsError, load_settings
from tests.unit.test_settings import VALID

# The prices of the brief: search $0.005, owned $0.001, user $0.010, post $0.015,
# reply $0.010, post with a link $0.20.
PRICES = Prices(
    owned_read=0.001, post_read=0.005, user_read=0.010, post=0.015, reply=0.010, link_post=0.20
)


def test_spend_prices_each_kind() -> None:
    counts = {
        UsageKind.OWNED_READ: 1000,
        UsageKind.POST_READ: 200,
        UsageKind.USER_READ: 1,
        UsageKind.REPLY: 30,
        UsageKind.POST: 2,
        UsageKind.LINK_POST: 1,
    }
    spend = estimate(counts, PRICES, budget=10.0)
    assert spend.usd == pytest.approx(1.0 + 1.0 + 0.01 + 0.3 + 0.03 + 0.2)
    assert spend.reads == 1201
    assert spend.posts == 33
    assert spend.fraction == pytest.approx(0.254)
    assert spend.remaining == pytest.approx(10.0 - 2.54)
    assert not spend.needs_warning and not spend.exhausted


def test_no_budget_still_estimates_the_spend() -> None:
    spend = estimate({UsageKind.POST_READ: 100}, PRICES, budget=None)
    assert spend.usd == pytest.approx(0.5)
    assert spend.fraction is None and spend.remaining is None
    assert not spend.needs_warning and not spend.exhausted


@pytest.mark.parametrize(
    ("reads", "warn", "spent"),
    [(1599, False, False), (1600, True, False), (2000, True, True), (5000, True, True)],
)
def test_warning_at_80_percent_and_spent_at_100(reads: int, warn: bool, spent: bool) -> None:
    spend = estimate({UsageKind.POST_READ: reads}, PRICES, budget=10.0)
    assert spend.needs_warning is warn
    assert spend.exhausted is spent
    assert spend.remaining == pytest.approx(max(10.0 - reads * 0.005, 0.0))


def test_a_zero_budget_is_spent_from_the_start() -> None:
    spend = estimate({}, PRICES, budget=0.0)
    assert spend.usd == 0.0 and spend.exhausted


def test_reads_x_reports_beyond_the_bots_count_are_priced_as_search() -> None:
    counts = {UsageKind.OWNED_READ: 100, UsageKind.REPORTED_READS: 150}
    spend = estimate(counts, PRICES, budget=None)
    assert spend.unaccounted_reads == 50
    assert spend.usd == pytest.approx(100 * 0.001 + 50 * 0.005)
    # X counting fewer (a post re-read on one day is billed once) never lowers the estimate.
    fewer = estimate({UsageKind.OWNED_READ: 100, UsageKind.REPORTED_READS: 90}, PRICES, None)
    assert fewer.unaccounted_reads == 0
    assert fewer.usd == pytest.approx(0.1)


def test_idle_polling_slows_as_the_budget_runs_down() -> None:
    assert idle_slowdown(None) == 1.0
    assert idle_slowdown(0.3) == 1.0
    assert idle_slowdown(0.5) == 1.0
    steps = [idle_slowdown(f / 100) for f in range(50, 100)]
    assert steps == sorted(steps)
    assert 1.0 < idle_slowdown(0.8) < SLOW_NEAR_END
    assert idle_slowdown(0.999) == pytest.approx(SLOW_NEAR_END, rel=0.01)
    assert idle_slowdown(1.0) == idle_slowdown(3.0) == SLOW_WHEN_SPENT


def _settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name, value in {**VALID, **env}.items():
        monkeypatch.setenv(name, value)
    return load_settings(_env_file=None)


def test_budget_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(monkeypatch, OPSBOT_X_MONTHLY_BUDGET="25.5")
    assert settings.x_monthly_budget == 25.5
    assert settings.x_prices == PRICES
    # Empty means none: the spend is counted, nothing is measured against it.
    assert _settings(monkeypatch, OPSBOT_X_MONTHLY_BUDGET="").x_monthly_budget is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OPSBOT_X_MONTHLY_BUDGET", "-1"),
        ("OPSBOT_X_MONTHLY_BUDGET", "ten"),
        ("OPSBOT_X_MONTHLY_BUDGET", "inf"),
        ("OPSBOT_X_PRICE_SEARCH_READ", "-0.005"),
        ("OPSBOT_X_PRICE_LINK_POST", "nan"),
    ],
)
def test_bad_budget_settings_are_refused(
    name: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SettingsError, match=f"{name} is malformed"):
        _settings(monkeypatch, **{name: value})
