"""The URLs X finds in a post (each weighs 23 in its length), by twitter-text's rules.

A port of twitter-text's extractUrlsWithIndices, held to its conformance cases. twitter-text
finds a domain with one backtracking regex (`(label.)* label . tld`, tried at every position,
with some 1,600 top-level domains as one alternation); on text such as "a.a.a.a…" or a long run
of CJK with a dot in it that regex takes time quadratic in the length, or worse. Here the same
leftmost, greedy match is computed from the runs of domain characters and the dots between
them, so the cost stays linear:

- a label is a run of domain characters, `_` and `-`, followed by a dot, that starts and ends
  with a domain character; the last label before the top-level domain has no `_`;
- of the labels that follow one another from a start, the domain takes the most it can while
  a top-level domain (twitter-text's list, first listed wins; or `xn--…`) comes next;
- the port, path and query after the domain are matched with twitter-text's own patterns.

Indices are code points, end exclusive. Letters match in either case as in JavaScript's
regexes, where a non-ASCII letter never matches an ASCII one (`ſ` is not `s`).
"""

from __future__ import annotations

import re
import string
from bisect import bisect_right
from typing import NamedTuple

from opsbot.services.tlds import COUNTRY, GENERIC

DEFAULT_PROTOCOL = "https://"
MAX_URL_LENGTH = 4096  # UTF-16 code units, protocol included
MAX_TCO_SLUG_LENGTH = 40
MAX_LABEL_LENGTH = 63


class Url(NamedTuple):
    url: str
    start: int
    end: int


# twitter-text's character groups. Its `punct` leaves out `"` and the backtick.
_PUNCT = "!'#%&()*+,\\-./:;<=>?@[]^_{|}~$"
_SPACES = "\t\n\x0b\x0c\r \x85\xa0\u1680\u180e" + "".join(map(chr, range(0x2000, 0x200B)))
_SPACES += "\u2028\u2029\u202f\u205f\u3000"
_INVALID = "\ufffe\ufeff\uffff"
_DIRECTIONAL = "\u202a\u202b\u202c\u202d\u202e\u061c\u200e\u200f\u2066\u2067\u2068\u2069"
_LATIN_ACCENTS = (
    "\xc0-\xd6\xd8-\xf6\xf8-\xff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259\u025b\u0263\u0268"
    "\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff"
)
_CYRILLIC = "\u0400-\u04ff"


def _escaped(chars: str) -> str:
    return "".join(re.escape(c) for c in chars)


_NOT_IN_DOMAIN = frozenset(_PUNCT + _SPACES + _INVALID + _DIRECTIONAL)
_NOT_IN_LABEL = "".join(sorted(_NOT_IN_DOMAIN - {"_", "-"}))
_LABEL_CHAR = f"[^{_escaped(_NOT_IN_LABEL)}]"
# Runs of label characters joined by single dots. It starts only where a run starts and is
# possessive, so each character is read once.
_CHAIN = re.compile(rf"(?<!{_LABEL_CHAR}){_LABEL_CHAR}++(?:\.{_LABEL_CHAR}++)++")
_DOT_THEN_LABEL = re.compile(rf"\.{_LABEL_CHAR}")
_ASCII_LABEL_RUN = re.compile(rf"[\-a-zA-Z0-9{_LATIN_ACCENTS}]+")
_NOT_BEFORE_URL = frozenset(string.ascii_letters + string.digits + "@＠$#＃" + _INVALID)
_NOT_AFTER_TLD = frozenset(string.ascii_letters + string.digits + "@+-")
_PUNYCODE_CHARS = frozenset(string.ascii_letters + string.digits + "-")
_PROTOCOL = re.compile(r"https?://", re.IGNORECASE | re.ASCII)

_PATH_CHAR = rf"[a-zA-Z{_CYRILLIC}0-9!*';:=+,.$/%#\[\]\-\u2013_~@|&{_LATIN_ACCENTS}]"
_PARENS = rf"\((?:{_PATH_CHAR}+|(?:{_PATH_CHAR}*\({_PATH_CHAR}+\){_PATH_CHAR}*))\)"
_PATH_END = rf"[+\-a-zA-Z{_CYRILLIC}0-9=_#/{_LATIN_ACCENTS}]"
# twitter-text pastes its path-ending pattern, `[…]|(?:parens)`, into the path pattern as
# text, so its `|` splits the path unit there; kept, as the conformance data follows it.
_PATH = rf"(?:{_PATH_CHAR}*(?:{_PARENS}{_PATH_CHAR}*)*{_PATH_END}|{_PARENS}|@{_PATH_CHAR}+/)"
_QUERY = r"\?[a-zA-Z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]*[a-zA-Z0-9\-_&=#/]"
# What may follow the domain: port, path, query. All optional, so this never fails.
_TAIL = re.compile(rf"(?::[0-9]+)?(/{_PATH}*)?(?:{_QUERY})?")
_TCO = re.compile(rf"https?://t\.co/([a-z0-9]+)(?:{_QUERY})?", re.IGNORECASE | re.ASCII)
_IDNA_SEPARATORS = re.compile("[.\u3002\uff0e\uff61]")


