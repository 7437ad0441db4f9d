"""How long X thinks a text is: twitter-text's weighted length (URL 23, emoji and CJK 2).

A port of twitter-text's parseTweet, held to its conformance data. The text is normalised to
NFC first, so a decomposed "й" counts once, as the curator sees it. Then, left to right, a URL
weighs `transformed_url_length`, an emoji (however many code points) the default weight, and
any other code point the weight of the configured range it falls in, else the default weight;
the sum is divided by the scale. A URL wins over an emoji that starts where it does.

Every step is linear in the length of the text, as every preview counts and splitting a long
answer into a thread counts many times: the URL and emoji finders are, and the plain text
between them is weighed by compiled character classes rather than character by character.
Indices in `parse` are UTF-16 code units, as in twitter-text.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from opsbot.services.tweet_emoji import emoji_spans
from opsbot.services.tweet_urls import extract_urls_with_indices

MAX_WEIGHTED_LENGTH = 280
_INVALID = re.compile("[\ufffe\ufeff\uffff]")


@dataclass(frozen=True)
class Config:
    """One of twitter-text's counting configurations (its config/v*.json)."""

    version: int
    max_weighted_length: int
    scale: int
    default_weight: int
    transformed_url_length: int
    ranges: tuple[tuple[int, int, int], ...]  # first and last code point, weight
    emoji_parsing: bool

    def weight(self, char: str) -> int:
        code = ord(char)
        for first, last, weight in self.ranges:
            if first <= code <= last:
                return weight
        return self.default_weight


_LATIN_AND_PUNCTUATION = ((0, 4351, 100), (8192, 8205, 100), (8208, 8223, 100), (8242, 8247, 100))
# Version 3 is what X counts with today; 1 and 2 are kept for the conformance data.
CONFIGS: dict[int, Config] = {
    1: Config(1, 140, 1, 1, 23, (), emoji_parsing=False),
    2: Config(2, 280, 100, 200, 23, _LATIN_AND_PUNCTUATION, emoji_parsing=False),
    3: Config(3, 280, 100, 200, 23, _LATIN_AND_PUNCTUATION, emoji_parsing=True),
}


@cache
def _classes(config: Config) -> tuple[tuple[int, re.Pattern[str]], ...]:
    """Per weight other than the default, a pattern of the runs of code points it covers."""
    parts: dict[int, list[str]] = {}
    for first, last, weight in config.ranges:
        parts.setdefault(weight, []).append(f"{re.escape(chr(first))}-{re.escape(chr(last))}")
    return tuple((weight, re.compile(f"[{''.join(p)}]+")) for weight, p in parts.items())


def _weigh(text: str, start: int, end: int, config: Config) -> int:
    """The scaled weight of plain text[start:end], at the speed of the regex engine."""
    total = config.default_weight * (end - start)
    for weight, pattern in _classes(config):
        covered = sum(m.end() - m.start() for m in pattern.finditer(text, start, end))
        total += (weight - config.default_weight) * covered
    return total


def _pieces(text: str, config: Config) -> Iterator[tuple[int, int, int | None]]:
    """(start, end, weight) over all of `text`: each URL and emoji with its scaled weight, and
    the plain text between them with None. What starts inside a URL or emoji is part of it."""
    entities: dict[int, tuple[int, int]] = {}
    if config.emoji_parsing:
        entities = {start: (end, config.default_weight) for start, end in emoji_spans(text)}
    url_weight = config.transformed_url_length * config.scale
    entities.update((url.start, (url.end, url_weight)) for url in extract_urls_with_indices(text))
    position = 0
    for start in sorted(entities):
        if start < position:
            continue
        if start > position:
            yield position, start, None
        position, weight = entities[start]
        yield start, position, weight
    if position < len(text):
        yield position, len(text), None


def weighted_length(text: str, *, version: int = 3) -> int:
    config = CONFIGS[version]
    text = unicodedata.normalize("NFC", text)
    total = 0
    for start, end, weight in _pieces(text, config):
        total += _weigh(text, start, end, config) if weight is None else weight
    return total // config.scale


def has_invalid_characters(text: str) -> bool:
    """U+FFFE, U+FEFF and U+FFFF, which X refuses in a post."""
    return _INVALID.search(text) is not None


def _utf16_length(text: str) -> int:
    return len(text) + sum(1 for c in text if c > "\uffff")


def parse(text: str, *, version: int = 3) -> dict[str, Any]:
    """twitter-text's full result: weightedLength, valid, permillage, and the valid range."""
    config = CONFIGS[version]
    normalized = unicodedata.normalize("NFC", text)
    limit = config.max_weighted_length * config.scale
    total = 0
    valid = True
    valid_end = 0  # UTF-16 index of the last code unit that still fits
    offset = 0
    for start, end, weight in _pieces(normalized, config):
        units = (
            [(start, end, weight)]
            if weight is not None
            else [(i, i + 1, config.weight(normalized[i])) for i in range(start, end)]
        )
        for first, stop, unit_weight in units:
            total += unit_weight
            offset += _utf16_length(normalized[first:stop])
            # As twitter-text: only the last code point of a URL or emoji is checked.
            valid = valid and not has_invalid_characters(normalized[stop - 1])
            if valid and total <= limit:
                valid_end = offset - 1
    length = total // config.scale
    display = _utf16_length(text)
    return {
        "weightedLength": length,
        "valid": valid and 0 < length <= config.max_weighted_length,
        "permillage": math.floor(length / config.max_weighted_length * 1000),
        "validRangeStart": 0,
        "validRangeEnd": valid_end + display - _utf16_length(normalized),
        "displayRangeStart": 0,
        "displayRangeEnd": max(display - 1, 0),
    }


def fits(text: str) -> bool:
    return weighted_length(text) <= MAX_WEIGHTED_LENGTH
