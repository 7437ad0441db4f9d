"""Entities as tdlib fixes them, and the entities Telegram detects in a text by itself.

Offsets and lengths are UTF-16 code units, as in the Bot API. `normalize` is what Telegram
stores for a text and its entities (tdlib's fix_formatted_text): control characters become
spaces, entities are validated, merged, split and trimmed with the text, and auto-detected
mentions, hashtags, cashtags, commands, URLs and e-mails are added where they do not clash.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from typing import Any

from opsbot.emulators.telegram.formatting.links import _valid_host

Entity = dict[str, Any]


class TextError(ValueError):
    """tdlib rejected the text or its entities (``fix_formatted_text``); `message` is tdlib's."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


SPLITTABLE = frozenset({"bold", "italic", "underline", "strikethrough", "spoiler"})
BLOCKQUOTES = frozenset({"blockquote", "expandable_blockquote"})
PRE = frozenset({"pre", "code"})
# Entities a sender may set; the rest (url, mention, ...) Telegram detects by itself and
# ignores when a bot passes them in `entities`.
USER_ENTITY_TYPES = SPLITTABLE | BLOCKQUOTES | PRE | {"text_link", "text_mention", "custom_emoji"}
AUTO_ENTITY_TYPES = frozenset(
    {"mention", "hashtag", "cashtag", "bot_command", "url", "email", "phone_number"}
)
ENTITY_TYPES = USER_ENTITY_TYPES | AUTO_ENTITY_TYPES | {"date_time"}

# tdlib's MessageEntity::get_type_priority: decides the order of entities that share a span.
_PRIORITY = {
    "mention": 50, "hashtag": 50, "bot_command": 50, "url": 50, "email": 50,
    "bold": 90, "italic": 91, "code": 20, "pre": 11, "text_link": 49, "text_mention": 49,
    "cashtag": 50, "phone_number": 50, "underline": 92, "strikethrough": 93,
    "blockquote": 0, "spoiler": 94, "custom_emoji": 99, "expandable_blockquote": 0,
    "date_time": 50,
}  # fmt: skip


def utf16_len(text: str) -> int:
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def _sort_key(entity: Entity) -> tuple[int, int, int]:
    # tdlib's operator<: by offset, longer first, then by type priority.
    return (entity["offset"], -entity["length"], _PRIORITY.get(entity["type"], 50))


def sort_entities(entities: list[Entity]) -> list[Entity]:
    return sorted(entities, key=_sort_key)


# --- entity clean-up (tdlib's fix_formatted_text) ---------------------------------------------


def _end(entity: Entity) -> int:
    return int(entity["offset"]) + int(entity["length"])


def _category(kind: str) -> str:
    if kind in SPLITTABLE:
        return "splittable"
    if kind in BLOCKQUOTES:
        return "blockquote"
    if kind in PRE:
        return "pre"
    return "continuous"


def _type_key(entity: Entity) -> str:
    # tdlib tells Pre from PreCode; two same-typed entities may not nest.
    if entity["type"] == "pre" and entity.get("language"):
        return "pre_code"
    return str(entity["type"])


def _are_valid(entities: list[Entity]) -> bool:
    end_pos: dict[str, int] = {}
    stack: list[Entity] = []
    mask: Counter[str] = Counter()
    for entity in entities:
        while stack and entity["offset"] >= _end(stack[-1]):
            mask[_type_key(stack[-1])] -= 1
            stack.pop()
        if stack:
            if _end(entity) > _end(stack[-1]):
                return False
            if mask[_type_key(entity)] > 0:
                return False
            if _category(stack[-1]["type"]) == "pre":
                return False
            present = {k for k, v in mask.items() if v > 0}
            kinds = {_category("pre" if k == "pre_code" else k) for k in present}
            if _category(entity["type"]) == "pre" and kinds - {"blockquote"}:
                return False
            if _category(entity["type"]) in ("continuous", "blockquote") and (
                "continuous" in kinds
            ):
                return False
            if "splittable" in kinds:
                return False
        if entity["type"] in SPLITTABLE:
            if end_pos.get(entity["type"], -1) >= entity["offset"]:
                return False
            end_pos[entity["type"]] = _end(entity)
        stack.append(entity)
        mask[_type_key(entity)] += 1
    return True