def _fold(text: str) -> str:
    """JavaScript's case-insensitive key: upper case, but never from non-ASCII to ASCII."""
    if text.isascii():
        return text.upper()
    folded = []
    for char in text:
        upper = char.upper()
        keep = len(upper) != 1 or (char > "\x7f" and upper <= "\x7f")
        folded.append(char if keep else upper)
    return "".join(folded)


_TLD_RANK = {_fold(tld): rank for rank, tld in reversed(list(enumerate(GENERIC + COUNTRY)))}
_TLD_LENGTHS = sorted({len(tld) for tld in _TLD_RANK})
_TLD_FIRST = frozenset(tld[0] for tld in _TLD_RANK) | {"X"}


def _tld_end(text: str, start: int) -> int | None:
    """Where the top-level domain at `start` ends: the first listed that fits, or `xn--…`."""
    end = len(text)
    if start >= end or _fold(text[start]) not in _TLD_FIRST:
        return None
    limit = start  # a top-level domain is made of domain characters only
    while limit < end and limit - start < _TLD_LENGTHS[-1] and text[limit] not in _NOT_IN_DOMAIN:
        limit += 1
    best: tuple[int, int] | None = None
    for length in _TLD_LENGTHS:
        stop = start + length
        if stop > limit:
            break
        rank = _TLD_RANK.get(_fold(text[start:stop]))
        if rank is None or (stop < end and text[stop] in _NOT_AFTER_TLD):
            continue
        if best is None or rank < best[0]:
            best = (rank, stop)
    if best is not None:
        return best[1]
    if text[start : start + 4].lower() == "xn--":
        stop = start + 4
        while stop < end and text[stop] in _PUNYCODE_CHARS:
            stop += 1
        if stop > start + 4:
            return stop
    return None


class _Labels:
    """The runs of label characters in a text, and how far a domain can reach from each.

    Strict, the rules of a domain: a label starts and ends with a domain character, and the
    label before the top-level domain has no `_`. Loose, the rules of its ASCII part.
    """

    def __init__(self, text: str, runs: list[tuple[int, int]], *, strict: bool) -> None:
        self.text = text
        self.strict = strict
        self.runs = runs
        self.starts = [start for start, _ in self.runs]
        size = len(text)
        self.dotted = [end < size and text[end] == "." for _, end in self.runs]
        self.joined = [
            self.dotted[k] and k + 1 < len(self.runs) and self.runs[k + 1][0] == end + 1
            for k, (_, end) in enumerate(self.runs)
        ]
        self.tld = [
            _tld_end(text, end + 1) if self.dotted[k] else None
            for k, (_, end) in enumerate(self.runs)
        ]
        self.underscore = [text.rfind("_", start, end) for start, end in self.runs]
        # reach[k]: where the domain whose first label is all of run k ends, if it exists.
        self.reach: list[int | None] = [None] * len(self.runs)
        for k in range(len(self.runs) - 1, -1, -1):
            self.reach[k] = self._end(k, self.runs[k][0])

    def _closed(self, k: int) -> bool:
        end = self.runs[k][1]
        return self.dotted[k] and not (self.strict and self.text[end - 1] in "_-")

    def _end(self, k: int, start: int) -> int | None:
        """The end of the domain from `start` in run k: the most labels a TLD can follow."""
        if not self._closed(k) or (self.strict and self.text[start] in "_-"):
            return None
        further = self.reach[k + 1] if self.joined[k] else None
        if further is not None:
            return further
        if self.strict and self.underscore[k] >= start:
            return None
        return self.tld[k]

    def domain_end(self, start: int) -> int | None:
        k = bisect_right(self.starts, start) - 1
        if k < 0 or start >= self.runs[k][1]:
            return None
        return self._end(k, start)

    def candidates(self) -> list[int]:
        """Every position a domain may start at, in order."""
        found: list[int] = []
        for k, (start, end) in enumerate(self.runs):
            further = self.reach[k + 1] if self.joined[k] else None
            if self._closed(k) and (further is not None or self.tld[k] is not None):
                found.extend(range(start, end))
        return found


