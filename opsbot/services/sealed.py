"""Secrets kept in the database (partners' X tokens), sealed with OPSBOT_SECRET_KEY.

The setting holds one Fernet key or several, comma-separated, newest first: a value is sealed
with the first and opened with any, so a key is rotated by prepending a new one, re-sealing
every row (`opsbot rotate-secrets`), then dropping the old one. Without a key nothing is
sealed: the bot refuses to take a partner's tokens rather than store them in the clear.
A sealed value never says what it holds; an error never repeats it.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SealError(Exception):
    """No key is set, or none of the keys opens a sealed value (it was sealed with a key
    dropped since)."""


def split_keys(value: str) -> list[str]:
    return [key.strip() for key in value.split(",") if key.strip()]


def valid_keys(value: str) -> bool:
    keys = split_keys(value)
    try:
        for key in keys:
            Fernet(key.encode())
    except ValueError:
        return False
    return bool(keys)


def new_key() -> str:
    return Fernet.generate_key().decode()


class Sealer:
    def __init__(self, keys: str | None) -> None:
        found = split_keys(keys or "")
        self._box = MultiFernet([Fernet(k.encode()) for k in found]) if found else None

    def seal(self, value: str) -> str:
        if self._box is None:
            raise SealError("OPSBOT_SECRET_KEY is not set")
        return self._box.encrypt(value.encode()).decode()

    def open(self, sealed: str) -> str:
        if self._box is None:
            raise SealError("OPSBOT_SECRET_KEY is not set")
        try:
            return self._box.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise SealError("no key in OPSBOT_SECRET_KEY opens this value") from None

    def reseal(self, sealed: str) -> str:
        """The value sealed again with the newest key (`opsbot rotate-secrets`)."""
        if self._box is None:
            raise SealError("OPSBOT_SECRET_KEY is not set")
        try:
            return self._box.rotate(sealed.encode()).decode()
        except InvalidToken:
            raise SealError("no key in OPSBOT_SECRET_KEY opens this value") from None
