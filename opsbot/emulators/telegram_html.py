"""Telegram's text formatting rules: HTML parse mode, entity clean-up, auto-detected entities.

The parser follows tdlib's ``parse_html`` (td/telegram/MessageEntity.cpp) step by step, on the
UTF-8 bytes, because Telegram reports errors at *byte* offsets and its leniencies are part of
the contract a bot meets in production:

* ``&`` that does not start ``&lt;`` ``&gt;`` ``&amp;`` ``&quot;`` or a numeric reference is
  kept as a literal ``&`` (the semicolon is optional, and unknown names such as ``&nbsp;`` stay
  as typed). So an unescaped ``&`` in user text never fails a message, but ``AT&amp;T`` written
  by a user comes out as ``AT&T``: tests catch missing escaping by comparing what a person sees
  (``chat_view``) with what was meant, and ``<`` always fails loudly.
* ``>`` outside a tag is plain text.
* any ``<`` starts a tag; an unknown tag, a lone ``<`` (``a < b`` is the tag named ``""``) or an
  unclosed one is an error.

Offsets and lengths of entities are in UTF-16 code units, as in the Bot API. Length limits
(4096 for a text, 1024 for a caption) are *not* applied here: the caller counts the parsed,
trimmed text in Unicode code points, which is what tdlib's ``utf8_length`` counts; an emoji
outside the BMP is one character for the limit but two UTF-16 units for offsets.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

Entity = dict[str, Any]


class ParseError(ValueError):
    """The HTML could not be parsed; `description` is what the Bot API answers."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def description(self) -> str:
        return f"Bad Request: can't parse entities: {self.message}"


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

_SUPPORTED_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins",
        "tg-spoiler", "tg-emoji", "span", "pre", "code", "blockquote",
    }
)  # fmt: skip

_SIMPLE_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "u": "underline", "ins": "underline", "tg-spoiler": "spoiler",
}  # fmt: skip

_INT64_MAX = 2**63 - 1


def utf16_len(text: str) -> int:
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def _sort_key(entity: Entity) -> tuple[int, int, int]:
    # tdlib's operator<: by offset, longer first, then by type priority.
    return (entity["offset"], -entity["length"], _PRIORITY.get(entity["type"], 50))


def sort_entities(entities: list[Entity]) -> list[Entity]:
    return sorted(entities, key=_sort_key)


# --- URLs -------------------------------------------------------------------------------

_COMMON_TLDS = frozenset(
    (
        "ai", "app", "art", "biz", "by", "ca", "cc", "ch", "club", "cn", "co", "com", "de",
        "dev", "edu", "eu", "fm", "fr", "gov", "info", "io", "it", "jp", "kz", "me", "museum",
        "net", "news", "online", "org", "pro", "ru", "shop", "site", "space", "store", "su",
        "tech", "to", "tv", "ua", "uk", "us", "xyz", "рф",
    )
)  # fmt: skip


def _valid_host(host: str, *, has_protocol: bool) -> bool:
    if not host or len(host) > 253:
        return False
    parts = host.split(".")
    if len(parts) == 4 and all(p.isdigit() and p and int(p) < 256 for p in parts):
        return True
    if len(parts) < 2 or any(not p for p in parts):
        return False
    tld = parts[-1].lower()
    if tld.startswith("xn--"):
        return len(tld) > 5 and tld[4:].isalnum() and tld.isascii()
    if len(tld) < 2 or not all(ch.isalpha() for ch in tld):
        return False
    if not has_protocol and tld not in _COMMON_TLDS:
        return False
    return all(re.fullmatch(r"[\w-]+", p) for p in parts) and "_" not in "".join(parts[-2:])


