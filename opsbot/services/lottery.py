"""The ticket draw at the end of a salon: fair, and checkable by anyone from published data.

The museum publishes SHA-256(secret) when the salon starts, so the secret cannot be changed
once entrants are known. When the salon ends it publishes the entrant list and its hash, then
the secret; each entrant's place is HMAC-SHA256(secret, their X user id), lowest first. Anyone
can redo every step with hashlib and hmac: docs/lottery.md has the recipe.

Pure functions: no database, no Telegram, no X.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypedDict

SECRET_BYTES = 32
# Shorter than this, the secret could be found from its commitment before the draw, and an
# entrant who knew it could open X accounts until one ranked first.
MIN_SECRET_BYTES = 16

ALGORITHM = (
    "commitment = SHA-256(secret), published at salon start; "
    "entrants = distinct X user ids sorted numerically ascending, joined with \\n (no trailing "
    "newline), UTF-8; entrant_hash = SHA-256(entrants); "
    "rank = entrants ordered by HMAC-SHA256(key=secret, msg=id as ASCII decimal) hex digest "
    "ascending; winners = first N of rank, reserve = the rest in rank order"
)

# No leading zeros: "007" and "7" would sort as one number yet hash as two different ids.
_USER_ID = re.compile(r"0|[1-9][0-9]*")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")
_DIGEST = re.compile(r"[0-9a-fA-F]{64}")


def new_secret() -> bytes:
    return secrets.token_bytes(SECRET_BYTES)


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def commitment(secret: bytes) -> str:
    """What the museum publishes at salon start: the secret's hash, not the secret."""
    return _sha256_hex(secret)


def _check_id(user_id: object) -> str:
    if not isinstance(user_id, str) or not _USER_ID.fullmatch(user_id):
        raise ValueError(f"not an X user id (decimal digits, no leading zeros): {user_id!r:.40}")
    return user_id


def _numeric(user_id: str) -> tuple[int, str]:
    # Without leading zeros, shorter means smaller: numeric order with no int() of any size.
    return (len(user_id), user_id)


def canonical_entrants(user_ids: Iterable[str]) -> list[str]:
    """Each X user id once, numerically ascending: the one form the entrant hash is taken of."""
    if isinstance(user_ids, str):
        raise TypeError("expected a collection of user ids, not one string")
    return sorted({_check_id(user_id) for user_id in user_ids}, key=_numeric)


def entrant_list_hash(user_ids: Iterable[str]) -> str:
    return _hash_canonical(canonical_entrants(user_ids))


def _hash_canonical(entrants: list[str]) -> str:
    return _sha256_hex("\n".join(entrants).encode("utf-8"))


def _ticket(secret: bytes, user_id: str) -> str:
    return hmac.new(secret, user_id.encode("ascii"), hashlib.sha256).hexdigest()


def rank(secret: bytes, user_ids: Iterable[str]) -> list[str]:
    """The entrants in draw order.

    Equal-length lowercase hex digests sort like the big-endian numbers they spell.
    """
    return _rank_canonical(secret, canonical_entrants(user_ids))


def _rank_canonical(secret: bytes, entrants: list[str]) -> list[str]:
    return sorted(entrants, key=lambda user_id: (_ticket(secret, user_id), _numeric(user_id)))


@dataclass(frozen=True)
class DrawResult:
    entrants: list[str]
    entrant_hash: str
    commitment: str
    secret_hex: str
    winners: list[str]
    reserve: list[str]


def draw(secret: bytes, user_ids: Iterable[str], winners: int) -> DrawResult:
    """The first `winners` of the ranking win; the rest, in order, are the reserve."""
    if winners < 1:
        raise ValueError("a draw has at least one winner")
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the secret must be at least {MIN_SECRET_BYTES} bytes")
    entrants = canonical_entrants(user_ids)
    order = _rank_canonical(secret, entrants)
    return DrawResult(
        entrants=entrants,
        entrant_hash=_hash_canonical(entrants),
        commitment=commitment(secret),
        secret_hex=secret.hex(),
        winners=order[:winners],
        reserve=order[winners:],
    )


# --- verification ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    explanation: str


@dataclass(frozen=True)
class VerifyReport:
    checks: list[Check]
    # The draw order recomputed from the secret and the list; None when either is unusable.
    ranking: list[str] | None
    winner_count: int

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(check.ok for check in self.checks)

    @property
    def winners(self) -> list[str]:
        return (self.ranking or [])[: self.winner_count]

    @property
    def reserve(self) -> list[str]:
        return (self.ranking or [])[self.winner_count :]


def _parse_secret(secret_hex: str) -> bytes | None:
    text = secret_hex.strip()
    return bytes.fromhex(text) if _HEX.fullmatch(text) else None


def _listed(ids: Iterable[str]) -> str:
    return ", ".join(ids) or "nobody"


