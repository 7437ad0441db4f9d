"""Recent search's query language, compiled into a predicate over stored posts.

Juxtaposition is AND and binds tighter than OR; parentheses group and `-` negates. As on X, a
query needs a standalone operator: is:, has:, lang: and negations only narrow one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opsbot.emulators.x.params import _ID
from opsbot.emulators.x.text import _words
from opsbot.emulators.x.world import Post, _entity_values, _refs


class QueryError(ValueError):
    """The query is not one X would accept; the message says why."""


@dataclass(frozen=True)
class _Context:
    user_id_for: Callable[[str], str | None]
    user: Callable[[str], dict[str, Any] | None]
    post: Callable[[str], Post | None]


Predicate = Callable[[Post], bool]


@dataclass(frozen=True)
class _Node:
    match: Predicate
    # X refuses a query made only of "conjunction-required" operators (is:, has:, lang:)
    # or only of negations: something must select posts on its own.
    standalone: bool


_CONJUNCTION_ONLY = {
    "is": {"retweet", "reply", "quote", "verified", "nullcast"},
    "has": {"links", "mentions", "hashtags", "cashtags", "media", "images", "videos", "geo"},
}
_STANDALONE_OPERATORS = {
    "from",
    "to",
    "retweets_of",
    "conversation_id",
    "in_reply_to_tweet_id",
    "quotes_of_tweet_id",
    "retweets_of_tweet_id",
    "url",
}


def _contains_run(words: list[str], run: list[str]) -> bool:
    n = len(run)
    return any(words[i : i + n] == run for i in range(len(words) - n + 1))


def _scan(query: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    i = 0
    while i < len(query):
        char = query[i]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append((char, char))
            i += 1
        elif char == "-" and i + 1 < len(query) and not query[i + 1].isspace():
            tokens.append(("NEG", char))
            i += 1
        elif char == '"':
            end = query.find('"', i + 1)
            if end < 0:
                raise QueryError("a quoted phrase is not closed")
            tokens.append(("PHRASE", query[i + 1 : end]))
            i = end + 1
        else:
            j = i
            while j < len(query) and not query[j].isspace() and query[j] not in '()"':
                j += 1
            word = query[i:j]
            if word.endswith(":") and j < len(query) and query[j] == '"':
                end = query.find('"', j + 1)
                if end < 0:
                    raise QueryError("a quoted operator value is not closed")
                word += query[j + 1 : end]
                j = end + 1
            tokens.append(("OR" if word == "OR" else "TERM", word))
            i = j
    return tokens


class _Parser:
    """Recursive descent over X's grammar: juxtaposition is AND and binds tighter than OR."""

    def __init__(self, tokens: list[tuple[str, str]], ctx: _Context) -> None:
        self.tokens = tokens
        self.pos = 0
        self.ctx = ctx

    def _peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def parse(self) -> _Node:
        node = self._or()
        if self._peek() is not None:
            raise QueryError("unbalanced parentheses: an unexpected ')'")
        return node

    def _or(self) -> _Node:
        parts = [self._and()]
        while self._peek() == "OR":
            self.pos += 1
            parts.append(self._and())
        if len(parts) == 1:
            return parts[0]
        return _Node(lambda p: any(n.match(p) for n in parts), all(n.standalone for n in parts))

    def _and(self) -> _Node:
        parts: list[_Node] = []
        while self._peek() not in (None, ")", "OR"):
            parts.append(self._unary())
        if not parts:
            raise QueryError("an empty group or a dangling OR")
        if len(parts) == 1:
            return parts[0]
        return _Node(lambda p: all(n.match(p) for n in parts), any(n.standalone for n in parts))

    def _unary(self) -> _Node:
        if self._peek() == "NEG":
            self.pos += 1
            inner = self._atom()
            return _Node(lambda p: not inner.match(p), False)
        return self._atom()

    def _atom(self) -> _Node:
        kind, value = self.tokens[self.pos]
        self.pos += 1
        if kind == "(":
            node = self._or()
            if self._peek() != ")":
                raise QueryError("unbalanced parentheses: a '(' is not closed")
            self.pos += 1
            return node
        if kind == ")":
            raise QueryError("unbalanced parentheses: an unexpected ')'")
        if kind == "PHRASE":
            return self._keyword(value)
        if kind == "NEG":
            raise QueryError("a negation must precede a term or a group")
        return self._term(value)

    def _keyword(self, text: str) -> _Node:
        run = _words(text)
        if not run:
            raise QueryError(f"the term '{text}' has nothing to match")
        return _Node(lambda p: _contains_run(_words(p["text"]), run), True)

    def _term(self, word: str) -> _Node:
        ctx = self.ctx
        if word[0] in "#＃" and len(word) > 1:
            tag = unicodedata.normalize("NFC", word[1:]).casefold()
            return _Node(
                lambda p: any(
                    unicodedata.normalize("NFC", t).casefold() == tag
                    for t in _entity_values(p, "hashtags", "tag")
                ),
                True,
            )
        if word[0] in "@＠" and len(word) > 1:
            name = word[1:].casefold()
            return _Node(
                lambda p: any(
                    u.casefold() == name for u in _entity_values(p, "mentions", "username")
                ),
                True,
            )
        if word[0] == "$" and len(word) > 1 and not word[1].isdigit():
            cash = word[1:].casefold()
            return _Node(
                lambda p: any(t.casefold() == cash for t in _entity_values(p, "cashtags", "tag")),
                True,
            )
        operator, colon, value = word.partition(":")
        if colon and re.fullmatch(r"[a-z_]+", operator):
            return self._operator(operator, value, word, ctx)
        return self._keyword(word)

    def _operator(self, operator: str, value: str, word: str, ctx: _Context) -> _Node:
        if not value:
            raise QueryError(f"the operator '{operator}:' needs a value")
        if operator in _CONJUNCTION_ONLY:
            if value not in _CONJUNCTION_ONLY[operator]:
                raise QueryError(f"Reference to invalid operator '{word}'")
            return _Node(self._flag(operator, value, ctx), False)
        if operator == "lang":
            return _Node(lambda p: p.get("lang") == value, False)
        if operator not in _STANDALONE_OPERATORS:
            raise QueryError(f"Reference to invalid operator '{operator}:'")
        if operator in ("from", "to", "retweets_of"):
            handle = value.removeprefix("@")
            uid = handle if _ID.match(handle) else ctx.user_id_for(handle)
            if operator == "from":
                return _Node(lambda p: uid is not None and p["author_id"] == uid, True)
            if operator == "to":
                return _Node(
                    lambda p: uid is not None and p.get("in_reply_to_user_id") == uid, True
                )

            def retweets_of(p: Post) -> bool:
                originals = [ctx.post(i) for i in _refs(p, "retweeted")]
                return any(o is not None and o["author_id"] == uid for o in originals)

            return _Node(retweets_of, True)
        if operator == "url":
            needle = value.casefold()
            return _Node(
                lambda p: any(
                    needle in e.get("expanded_url", "").casefold() or needle in e.get("url", "")
                    for e in p.get("entities", {}).get("urls", [])
                ),
                True,
            )
        if not _ID.match(value):
            raise QueryError(f"the operator '{operator}:' needs a post id")
        ref_kind = {
            "in_reply_to_tweet_id": "replied_to",
            "quotes_of_tweet_id": "quoted",
            "retweets_of_tweet_id": "retweeted",
        }.get(operator)
        if ref_kind is None:
            return _Node(lambda p: p.get("conversation_id") == value, True)
        return _Node(lambda p: value in _refs(p, ref_kind), True)

    @staticmethod
    def _flag(operator: str, value: str, ctx: _Context) -> Predicate:
        if operator == "is":
            if value == "retweet":
                return lambda p: bool(_refs(p, "retweeted"))
            if value == "reply":
                return lambda p: bool(_refs(p, "replied_to"))
            if value == "quote":
                return lambda p: bool(_refs(p, "quoted"))
            if value == "verified":
                return lambda p: bool((ctx.user(p["author_id"]) or {}).get("verified"))
            return lambda p: False  # nullcast posts never reach search
        kinds = {
            "links": "urls",
            "mentions": "mentions",
            "hashtags": "hashtags",
            "cashtags": "cashtags",
        }
        if value in kinds:
            kind = kinds[value]
            return lambda p: bool(p.get("entities", {}).get(kind))
        return lambda p: False  # no media, no geo in this emulator


def parse_query(query: str, ctx: _Context) -> Predicate:
    """Compile a recent-search query into a predicate, or raise QueryError as X would 400."""
    tokens = _scan(query)
    if not tokens:
        raise QueryError("the query is empty")
    node = _Parser(tokens, ctx).parse()
    if not node.standalone:
        raise QueryError(
            "the query needs at least one standalone operator (a keyword, #hashtag, @mention, "
            "from:, to:, conversation_id: ...); is:, has:, lang: and negations only narrow it"
        )
    return node.match