def _remove_intersecting(entities: list[Entity]) -> list[Entity]:
    kept: list[Entity] = []
    last_end = 0
    for entity in sort_entities(entities):
        if entity["offset"] >= last_end:
            last_end = _end(entity)
            kept.append(entity)
    return kept


def _remove_intersecting_blockquote(
    entities: list[Entity], blockquotes: list[Entity]
) -> list[Entity]:
    kept = []
    for entity in entities:
        broken = False
        for quote in blockquotes:
            inside = quote["offset"] <= entity["offset"] and _end(entity) <= _end(quote)
            overlaps = entity["offset"] < _end(quote) and quote["offset"] < _end(entity)
            if overlaps and not inside:
                broken = True
                break
        if not broken:
            kept.append(entity)
    return kept


def _split(splittable: list[Entity], others: list[Entity]) -> list[Entity]:
    """Merge same-typed formatting, cut it at the edges of other entities, drop it inside code."""
    cuts = sorted({e["offset"] for e in others} | {_end(e) for e in others})
    code_spans = [(e["offset"], _end(e)) for e in others if e["type"] in PRE]
    result: list[Entity] = []
    for kind in ("bold", "italic", "underline", "strikethrough", "spoiler"):
        spans = sorted((e["offset"], _end(e)) for e in splittable if e["type"] == kind)
        merged: list[list[int]] = []
        for start, stop in spans:
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], stop)
            else:
                merged.append([start, stop])
        for start, stop in merged:
            points = [start, *[c for c in cuts if start < c < stop], stop]
            for a, b in itertools.pairwise(points):
                if any(cs <= a and b <= ce for cs, ce in code_spans):
                    continue
                result.append({"type": kind, "offset": a, "length": b - a})
    return result


def fix_entities(entities: list[Entity]) -> list[Entity]:
    entities = sort_entities(entities)
    if _are_valid(entities):
        return entities
    splittable = [e for e in entities if e["type"] in SPLITTABLE]
    blockquotes = [e for e in entities if e["type"] in BLOCKQUOTES]
    continuous = _remove_intersecting(
        [e for e in entities if e["type"] not in SPLITTABLE and e["type"] not in BLOCKQUOTES]
    )
    if blockquotes:
        blockquotes = _remove_intersecting(blockquotes)
        continuous = _remove_intersecting_blockquote(continuous, blockquotes)
        continuous = sort_entities(continuous + blockquotes)
    return sort_entities(continuous + _split(splittable, continuous))


def _to_units(text: str) -> list[str]:
    """The text as a list indexed by UTF-16 offset (the second half of a pair is "")."""
    units: list[str] = []
    for ch in text:
        units.append(ch)
        if ord(ch) > 0xFFFF:
            units.append("")
    return units


def _byte_offset(units: list[str], utf16_offset: int) -> int:
    return len("".join(units[:utf16_offset]).encode("utf-8"))


_DROPPED_CHARS = frozenset("\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u0333\u033f\u030a")


