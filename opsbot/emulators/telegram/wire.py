"""The Bot API's wire format: request parameters as Telegram reads them, its errors, JSON out.

Parameters come in the query string, a JSON body, a form or multipart; `_Params` reads them the
way telegram-bot-api does (strings from forms, native values from JSON, nested objects as JSON
strings), and the `_obj_*` readers check the fields of such a nested object with Telegram's
messages. `ApiError` is what the bot is answered: status, description, ResponseParameters.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]


class ApiError(Exception):
    """A Bot API failure: HTTP status, Telegram's description, optional ResponseParameters."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def _tdlib_message(message: str) -> str:
    # The Bot API lowercases tdlib's first letter unless the message is an UPPER_CASE code.
    if len(message) >= 2 and (message[1] == "_" or message[1].isupper()):
        return message
    return message[:1].lower() + message[1:]


@dataclass
class _Upload:
    filename: str
    content_type: str
    content: bytes


class _Params:
    """Request parameters as Telegram reads them: strings from forms, native values from JSON."""

    def __init__(self, values: dict[str, Any], files: dict[str, _Upload]) -> None:
        self.values = values
        self.files = files

    def raw(self, name: str) -> Any:
        value = self.values.get(name)
        return None if value is None or value == "" else value

    def has(self, name: str) -> bool:
        return self.raw(name) is not None

    def string(self, name: str) -> str | None:
        value = self.raw(name)
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return str(value)
        if isinstance(value, str):
            return value
        return json.dumps(value)

    def integer(self, name: str, *, error: str | None = None) -> int | None:
        value = self.raw(name)
        if value is None:
            return None
        parsed = _as_int(value)
        if parsed is None:
            raise _bad(error or f"invalid {name} specified")
        return parsed

    def boolean(self, name: str) -> bool:
        # Top-level flags are read leniently: only "true"/"1" mean yes.
        value = self.raw(name)
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)):
            return value == 1
        return isinstance(value, str) and value.lower() in ("true", "1")

    def json_value(self, name: str, error: str) -> Any:
        value = self.raw(name)
        if value is None or not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise _bad(error) from None


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d{1,20}\s*", value):
        return int(value)
    return None


def _field_error(prefix: str, message: str) -> ApiError:
    # Inside a named object Telegram keeps tdlib's capital ("Can't find field"); a top-level
    # field's message is lowercased like any other.
    if prefix:
        return _bad(f"{prefix}: {message}")
    return _bad(_tdlib_message(message))


def _obj_bool(obj: JSON, name: str, prefix: str = "") -> bool | None:
    if name not in obj or obj[name] is None:
        return None
    if not isinstance(obj[name], bool):
        raise _field_error(prefix, f'Field "{name}" must be of type Boolean')
    return bool(obj[name])


def _obj_str(obj: JSON, name: str, prefix: str = "", *, required: bool = False) -> str | None:
    if name not in obj or obj[name] is None:
        if required:
            raise _field_error(prefix, f'Can\'t find field "{name}"')
        return None
    if not isinstance(obj[name], str):
        raise _field_error(prefix, f'Field "{name}" must be of type String')
    return str(obj[name])


def _obj_int(obj: JSON, name: str, prefix: str = "", *, required: bool = False) -> int | None:
    if name not in obj or obj[name] is None:
        if required:
            raise _field_error(prefix, f'Can\'t find field "{name}"')
        return None
    value = _as_int(obj[name])
    if value is None:
        raise _field_error(prefix, f'Field "{name}" must be a valid Number')
    return value


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _loggable(params: _Params) -> JSON:
    logged: JSON = {}
    for key, value in params.values.items():
        if (
            isinstance(value, str)
            and value.startswith("attach://")
            and (upload := params.files.get(value.removeprefix("attach://")))
        ):
            logged[key] = {"filename": upload.filename, "size": len(upload.content)}
        elif isinstance(value, str) and value[:1] in ("{", "["):
            try:
                logged[key] = json.loads(value)
            except ValueError:
                logged[key] = value
        else:
            logged[key] = value
    return logged