def check_link(url: str) -> tuple[str | None, str]:
    """Normalise a link as tdlib's LinkManager::check_link does.

    Returns ``(url, "")`` or ``(None, reason)`` with tdlib's reason ("Wrong HTTP URL",
    "Unsupported URL protocol", "URL host is empty").
    """
    url = url.strip()
    if not url:
        return None, "URL host is empty"
    lowered = url.lower()
    if lowered.startswith(("tg:", "ton:")):
        rest = url.split(":", 1)[1].lstrip("/")
        if not rest or not re.match(r"[A-Za-z0-9_-]", rest):
            return None, "Wrong URL"
        return url, ""
    scheme_match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", url)
    if scheme_match is not None:
        scheme = scheme_match.group(1).lower()
        if scheme not in ("http", "https"):
            return None, "Unsupported URL protocol"
    else:
        if re.match(r"[A-Za-z][A-Za-z0-9+.-]*:(?!\d)", url):
            return None, "Unsupported URL protocol"
        url = "http://" + url
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port  # a port out of range makes the URL invalid
    except ValueError:
        return None, "Wrong HTTP URL"
    # Unlike text auto-detection, an explicit link may use any top-level domain.
    if not _valid_host(host, has_protocol=True):
        return None, "Wrong HTTP URL"
    # tdlib rebuilds the URL, so a bare host gains the root path: "https://x.org/".
    if parts.path == "" and not parts.query and not parts.fragment:
        url += "/"
    return url, ""


def _link_user_id(url: str) -> int | None:
    match = re.fullmatch(r"tg://user\?id=(\d{1,19})", url.strip(), flags=re.IGNORECASE)
    return int(match.group(1)) if match else None


# --- HTML parse mode -------------------------------------------------------------------------


def _is_space(c: int) -> bool:
    # tdlib's is_space also treats the terminating NUL as space: scanning stops at the end.
    return c in (0x20, 0x09, 0x0A, 0x0D, 0x0B, 0x00)


def _is_alnum(c: int) -> bool:
    return 0x30 <= c <= 0x39 or 0x41 <= c <= 0x5A or 0x61 <= c <= 0x7A


def _is_alpha(c: int) -> bool:
    return 0x41 <= c <= 0x5A or 0x61 <= c <= 0x7A


def _decode_entity(data: bytes, pos: int) -> tuple[int, int]:
    """tdlib's decode_html_entity: (code point, position after it), or (0, pos)."""
    end = pos + 1
    code = 0
    if data[pos + 1] == 0x23:  # '#'
        end += 1
        if data[pos + 2] == 0x78:  # 'x'
            end += 1
            while chr(data[end]) in "0123456789abcdefABCDEF" and data[end] != 0:
                code = code * 16 + int(chr(data[end]), 16)
                end += 1
        else:
            while 0x30 <= data[end] <= 0x39:
                code = code * 10 + data[end] - 0x30
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return 0, pos
    else:
        while _is_alpha(data[end]):
            end += 1
        name = data[pos + 1 : end]
        named = {b"lt": 0x3C, b"gt": 0x3E, b"amp": 0x26, b"quot": 0x22}.get(name)
        if named is None:
            return 0, pos
        code = named
    if data[end] == 0x3B:  # ';'
        end += 1
    return code, end


def _text(raw: bytes | bytearray) -> str:
    return bytes(raw).decode("utf-8", "replace")