def normalize(
    text: str, entities: list[Entity], *, allow_empty: bool = False
) -> tuple[str, list[Entity]]:
    """What Telegram stores for (text, entities): tdlib's fix_formatted_text.

    Control characters become spaces, ``\\r`` and a few invisible marks are removed, entities
    are validated, merged and split, trailing whitespace goes, leading whitespace before the
    first entity goes. Raises TextError with tdlib's message.
    """
    for entity in entities:
        if not 0 <= entity["offset"] <= 1_000_000:
            raise TextError(f"Receive an entity with incorrect offset {entity['offset']}")
        if not 0 <= entity["length"] <= 1_000_000:
            raise TextError(f"Receive an entity with incorrect length {entity['length']}")
    entities = [dict(e) for e in entities if e["length"] > 0]
    entities = fix_entities(entities)

    units = _to_units(text)
    total = len(units)
    for entity in entities:
        if entity["offset"] > total:
            raise TextError(
                f"Entity begins after the end of the text at UTF-16 offset {entity['offset']}"
            )
        if _end(entity) > total:
            raise TextError(
                f"Entity beginning at UTF-16 offset {entity['offset']} ends after the end of "
                f"the text at UTF-16 offset {_end(entity)}"
            )
        if entity["offset"] < total and units[entity["offset"]] == "":
            raise TextError(
                "Entity begins in a middle of a UTF-16 symbol at byte offset "
                f"{_byte_offset(units, entity['offset'] + 1)}"
            )
        if _end(entity) < total and units[_end(entity)] == "":
            raise TextError(
                f"Entity beginning at UTF-16 offset {entity['offset']} ends in a middle of a "
                f"UTF-16 symbol at byte offset {_byte_offset(units, _end(entity) + 1)}"
            )

    # Clean characters, remembering how many UTF-16 units were removed before each position.
    kept: list[str] = []
    removed_before = [0] * (total + 1)
    removed = 0
    for pos, unit in enumerate(units):
        removed_before[pos] = removed
        if unit == "":
            kept.append(unit)
            continue
        if unit == "\r" or unit in _DROPPED_CHARS:
            removed += 1
            continue
        kept.append(" " if ord(unit) < 32 and unit != "\n" else unit)
    removed_before[total] = removed
    for entity in entities:
        start, stop = entity["offset"], _end(entity)
        entity["offset"] = start - removed_before[start]
        entity["length"] = (stop - removed_before[stop]) - entity["offset"]
    entities = fix_entities([e for e in entities if e["length"] > 0])

    last = len(kept) - 1
    while last >= 0 and kept[last] in (" ", "\n"):
        last -= 1
    if last < 0:
        if allow_empty:
            return "", []
        raise TextError("Text must be non-empty")
    kept = kept[: last + 1]
    trimmed: list[Entity] = []
    for entity in entities:
        if entity["offset"] > last:
            continue
        if _end(entity) > last + 1:
            entity["length"] = last + 1 - entity["offset"]
        trimmed.append(entity)
    first_entity = min((e["offset"] for e in trimmed), default=len(kept))
    lead = 0
    while lead < first_entity and kept[lead] in (" ", "\n"):
        lead += 1
    kept = kept[lead:]
    for entity in trimmed:
        entity["offset"] -= lead
    result = "".join(kept)
    entities = sort_entities(trimmed)
    return result, merge_entities(entities, find_auto_entities(result))


def merge_entities(entities: list[Entity], found: list[Entity]) -> list[Entity]:
    """Add auto-detected entities where they do not clash with what the sender formatted."""
    blocked = [e for e in entities if e["type"] not in SPLITTABLE and e["type"] not in BLOCKQUOTES]
    quotes = [e for e in entities if e["type"] in BLOCKQUOTES]
    added = []
    for entity in _remove_intersecting_blockquote(found, quotes):
        if any(entity["offset"] < _end(b) and b["offset"] < _end(entity) for b in blocked):
            continue
        added.append(entity)
    return fix_entities(entities + added)


# --- auto-detected entities -------------------------------------------------------------------


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _is_hashtag_char(ch: str) -> bool:
    return ch.isalpha() or ch.isdecimal() or ch in "_\u200c\u00b7" or "\u0d80" <= ch <= "\u0dff"


_URL_END_TRIM = ".:;,('?!`"
_URL_STOP = set(' \t\n<>"«»') | {chr(c) for c in range(0x2000, 0x200C)} | {"\u3000"}


