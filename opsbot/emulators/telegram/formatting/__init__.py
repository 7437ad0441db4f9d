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

``html.py`` parses HTML parse mode and renders entities back to HTML; ``entities.py`` is tdlib's
fix_formatted_text (validation, clean-up, normalised text) and the entities Telegram detects by
itself; ``links.py`` checks links as tdlib does. This package's names are the API the emulator
and its tests use.
"""

from __future__ import annotations

from opsbot.emulators.telegram.formatting.entities import (
    AUTO_ENTITY_TYPES,
    BLOCKQUOTES,
    ENTITY_TYPES,
    PRE,
    SPLITTABLE,
    USER_ENTITY_TYPES,
    Entity,
    TextError,
    find_auto_entities,
    fix_entities,
    merge_entities,
    normalize,
    sort_entities,
    utf16_len,
)
from opsbot.emulators.telegram.formatting.html import (
    ParseError,
    entities_to_html,
    escape,
    parse_html,
)
from opsbot.emulators.telegram.formatting.links import check_link

__all__ = [
    "AUTO_ENTITY_TYPES",
    "BLOCKQUOTES",
    "ENTITY_TYPES",
    "PRE",
    "SPLITTABLE",
    "USER_ENTITY_TYPES",
    "Entity",
    "ParseError",
    "TextError",
    "check_link",
    "entities_to_html",
    "escape",
    "find_auto_entities",
    "fix_entities",
    "merge_entities",
    "normalize",
    "parse_html",
    "sort_entities",
    "utf16_len",
]