def parse_html(
    source: str, *, resolve_user: Callable[[int], dict[str, Any] | None] | None = None
) -> tuple[str, list[Entity]]:
    """Parse Telegram HTML into (text, entities); raise ParseError as the Bot API would.

    The result is not yet trimmed or normalised: pass it through `normalize` like any text.
    `resolve_user` turns ``tg://user?id=N`` links into text_mention entities; without it, or
    for an unknown user, such a link stays a text_link.
    """
    try:
        encoded = source.encode("utf-8")
    except UnicodeEncodeError:
        raise TextError("Strings must be encoded in UTF-8") from None
    size = len(encoded)
    data = encoded + b"\x00"  # C-string semantics: every scan stops at the terminator
    out = bytearray()
    utf16 = 0
    bad_surrogate = False
    entities: list[Entity] = []
    # (tag, argument, utf16 offset where it starts, byte position in `out`)
    nested: list[tuple[str, str, int, int]] = []

    i = 0
    while i < size:
        c = data[i]
        if c == 0x26:  # '&'
            code, after = _decode_entity(data, i)
            if code:
                i = after
                utf16 += 2 if code > 0xFFFF else 1
                if 0xD800 <= code <= 0xDFFF:
                    bad_surrogate = True
                    out += chr(code).encode("utf-8", "surrogatepass")
                else:
                    out += chr(code).encode("utf-8")
                continue
        if c != 0x3C:  # not '<'
            if c & 0xC0 != 0x80:
                utf16 += 2 if c >= 0xF0 else 1
            out.append(c)
            i += 1
            continue

        begin = i
        i += 1
        if data[i] != 0x2F:  # a start tag
            while not _is_space(data[i]) and data[i] != 0x3E:
                i += 1
            if data[i] == 0 and i >= size:
                raise ParseError(f"Unclosed start tag at byte offset {begin}")
            tag = _text(data[begin + 1 : i].lower())
            if tag not in _SUPPORTED_TAGS:
                raise ParseError(f'Unsupported start tag "{tag}" at byte offset {begin}')
            argument = ""
            while data[i] != 0x3E:
                while i < size and _is_space(data[i]):
                    i += 1
                if data[i] == 0x3E:
                    break
                attr_begin = i
                while not _is_space(data[i]) and data[i] not in b"=>/\"'":
                    i += 1
                attr_name = bytes(data[attr_begin:i])
                if not attr_name:
                    raise ParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset {begin}'
                    )
                while i < size and _is_space(data[i]):
                    i += 1
                if data[i] != 0x3D:  # an attribute without a value
                    if i >= size:
                        raise ParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
                    if tag == "blockquote" and attr_name == b"expandable":
                        argument = "1"
                    continue
                i += 1
                while i < size and _is_space(data[i]):
                    i += 1
                if i >= size:
                    raise ParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
                if data[i] not in (0x22, 0x27):
                    # An unquoted value is an SGML name token, compared case-insensitively.
                    token_begin = i
                    while _is_alnum(data[i]) or data[i] in (0x2E, 0x2D):
                        i += 1
                    value = bytes(data[token_begin:i]).lower()
                    if not _is_space(data[i]) and data[i] != 0x3E:
                        raise ParseError(
                            f"Unexpected end of name token at byte offset {token_begin}"
                        )
                else:
                    quote = data[i]
                    i += 1
                    raw_value = bytearray()
                    while i < size and data[i] != quote:
                        if data[i] == 0x26:
                            code, after = _decode_entity(data, i)
                            if code:
                                raw_value += chr(code).encode("utf-8", "surrogatepass")
                                i = after
                                continue
                        raw_value.append(data[i])
                        i += 1
                    if data[i] == quote and i < size:
                        i += 1
                    value = bytes(raw_value)
                if i >= size:
                    raise ParseError(f"Unclosed start tag at byte offset {begin}")
                if tag == "a" and attr_name == b"href":
                    argument = _text(value)
                elif tag == "code" and attr_name == b"class" and value.startswith(b"language-"):
                    argument = _text(value[9:])
                elif tag == "span" and attr_name == b"class" and value.startswith(b"tg-"):
                    argument = _text(value[3:])
                elif tag == "tg-emoji" and attr_name == b"emoji-id":
                    argument = _text(value)
                elif tag == "blockquote" and attr_name == b"expandable":
                    argument = "1"
            if tag == "span" and argument != "spoiler":
                raise ParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
            nested.append((tag, argument, utf16, len(out)))
            i += 1  # past '>'
            continue

        # an end tag
        if not nested:
            raise ParseError(f"Unexpected end tag at byte offset {begin}")
        while not _is_space(data[i]) and data[i] != 0x3E:
            i += 1
        end_tag = _text(data[begin + 2 : i].lower())
        while i < size and _is_space(data[i]):
            i += 1
        if data[i] != 0x3E or i >= size:
            raise ParseError(f"Unclosed end tag at byte offset {begin}")
        tag, argument, offset, out_pos = nested[-1]
        if end_tag and end_tag != tag:
            raise ParseError(
                f'Unmatched end tag at byte offset {begin}, expected "</{tag}>", '
                f'found "</{end_tag}>"'
            )
        if utf16 > offset:
            _close_entity(entities, tag, argument, offset, utf16 - offset, out, out_pos,
                          resolve_user)  # fmt: skip
        nested.pop()
        i += 1

    if nested:
        raise ParseError(f'Can\'t find end tag corresponding to start tag "{nested[-1][0]}"')
    if bad_surrogate:
        raise ParseError(
            "Text contains invalid Unicode characters after decoding HTML entities, check for "
            "unmatched surrogate code units"
        )
    for entity in entities:
        entity.pop("_code_language", None)
    return bytes(out).decode("utf-8"), sort_entities(entities)


