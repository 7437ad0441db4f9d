"""X's text rules: entities by twitter-text's rules, t.co links, a language guess, words.

Entity offsets are code points, end exclusive, as in X's v2 entities. The weighted length lives
in `opsbot.services.tweet_length`, shared with the bot, which must count as X does.
"""

from __future__ import annotations

import hashlib
import re
import sys
import unicodedata
from dataclasses import dataclass
from functools import cache

from opsbot.services.tweet_urls import extract_urls_with_indices


@cache
def _marks() -> str:
    """A character-class body of the Unicode combining marks (twitter-text's \\p{M}).

    `re` has no \\p{...}; scanning the planes that hold marks once is cheap enough.
    Variation selectors are left out: after an emoji (`✌️#tag`) they must not glue the
    hashtag to it, as twitter-text's conformance cases require.
    """
    ranges: list[str] = []
    start: int | None = None
    for code in [*range(0x20000), sys.maxunicode + 1]:
        is_mark = (
            code <= sys.maxunicode
            and not 0xFE00 <= code <= 0xFE0F
            and unicodedata.category(chr(code)).startswith("M")
        )
        if is_mark and start is None:
            start = code
        elif not is_mark and start is not None:
            ranges.append(f"{re.escape(chr(start))}-{re.escape(chr(code - 1))}")
            start = None
    return "".join(ranges)


_HASHTAG_SPECIALS = (
    "\u200c\u200d\ua67e\u05be\u05f3\u05f4\uff5e\u301c\u309b\u309c\u30a0\u30fb\u3003"
    "\u0f0b\u0f0c\u00b7"
)


@cache
def _hashtag_re() -> re.Pattern[str]:
    marks = _marks()
    alnum = rf"(?:\w|[{marks}{_HASHTAG_SPECIALS}])"
    alpha = rf"(?:[^\W\d_]|[{marks}])"
    return re.compile(
        rf"(?<![&\w{marks}{_HASHTAG_SPECIALS}])[#＃](?![\ufe0f\u20e3])({alnum}*{alpha}{alnum}*)"
    )


_HASHTAG_END = re.compile(r"[#＃]|://")
_MENTION = re.compile(
    r"(?:^|[^a-zA-Z0-9_!#$%&*@＠]|(?:^|[^a-zA-Z0-9_+~.-])(?:rt|RT|rT|Rt):?)"
    r"([@＠])([a-zA-Z0-9_]{1,20})(/[a-zA-Z][a-zA-Z0-9_-]{0,24})?"
)
_LATIN_ACCENTS = (
    "\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259"
    "\u025b\u0263\u0268\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff"
)
_MENTION_END = re.compile(rf"[@＠{_LATIN_ACCENTS}]|://")
_SPACES = "\t-\r \x85\xa0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_CASHTAG = re.compile(
    rf"(?:^|(?<=[{_SPACES}]))\$([a-z]{{1,6}}(?:[._][a-z]{{1,2}})?)"
    rf"(?=$|\s|[!\"#%&'()*+,\-./:;<=>?@\[\]^_{{|}}~$\\])",
    re.IGNORECASE,
)
_LEADING_MENTIONS = re.compile(r"^(?:[@＠][A-Za-z0-9_]{1,20}\s+)+")
_WORDS = re.compile(r"\w+")


@dataclass(frozen=True)
class Entity:
    kind: str  # "url" | "mention" | "hashtag" | "cashtag"
    start: int  # code points, end exclusive, as X's v2 entities
    end: int
    value: str  # the URL as written, or the username / tag without its sign


def extract_entities(text: str) -> list[Entity]:
    """URLs, mentions, hashtags and cashtags of `text`, by twitter-text's rules.

    As twitter-text does, an entity inside a URL (`http://x.org/#top`) is not an entity.
    """
    found: list[Entity] = [
        Entity("url", url.start, url.end, url.url) for url in extract_urls_with_indices(text)
    ]
    for m in _MENTION.finditer(text):
        if m.group(3) or _MENTION_END.match(text, m.end()):
            continue
        found.append(Entity("mention", m.start(1), m.end(2), m.group(2)))
    for m in _hashtag_re().finditer(text):
        if _HASHTAG_END.match(text, m.end()):
            continue
        found.append(Entity("hashtag", m.start(), m.end(), m.group(1)))
    for m in _CASHTAG.finditer(text):
        found.append(Entity("cashtag", m.start(), m.end(), m.group(1)))
    found.sort(key=lambda e: (e.start, e.kind != "url"))
    kept: list[Entity] = []
    for entity in found:
        if kept and entity.start < kept[-1].end:
            continue
        kept.append(entity)
    return kept


def _tco(url: str) -> str:
    digest = int.from_bytes(hashlib.sha256(url.encode()).digest()[:8], "big")
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    chars = []
    for _ in range(10):
        digest, rest = divmod(digest, 62)
        chars.append(alphabet[rest])
    return "https://t.co/" + "".join(chars)


def _guess_lang(text: str) -> str:
    bare = re.sub(r"https?://\S+|[@#＠＃$]\w+", " ", text)
    cyrillic = len(re.findall(r"[\u0400-\u04ff]", bare))
    latin = len(re.findall(r"[A-Za-z]", bare))
    if cyrillic == latin == 0:
        return "zxx" if not bare.strip() else "und"
    return "ru" if cyrillic >= latin else "en"


def _words(text: str) -> list[str]:
    return _WORDS.findall(unicodedata.normalize("NFC", text).casefold())
