"""Callback data of inline buttons: a version, an action, a numeric target.

Telegram allows 1-64 bytes and hands back whatever a (possibly modified) client sends, so
nothing from users goes in, and everything coming back is parsed strictly: anything else is
"forged or stale", never an exception.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

VERSION = "v1"
MAX_BYTES = 64


class Action(StrEnum):
    TAKE = "tk"
    RELEASE = "rl"
    ANSWER = "an"
    HIDE = "hd"
    UNHIDE = "uh"
    POST = "po"
    EDIT = "ed"
    CANCEL = "cn"
    SPLIT = "sp"
    TEMPLATE = "tp"
    ANNOUNCE = "as"
    SKIP_ANNOUNCE = "sk"
    DRAW_ANNOUNCE = "da"
    DRAW_POST = "dp"
    DRAW_SKIP = "ds"
    # The same winners, posted by a co-hosting partner from its own account.
    PARTNER_DRAW_ANNOUNCE = "ja"
    PARTNER_DRAW_POST = "jp"
    PARTNER_DRAW_SKIP = "js"
    LIST_PAGE = "lp"
    FULL_CARD = "fc"
    DIGEST_ANSWER = "dn"
    DELETE = "dx"
    CONFIRM_DELETE = "dy"
    KEEP_ANSWER = "dk"
    KEEP_TAKE = "kt"
    PARTNER_APPROVE = "pa"
    PARTNER_REFUSE = "pr"
    MARK_ANSWERED = "ma"
    SUBMIT = "sf"
    APPROVE = "av"
    RETURN = "rc"
    AMEND = "am"


@dataclass(frozen=True)
class Callback:
    action: Action
    target: int
    extra: int | None = None


# Ids are database keys: nine digits fit a 32-bit column on every database.
_PATTERN = re.compile(r"v1:([a-z]{2}):([0-9]{1,9})(?::([0-9]{1,9}))?")


def pack(action: Action, target: int, extra: int | None = None) -> str:
    data = f"{VERSION}:{action.value}:{target}" + ("" if extra is None else f":{extra}")
    if len(data.encode()) > MAX_BYTES:
        raise ValueError("callback data over 64 bytes")
    return data


def unpack(data: str | None) -> Callback | None:
    if not data:
        return None
    match = _PATTERN.fullmatch(data)
    if match is None:
        return None
    try:
        action = Action(match.group(1))
    except ValueError:
        return None
    extra = match.group(3)
    return Callback(action, int(match.group(2)), None if extra is None else int(extra))


def matches(*actions: Action) -> Callable[[object], bool]:
    """A `CallbackQueryHandler` pattern: well-formed data for one of `actions`."""

    def check(data: object) -> bool:
        callback = unpack(data) if isinstance(data, str) else None
        return callback is not None and callback.action in actions

    return check