def _close_entity(
    entities: list[Entity],
    tag: str,
    argument: str,
    offset: int,
    length: int,
    out: bytearray,
    out_pos: int,
    resolve_user: Callable[[int], dict[str, Any] | None] | None,
) -> None:
    last = entities[-1] if entities else None
    same_span = last is not None and last["offset"] == offset and last["length"] == length
    if tag in _SIMPLE_TAGS or tag == "span":
        entities.append({"type": _SIMPLE_TAGS.get(tag, "spoiler"), "offset": offset,
                         "length": length})  # fmt: skip
    elif tag == "tg-emoji":
        if not re.fullmatch(r"-?\d{1,19}", argument) or not 0 < abs(int(argument)) <= _INT64_MAX:
            raise ParseError("Invalid custom emoji identifier specified")
        entities.append({"type": "custom_emoji", "offset": offset, "length": length,
                         "custom_emoji_id": str(int(argument))})  # fmt: skip
    elif tag == "a":
        url = argument or _text(out[out_pos:])
        user_id = _link_user_id(url)
        user = resolve_user(user_id) if user_id is not None and resolve_user else None
        if user is not None:
            entities.append({"type": "text_mention", "offset": offset, "length": length,
                             "user": user})  # fmt: skip
        else:
            checked, _reason = check_link(url)
            # An invalid href is dropped silently: the text stays, without a link.
            if checked is not None:
                entities.append({"type": "text_link", "offset": offset, "length": length,
                                 "url": checked})  # fmt: skip
    elif tag == "pre":
        if same_span and last is not None and last["type"] == "code" and last.get("_code_language"):
            last["type"] = "pre"
            last["language"] = last.pop("_code_language")
        else:
            entities.append({"type": "pre", "offset": offset, "length": length})
    elif tag == "code":
        if same_span and last is not None and last["type"] == "pre" and argument:
            last["language"] = argument
        else:
            entity: Entity = {"type": "code", "offset": offset, "length": length}
            if argument:
                entity["_code_language"] = argument
            entities.append(entity)
    elif tag == "blockquote":
        kind = "expandable_blockquote" if argument else "blockquote"
        entities.append({"type": kind, "offset": offset, "length": length})


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


# --- back to HTML, for people reading a chat ------------------------------------------------


def escape(text: str, *, quote: bool = False) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace('"', "&quot;") if quote else text


def _open_tag(entity: Entity) -> tuple[str, str] | None:
    kind = entity["type"]
    simple = {"bold": "b", "italic": "i", "underline": "u", "strikethrough": "s",
              "spoiler": "tg-spoiler", "code": "code", "blockquote": "blockquote"}  # fmt: skip
    if kind in simple:
        return f"<{simple[kind]}>", f"</{simple[kind]}>"
    if kind == "expandable_blockquote":
        return "<blockquote expandable>", "</blockquote>"
    if kind == "pre":
        if entity.get("language"):
            lang = escape(str(entity["language"]), quote=True)
            return f'<pre><code class="language-{lang}">', "</code></pre>"
        return "<pre>", "</pre>"
    if kind == "text_link":
        return f'<a href="{escape(str(entity["url"]), quote=True)}">', "</a>"
    if kind == "text_mention":
        return f'<a href="tg://user?id={entity["user"]["id"]}">', "</a>"
    if kind == "custom_emoji":
        return f'<tg-emoji emoji-id="{entity["custom_emoji_id"]}">', "</tg-emoji>"
    return None  # auto-detected entities need no markup


def entities_to_html(text: str, entities: list[Entity]) -> str:
    """Render text with its formatting entities as Telegram HTML (the inverse of parse_html)."""
    units = _to_units(text)
    tagged = [(e, tags) for e in sort_entities(entities) if (tags := _open_tag(e)) is not None]
    out: list[str] = []
    stack: list[tuple[Entity, tuple[str, str]]] = []
    index = 0
    for pos in range(len(units) + 1):
        # Close everything that ends here; reopen what an improper overlap forced shut.
        reopen: list[tuple[Entity, tuple[str, str]]] = []
        while any(_end(e) <= pos for e, _ in stack):
            entity, tags = stack.pop()
            out.append(tags[1])
            if _end(entity) > pos:
                reopen.append((entity, tags))
        for entity, tags in reversed(reopen):
            out.append(tags[0])
            stack.append((entity, tags))
        while index < len(tagged) and tagged[index][0]["offset"] <= pos:
            entity, tags = tagged[index]
            index += 1
            if entity["length"] > 0:
                out.append(tags[0])
                stack.append((entity, tags))
        if pos < len(units):
            out.append(escape(units[pos]))
    return "".join(out)