def _find_urls(text: str) -> list[tuple[int, int, str]]:
    found: list[tuple[int, int, str]] = []
    pattern = re.compile(
        r"(?i)(?:(?:https?|ftp)://|tg://|ton://|(?<![\w@/#.-]))"
        r"(?:[^\s/?#<>\"«»@]+@)?"
        r"[\w~-]+(?:\.[\w~-]+)*(?::\d{1,5})?"
        r"(?:[/?#][^\s<>\"«»]*)?"
    )
    for match in pattern.finditer(text):
        start, stop = match.span()
        while stop > start and text[stop - 1] in _URL_END_TRIM:
            stop -= 1
        candidate = text[start:stop]
        if candidate.lower().startswith(("tg://", "ton://")):
            if len(candidate) > 5:
                found.append((start, stop, "url"))
            continue
        if "@" in candidate and "://" not in candidate:
            if re.fullmatch(r"[\w.+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,8}",
                            candidate):  # fmt: skip
                found.append((start, stop, "email"))
            continue
        has_protocol = "://" in candidate
        host_part = candidate.split("://", 1)[-1]
        host_part = re.split(r"[/?#]", host_part, maxsplit=1)[0].rsplit("@", 1)[-1]
        host = host_part.split(":", 1)[0]
        if "." not in host:
            continue
        if _valid_host(host, has_protocol=has_protocol):
            found.append((start, stop, "url"))
    return found


def find_auto_entities(text: str) -> list[Entity]:
    """Entities Telegram detects by itself: mentions, hashtags, cashtags, commands, URLs, e-mails.

    Offsets are in UTF-16 units. Overlapping finds keep the earliest, longest one (tdlib sorts
    and drops intersecting entities the same way).
    """
    spans: list[tuple[int, int, str]] = []
    n = len(text)
    for i, ch in enumerate(text):
        prev = text[i - 1] if i else ""
        if ch == "@" and not (prev and _is_word(prev)):
            j = i + 1
            while j < n and text[j].isascii() and _is_word(text[j]):
                j += 1
            name = text[i + 1 : j]
            if (
                2 <= len(name) <= 32
                and not (j < n and _is_word(text[j]))
                and (len(name) >= 4 or name.lower() in ("gif", "vid", "pic"))
            ):
                spans.append((i, j, "mention"))
        elif ch == "/" and not (prev and (_is_word(prev) or prev in "/<>")):
            j = i + 1
            while j < n and text[j].isascii() and _is_word(text[j]):
                j += 1
            if not 1 <= j - i - 1 <= 64:
                continue
            if j < n and text[j] == "@":
                k = j + 1
                while k < n and text[k].isascii() and _is_word(text[k]):
                    k += 1
                if not 3 <= k - j - 1 <= 32:
                    continue
                j = k
            if j < n and (_is_word(text[j]) or text[j] in "/<>"):
                continue
            spans.append((i, j, "bot_command"))
        elif ch == "#" and not (prev and _is_hashtag_char(prev)):
            j = i + 1
            while j < n and _is_hashtag_char(text[j]):
                j += 1
            body = text[i + 1 : j]
            if not body or (j < n and text[j] == "#") or not any(c.isalpha() for c in body):
                continue
            spans.append((i, min(j, i + 1 + 256), "hashtag"))
        elif ch == "$" and not (prev and (_is_hashtag_char(prev) or prev == "$")):
            match = re.match(r"1INCH|[A-Z]{1,8}", text[i + 1 :])
            if match is None:
                continue
            j = i + 1 + match.end()
            if j < n and (_is_hashtag_char(text[j]) or text[j] == "$"):
                continue
            spans.append((i, j, "cashtag"))
    spans.extend(_find_urls(text))

    prefix = [0]
    for ch in text:
        prefix.append(prefix[-1] + (2 if ord(ch) > 0xFFFF else 1))
    entities = [
        {"type": kind, "offset": prefix[a], "length": prefix[b] - prefix[a]}
        for a, b, kind in spans
        if b > a
    ]
    return _remove_intersecting(entities)
