"""The weighted length agrees with twitter-text's own conformance data."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from opsbot.services.tweet_length import MAX_WEIGHTED_LENGTH, fits, parse, weighted_length
from tests.conftest import shared_path

SECTIONS = {
    "WeightedTweetsCounterTest": 2,
    "WeightedTweetsWithDiscountedEmojiCounterTest": 3,
    "UnicodeDirectionalMarkerCounterTest": 3,
}


def conformance_cases() -> list[Any]:
    data = yaml.safe_load(shared_path("conformance", "twitter-text", "validate.yml").read_text())
    return [
        pytest.param(case, version, id=f"{section}:{case['description']}")
        for section, version in SECTIONS.items()
        for case in data["tests"][section]
    ]


def test_all_44_conformance_cases() -> None:
    cases = conformance_cases()
    assert len(cases) == 44
    failures = []
    for param in cases:
        case, version = param.values
        result = parse(case["text"], version=version)
        expected = case["expected"]
        if any(result[key] != value for key, value in expected.items()):
            failures.append((param.id, expected, result))
    assert failures == []


def test_cyrillic_counts_one_and_emoji_two() -> None:
    assert weighted_length("музей") == 5
    assert weighted_length("🏛") == 2
    assert weighted_length("see https://example.com/a/very/long/path/indeed") == 4 + 23


def test_nfc_before_counting() -> None:
    decomposed = "и\u0306"  # "й" as two code points
    assert weighted_length(decomposed) == 1


def test_boundary() -> None:
    assert fits("a" * MAX_WEIGHTED_LENGTH)
    assert not fits("a" * (MAX_WEIGHTED_LENGTH + 1))
    assert not fits("🏛" * 141)