def verify(
    secret_hex: str,
    commitment: str,
    entrants: list[str],
    entrant_hash: str,
    winners: list[str] | None,
    reserve: list[str] | None = None,
    *,
    winner_count: int | None = None,
) -> VerifyReport:
    """Redo the draw from published data and say, check by check, whether it holds.

    `winners` is the published list (None: nothing to compare, only recompute); its order does
    not matter. `winner_count` is how many were to be drawn, by default len(winners). The
    reserve, when given, must be the whole rest of the ranking in order. Never raises on bad
    data: that is a failed check.
    """
    checks: list[Check] = []

    secret = _parse_secret(secret_hex)
    published = commitment.strip().lower()
    if secret is None:
        checks.append(Check("commitment", False, "the secret is not hexadecimal bytes"))
    elif len(secret) < MIN_SECRET_BYTES:
        # The bot never makes one; anyone could have found it from the commitment in advance.
        checks.append(
            Check("commitment", False, f"the secret is only {len(secret)} bytes: guessable")
        )
    elif _sha256_hex(secret) == published:
        checks.append(
            Check("commitment", True, f"SHA-256 of the secret is the published {published}")
        )
    else:
        checks.append(
            Check(
                "commitment",
                False,
                f"SHA-256 of the secret is {_sha256_hex(secret)}, "
                f"not the published {published or '(empty)'}: this is not the committed secret",
            )
        )

    canonical: list[str] | None
    try:
        canonical = canonical_entrants(entrants)
    except ValueError as exc:
        canonical = None
        checks.append(Check("entrant list", False, f"the list is unusable: {exc}"))
    else:
        actual = _hash_canonical(canonical)
        published = entrant_hash.strip().lower()
        if actual == published:
            checks.append(
                Check(
                    "entrant list",
                    True,
                    f"{len(canonical)} entrants hash to the published {published}",
                )
            )
        else:
            checks.append(
                Check(
                    "entrant list",
                    False,
                    f"{len(canonical)} entrants hash to {actual}, not the published "
                    f"{published or '(empty)'}: the list was changed",
                )
            )

    ranking = None
    if secret is not None and canonical is not None:
        ranking = _rank_canonical(secret, canonical)
    count = winner_count if winner_count is not None else len(winners or [])
    if winners is not None:
        checks.append(_winners_check(ranking, winners, count))
    if reserve is not None:
        checks.append(_reserve_check(ranking, reserve, count))
    return VerifyReport(checks=checks, ranking=ranking, winner_count=max(count, 0))


def _winners_check(ranking: list[str] | None, claimed: list[str], count: int) -> Check:
    if ranking is None:
        return Check("winners", False, "cannot be recomputed without a usable secret and list")
    if count < 1 and ranking:
        return Check("winners", False, "no winners named, though there were entrants")
    expected = ranking[:count]
    if sorted(claimed) == sorted(expected):
        if not expected:
            return Check("winners", True, "no entrants, so no winners")
        return Check("winners", True, f"recomputed winners are the published {_listed(expected)}")
    wrong = [user_id for user_id in dict.fromkeys(claimed) if user_id not in expected]
    missing = [user_id for user_id in expected if user_id not in claimed]
    repeated = sorted({user_id for user_id in claimed if claimed.count(user_id) > 1})
    reasons = []
    if wrong:
        reasons.append(f"published but not drawn: {_listed(wrong)}")
    if missing:
        reasons.append(f"drawn but not published: {_listed(missing)}")
    if repeated:
        reasons.append(f"published twice: {_listed(repeated)}")
    return Check(
        "winners",
        False,
        f"recomputed {len(expected)} winner(s): {_listed(expected)}; " + "; ".join(reasons),
    )


def _reserve_check(ranking: list[str] | None, claimed: list[str], count: int) -> Check:
    if ranking is None:
        return Check("reserve", False, "cannot be recomputed without a usable secret and list")
    expected = ranking[max(count, 0) :]
    if claimed == expected:
        return Check(
            "reserve",
            True,
            f"the published reserve is the rest of the draw in order ({len(expected)} entrants)",
        )
    for place, (got, want) in enumerate(zip(claimed, expected, strict=False), 1):
        if got != want:
            return Check(
                "reserve", False, f"reserve place {place} is {want}, the published list has {got}"
            )
    return Check(
        "reserve",
        False,
        f"the reserve has {len(expected)} entrants, the published list has {len(claimed)}",
    )


# --- exports --------------------------------------------------------------------------------

SALON_FIELDS = ("number", "topic", "started_at", "ended_at")
# A co-hosted salon's draw also names both museums' X accounts, host first.
JOINT_FIELDS = ("hosts",)


class Export(TypedDict):
    """What a published draw file says; absent fields are None (a CSV only lists entrants)."""

    salon: dict[str, Any] | None
    commitment: str | None
    secret: str | None
    entrant_hash: str | None
    entrants: list[str]  # canonical
    handles: dict[str, str]  # id -> handle without "@", only where known
    winners: list[str] | None
    reserve: list[str] | None


def _handle(handle: str | None) -> str:
    return (handle or "").strip().lstrip("@")


