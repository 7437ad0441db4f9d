"""The text X receives: the curator's words, signature, the visitor's hashtag, thread parts."""

from __future__ import annotations

import pytest

from opsbot.services.compose import answer_hashtags, compose, split_thread
from opsbot.services.posts import normalise_handle
from opsbot.services.tweet_length import MAX_WEIGHTED_LENGTH, fits, weighted_length

TAGS = ["#museum", "#музей"]


def test_the_visitors_hashtag_comes_first() -> None:
    assert answer_hashtags("Вопрос #МУЗЕЙ", TAGS) == ["#музей", "#museum"]
    assert answer_hashtags("A question for @museum", TAGS) == TAGS
    # A longer tag that merely starts with the salon's is not the salon's.
    assert answer_hashtags("#museumnight", TAGS) == TAGS


def test_compose_signs_and_tags_once() -> None:
    assert compose(" In 1898. ", hashtags=TAGS, signature="Anna") == "In 1898.\n— Anna #museum"
    assert compose("In 1898 #museum", hashtags=TAGS, signature="– Anna") == (
        "In 1898 #museum\n– Anna"
    )


@pytest.mark.parametrize(
    "text",
    [
        " ".join(["Words of a long answer about the museum's history."] * 20),
        "Длинный ответ о коллекции музея, написанный кириллицей. " * 15,
        "x" * 900,
        "https://museum.ru/collection/" + "a" * 60 + " see " * 100,
    ],
)
def test_a_thread_keeps_every_part_within_the_limit(text: str) -> None:
    parts = split_thread(text, hashtags=TAGS, signature="Anna")
    assert len(parts) >= 2
    assert all(fits(p) and weighted_length(p) <= MAX_WEIGHTED_LENGTH for p in parts)
    assert all(p.endswith(f"#museum ({n}/{len(parts)})") for n, p in enumerate(parts, 1))
    assert "— Anna" in parts[-1]
    words = [w for p in parts for w in p.split() if not w.startswith(("#museum", "("))]
    assert "".join(words).replace("—Anna", "").replace("—", "") == "".join(text.split())


@pytest.mark.parametrize(
    ("text", "handle"),
    [("@Visitor_1", "visitor_1"), (" anna ", "anna"), ("@", None), ("@bad-handle", None)],
)
def test_handles_are_normalised_or_refused(text: str, handle: str | None) -> None:
    assert normalise_handle(text) == handle