def _joined_runs(text: str) -> list[tuple[int, int]]:
    """The runs of label characters that a dot joins to another: only they can be a domain."""
    runs: list[tuple[int, int]] = []
    for chain in _CHAIN.finditer(text):
        start, end = chain.span()
        dot = text.find(".", start, end)
        while dot >= 0:
            runs.append((start, dot))
            start = dot + 1
            dot = text.find(".", start, end)
        runs.append((start, end))
    return runs


def _ascii_domains(domain: str) -> list[tuple[int, int]]:
    """The ASCII-only domains inside `domain`, as twitter-text's validAsciiDomain finds them."""
    runs = [m.span() for m in _ASCII_LABEL_RUN.finditer(domain)]
    labels = _Labels(domain, runs, strict=False)
    found: list[tuple[int, int]] = []
    position = 0
    for k, (start, end) in enumerate(labels.runs):
        reach = labels.reach[k]
        if end <= position or reach is None:
            continue
        found.append((max(start, position), reach))
        position = reach
    return found


def _to_ascii(domain: str) -> str | None:
    """twitter-text's IDNA check: each label, punycoded, must be 1 to 63 characters long."""
    if domain.startswith("xn--") and not _ascii_domains(domain):
        return None
    for label in domain.split("."):
        parts = []
        for part in _IDNA_SEPARATORS.split(label):
            if any(c > "\x7e" for c in part):
                if len(part) + len("xn--") > MAX_LABEL_LENGTH:
                    return None  # punycode never shortens a label, and "xn--" comes on top
                try:
                    part = "xn--" + part.encode("punycode").decode("ascii")
                except UnicodeError:
                    return None
            parts.append(part)
        if not 1 <= len(".".join(parts)) <= MAX_LABEL_LENGTH:
            return None
    return domain


def _utf16_length(text: str) -> int:
    return len(text) + sum(1 for c in text if c > "\uffff")


def _valid_url(url: str, protocol: str, domain: str) -> bool:
    if _to_ascii(domain) is None:
        return False
    # twitter-text counts the protocol twice when the URL has one; kept, to agree with it.
    return len(protocol) + _utf16_length(url) <= MAX_URL_LENGTH


class _Match(NamedTuple):
    before: str
    start: int  # of the URL, protocol included
    protocol: str
    domain_start: int
    domain_end: int


def _match_at(text: str, labels: _Labels, position: int) -> _Match | None:
    """twitter-text's URL regex tried at `position` (the character before the URL, or ^)."""
    attempts: list[tuple[str, int]] = []
    if position < len(text) and text[position] not in _NOT_BEFORE_URL:
        attempts.append((text[position], position + 1))
    if position == 0:
        attempts.append(("", 0))
    for before, start in attempts:
        protocol = _PROTOCOL.match(text, start)
        if protocol:
            end = labels.domain_end(protocol.end())
            if end is not None:
                return _Match(before, start, protocol.group(), protocol.end(), end)
        end = labels.domain_end(start)
        if end is not None:
            return _Match(before, start, "", start, end)
    return None


def extract_urls_with_indices(text: str) -> list[Url]:
    if not _DOT_THEN_LABEL.search(text):
        return []  # every domain has a dot with a label character after it
    labels = _Labels(text, _joined_runs(text), strict=True)
    starts = labels.candidates()
    if not starts:
        return []
    # The regex is tried from the character before the URL; at 0 it may also start with ^.
    positions = {max(start - 1, 0) for start in starts}
    for protocol in _PROTOCOL.finditer(text):
        positions.add(max(protocol.start() - 1, 0))
    urls: list[Url] = []
    resume = 0
    for position in sorted(positions):
        if position < resume:
            continue
        match = _match_at(text, labels, position)
        if match is None:
            continue
        tail = _TAIL.match(text, match.domain_end)
        assert tail is not None  # every part of it is optional
        resume = end = tail.end()
        url = text[match.start : end]
        domain = text[match.domain_start : match.domain_end]
        if not _valid_url(url, match.protocol or DEFAULT_PROTOCOL, domain):
            continue
        if match.protocol:
            tco = _TCO.match(url)
            if tco:
                if len(tco.group(1)) > MAX_TCO_SLUG_LENGTH:
                    continue
                url = tco.group()
                end = match.start + len(url)
            urls.append(Url(url, match.start, end))
            continue
        if match.before in ("-", "_", ".", "/"):
            continue
        found = [
            Url(domain[a:b], match.start + a, match.start + b) for a, b in _ascii_domains(domain)
        ]
        if found and tail.group(1):
            last = found[-1]
            found[-1] = Url(url.replace(domain, last.url, 1), last.start, end)
        urls.extend(found)
    return urls


def extract_urls(text: str) -> list[str]:
    return [url.url for url in extract_urls_with_indices(text)]
