"""The weighted length and the URLs agree with twitter-text's own conformance data.

The data (validate.yml, extract.yml) is read from `../shared/conformance/twitter-text/` beside
the repository; a clone without it skips those cases and says why.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from opsbot.services.compose import has_link
from opsbot.services.tweet_length import (
    CONFIGS,
    MAX_WEIGHTED_LENGTH,
    fits,
    has_invalid_characters,
    parse,
    weighted_length,
)
from opsbot.services.tweet_urls import extract_urls, extract_urls_with_indices

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance" / "twitter-text"

# validate.yml: the sections that count a weighted length, and the configuration each uses.
LENGTH_SECTIONS = {
    "WeightedTweetsCounterTest": 2,
    "WeightedTweetsWithDiscountedEmojiCounterTest": 3,
    "UnicodeDirectionalMarkerCounterTest": 3,
}
# extract.yml: every section about URLs. Those "with indices" expect [{url, indices}].
URL_SECTIONS = (
    "urls",
    "urls_with_directional_markers",
    "urls_with_indices",
    "tco_urls_with_params",
)


def _cases(name: str, sections: Any) -> list[Any]:
    path = CONFORMANCE / name
    if not path.exists():
        reason = f"twitter-text conformance data is not at {CONFORMANCE} (it lives beside the repo)"
        return [pytest.param(None, None, marks=pytest.mark.skip(reason=reason), id="absent")]
    tests = yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]
    return [
        pytest.param(case, section, id=f"{section}:{case['description']}")
        for section in sections
        for case in tests[section]
    ]


@pytest.mark.parametrize(("case", "section"), _cases("validate.yml", LENGTH_SECTIONS))
def test_weighted_length_conformance(case: dict[str, Any], section: str) -> None:
    version = LENGTH_SECTIONS[section]
    assert parse(case["text"], version=version) == case["expected"]
    assert weighted_length(case["text"], version=version) == case["expected"]["weightedLength"]


@pytest.mark.parametrize(("case", "section"), _cases("validate.yml", ["tweets"]))
def test_tweet_validity_conformance_with_the_140_config(case: dict[str, Any], section: str) -> None:
    assert parse(case["text"], version=1)["valid"] is case["expected"]


def _utf16(text: str, index: int) -> int:
    return len(text[:index].encode("utf-16-le")) // 2


@pytest.mark.parametrize(("case", "section"), _cases("extract.yml", URL_SECTIONS))
def test_url_extraction_conformance(case: dict[str, Any], section: str) -> None:
    text = case["text"]
    expected = case["expected"]
    if expected and isinstance(expected[0], dict):
        got: list[Any] = [
            {"url": url.url, "indices": [_utf16(text, url.start), _utf16(text, url.end)]}
            for url in extract_urls_with_indices(text)
        ]
    else:
        got = extract_urls(text)
    assert got == expected


def test_cyrillic_counts_one_and_emoji_two() -> None:
    assert weighted_length("музей") == 5
    assert weighted_length("🏛") == 2
    assert weighted_length("see https://example.com/a/very/long/path/indeed") == 4 + 23


def test_nfc_before_counting() -> None:
    decomposed = "и\u0306"  # "й" as two code points
    assert weighted_length(decomposed) == 1


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("❤️", 2),  # VS16 belongs to the emoji
        ("👍🏽", 2),  # skin tone
        ("🐦\u200d🔥", 2),  # a ZWJ sequence newer than twitter-text's emoji list
        ("🧑\u200d🧑\u200d🧒", 2),
        ("🇷🇺🇬🇧", 4),  # two flags
        ("🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f", 2),  # Scotland
        ("#️⃣1⃣", 4),  # keycaps, with and without VS16
        ("©", 1),  # text presentation: a Latin-1 character
        ("©️", 2),  # emoji presentation
        ("\u200d", 1),  # a lone ZWJ is punctuation
        ("a\ufe0f", 3),  # a lone VS16 weighs the default
    ],
)
def test_emoji_sequences_count_as_one(text: str, length: int) -> None:
    assert weighted_length(text) == length


def test_emoji_weigh_one_each_without_emoji_parsing() -> None:
    assert CONFIGS[2].emoji_parsing is False
    assert weighted_length("👍🏽", version=2) == 4
    assert weighted_length("👍🏽") == 2


def test_a_url_wins_over_what_looks_like_an_emoji_inside_it() -> None:
    assert weighted_length("https://example.com/#1⃣") == 23 + 2


@pytest.mark.parametrize(
    ("text", "urls"),
    [
        ("Подробнее на shm.ru/exhibitions/new-year", ["shm.ru/exhibitions/new-year"]),
        ("музей.рф и museum.рф", ["museum.рф"]),  # no protocol: the ASCII part only
        ("https://музей.рф/выставка", ["https://музей.рф/выставка"]),
        ("т.е. и т.д.", []),
        ("See HTTPS://Example.COM.", ["HTTPS://Example.COM"]),
        ("https://t.co/abc/def", ["https://t.co/abc"]),
        ("x.com/a_b.", ["x.com/a_b"]),  # a path does not end on a dot
    ],
)
def test_urls_the_museum_writes(text: str, urls: list[str]) -> None:
    assert extract_urls(text) == urls
    assert has_link(text) is bool(urls)


def test_indices_are_code_points() -> None:
    text = "🏛 shm.ru"
    [url] = extract_urls_with_indices(text)
    assert text[url.start : url.end] == url.url == "shm.ru"


@pytest.mark.parametrize(
    "text",
    [
        "a." * 2048,
        "a." * 2040 + "com",
        "あいうえおかきくけこ" * 409 + ".com",
        "あいうえおかきくけこ" * 409 + ".zzz",
        "_a" * 2040 + ".com",
        "http://a.com/" + "(a" * 2040,
        "a.com " * 680,
    ],
    ids=["dots", "dots-tld", "cjk-tld", "cjk-no-tld", "underscores", "parens", "many-urls"],
)
def test_long_pathological_text_is_counted_in_linear_time(text: str) -> None:
    # twitter-text's backtracking regex takes from a second to tens of seconds on these.
    started = time.perf_counter()
    weighted_length(text)
    assert time.perf_counter() - started < 1.0


def test_invalid_characters() -> None:
    assert has_invalid_characters("a\ufffeb")
    assert not has_invalid_characters("обычный текст 🏛")


def test_boundary() -> None:
    assert fits("a" * MAX_WEIGHTED_LENGTH)
    assert not fits("a" * (MAX_WEIGHTED_LENGTH + 1))
    assert not fits("🏛" * 141)