def _json_value(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot put {type(value).__name__} in a draw export")


def export_json(
    result: DrawResult, *, salon: Mapping[str, Any], handles: Mapping[str, str] | None = None
) -> str:
    """The file the museum publishes after the draw: everything needed to redo it."""
    handles = handles or {}
    document = {
        "salon": {field: salon.get(field) for field in SALON_FIELDS}
        | {field: salon[field] for field in JOINT_FIELDS if salon.get(field)},
        "algorithm": ALGORITHM,
        "commitment": result.commitment,
        "secret": result.secret_hex,
        "entrant_hash": result.entrant_hash,
        "entrants": [
            {"id": user_id, "handle": _handle(handles.get(user_id)) or None}
            for user_id in canonical_entrants(result.entrants)
        ],
        "winners": result.winners,
        "reserve": result.reserve,
    }
    return _dump(document)


def _dump(document: dict[str, Any]) -> str:
    """Indented JSON with one list item per line, so a long entrant list stays readable."""

    def dumps(value: object, indent: int | None = None) -> str:
        return json.dumps(value, ensure_ascii=False, indent=indent, default=_json_value)

    fields = []
    for key, value in document.items():
        if isinstance(value, list) and value:
            body = "[\n" + ",\n".join(f"    {dumps(item)}" for item in value) + "\n  ]"
        else:
            body = dumps(value, indent=2).replace("\n", "\n  ")
        fields.append(f"  {dumps(key)}: {body}")
    return "{\n" + ",\n".join(fields) + "\n}\n"


def export_csv(entrants: Iterable[tuple[str, str]]) -> str:
    """The entrant list alone, for spreadsheets: `x_user_id,handle`, in canonical order."""
    handles: dict[str, str] = {}
    for user_id, handle in entrants:
        if not handles.get(_check_id(user_id)):
            handles[user_id] = _handle(handle)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["x_user_id", "handle"])
    writer.writerows([user_id, handles[user_id]] for user_id in canonical_entrants(handles))
    return out.getvalue()


def load_export(text: str) -> Export:
    """Read either export back; ValueError, with a reason, for anything else."""
    text = text.removeprefix("\ufeff")
    if text.lstrip().startswith(("{", "[")):
        return _load_json(text)
    return _load_csv(text)


def _load_json(text: str) -> Export:
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ValueError("not a draw export: the JSON is not an object")
    if not isinstance(document.get("entrants"), list):
        raise ValueError('not a draw export: no "entrants" list')

    entrants: list[str] = []
    handles: dict[str, str] = {}
    for item in document["entrants"]:
        if isinstance(item, dict):
            user_id, handle = item.get("id"), item.get("handle")
        else:
            user_id, handle = item, None
        checked = _check_id(user_id)
        if handle is not None and not isinstance(handle, str):
            raise ValueError(f"the handle of {checked} is not text")
        entrants.append(checked)
        if _handle(handle):
            handles.setdefault(checked, _handle(handle))

    salon = document.get("salon")
    if salon is not None and not isinstance(salon, dict):
        raise ValueError('"salon" is not an object')
    return Export(
        salon=salon,
        commitment=_optional_hex(document, "commitment", _DIGEST),
        secret=_optional_hex(document, "secret", _HEX),
        entrant_hash=_optional_hex(document, "entrant_hash", _DIGEST),
        entrants=canonical_entrants(entrants),
        handles=handles,
        winners=_optional_ids(document, "winners"),
        reserve=_optional_ids(document, "reserve"),
    )


def _optional_hex(document: dict[str, Any], key: str, pattern: re.Pattern[str]) -> str | None:
    value = document.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not pattern.fullmatch(value.strip()):
        raise ValueError(f'"{key}" is not hexadecimal of the right length')
    return value.strip().lower()


def _optional_ids(document: dict[str, Any], key: str) -> list[str] | None:
    value = document.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValueError(f'"{key}" is not a list')
    return [_check_id(user_id) for user_id in value]


def _load_csv(text: str) -> Export:
    if not text.strip():
        raise ValueError("the file is empty")
    reader = csv.reader(io.StringIO(text))
    entrants: list[str] = []
    handles: dict[str, str] = {}
    first = True
    for row in reader:
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if first:
            first = False
            if cells[0].lower() == "x_user_id":
                continue
            if not _USER_ID.fullmatch(cells[0]):
                raise ValueError(
                    "not a draw export: neither JSON nor a CSV starting x_user_id,handle"
                )
        try:
            entrants.append(_check_id(cells[0]))
        except ValueError as exc:
            raise ValueError(f"CSV line {reader.line_num}: {exc}") from None
        handle = _handle(cells[1]) if len(cells) > 1 else ""
        if handle:
            handles.setdefault(cells[0], handle)
    return Export(
        salon=None,
        commitment=None,
        secret=None,
        entrant_hash=None,
        entrants=canonical_entrants(entrants),
        handles=handles,
        winners=None,
        reserve=None,
    )
