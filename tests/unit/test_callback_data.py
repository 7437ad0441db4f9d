from __future__ import annotations

import pytest

from opsbot.telegram.callback_data import MAX_BYTES, Action, Callback, pack, unpack

BIGGEST = 10**9 - 1


@pytest.mark.parametrize("action", list(Action))
def test_every_packed_value_fits_in_64_bytes(action: Action) -> None:
    data = pack(action, BIGGEST, BIGGEST)
    assert len(data.encode()) <= MAX_BYTES
    assert unpack(data) == Callback(action, BIGGEST, BIGGEST)
    assert unpack(pack(action, 7)) == Callback(action, 7, None)


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "v1",
        "v1:tk",
        "v1:tk:",
        "v1:zz:1",
        "v2:tk:1",
        "v1:tk:-1",
        "v1:tk:1:2:3",
        "v1:tk:1x",
        "v1:tk:1\n",
        "v1:tk:" + "9" * 10,
        "v1:TK:1",
        " v1:tk:1",
        "v1:tk:١",
    ],
)
def test_anything_else_is_rejected(data: str | None) -> None:
    assert unpack(data) is None
