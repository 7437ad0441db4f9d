"""How long X thinks a text is: twitter-text's weighted length (URL 23, emoji and CJK 2).

X normalises to NFC before counting, so a decomposed "й" counts once, as the curator sees it.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from twitter_text import parse_tweet
from twitter_text.config import config as _configs

MAX_WEIGHTED_LENGTH = 280
# Version 3 is what X counts with today; version 2 is kept for the conformance data.
CONFIGS: dict[int, dict[str, Any]] = {
    2: {**_configs["version2"], "emoji_parsing_enabled": False},
    3: _configs["version3"],
}


def weighted_length(text: str, *, version: int = 3) -> int:
    return int(parse_tweet(unicodedata.normalize("NFC", text), CONFIGS[version]).weightedLength)


def parse(text: str, *, version: int = 3) -> dict[str, Any]:
    """The full twitter-text result (valid, weightedLength, permillage, ranges)."""
    return dict(parse_tweet(text, CONFIGS[version]).asdict())


def fits(text: str) -> bool:
    return weighted_length(text) <= MAX_WEIGHTED_LENGTH
