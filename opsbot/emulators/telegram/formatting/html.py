"""Telegram HTML: parsed into text and entities as tdlib does it, and rendered back for people.

`parse_html` follows tdlib's parse_html (td/telegram/MessageEntity.cpp) step by step on the
UTF-8 bytes, so its errors name byte offsets as the Bot API's do; its result still goes through
`normalize`. `entities_to_html` is its inverse, used to show a chat as a person reads it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from opsbot.emulators.telegram.formatting.entities import (
    Entity,
    TextError,
    _end,
    _to_units,
    sort_entities,
)
from opsbot.emulators.telegram.formatting.links import _link_user_id, check_link


class ParseError(ValueError):
    """The HTML could not be parsed; `description` is what the Bot API answers."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def description(self) -> str:
        return f"Bad Request: can't parse entities: {self.message}"


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
