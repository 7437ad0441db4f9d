"""X's rate limits: 15-minute windows per operation and per identity, with X's headers.

Each authenticated call spends one; a call over the limit answers 429 with `x-rate-limit-reset`,
and one made again in a window that already answered 429 is recorded in `violations`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from opsbot.emulators.base import EmulatorServer
from opsbot.emulators.x.auth import _Identity
from opsbot.emulators.x.problems import _about_blank, _ApiError

# Documented per-15-minute limits (docs.x.com, rate limits table): (per app, per user);
# None where X refuses that kind of authentication for the endpoint.
DEFAULT_LIMITS: dict[str, tuple[int | None, int | None]] = {
    "getUsersMe": (None, 75),
    "getUsersById": (300, 900),
    "getUsersByUsername": (300, 900),
    "getUsersMentions": (450, 300),
    "getUsersPosts": (10_000, 900),
    "searchPostsRecent": (450, 300),
    "getPostsById": (450, 900),
    "getPostsByIds": (3_500, 5_000),
    "createPosts": (None, 100),
    "deletePosts": (None, 50),
    "getUsage": (50, None),
}
USER_ONLY = frozenset({"getUsersMe", "createPosts", "deletePosts"})
APP_ONLY = frozenset({"getUsage"})


@dataclass
class _Window:
    reset: int
    used: int = 0
    refused: bool = False  # a 429 was answered in this window


class Limits(EmulatorServer):
    """The windows and their counts; `XEmulator.__init__` sets the attributes."""

    window_seconds: float
    violations: list[str]
    _limits: dict[tuple[str, str], int]
    _windows: dict[tuple[str, str, str], _Window]

    def _resolve_limits(self, overrides: Mapping[str, int]) -> dict[tuple[str, str], int]:
        resolved: dict[tuple[str, str], int] = {}
        for op, (app, user) in DEFAULT_LIMITS.items():
            if app is not None:
                resolved[(op, "app")] = app
            if user is not None:
                resolved[(op, "user")] = user
        for key, value in overrides.items():
            op, _, kind = key.partition(":")
            if op not in DEFAULT_LIMITS or kind not in ("", "app", "user"):
                raise ValueError(
                    f"unknown rate limit key {key!r}: use an operationId, "
                    "optionally with ':app' or ':user'"
                )
            for k in (kind,) if kind else ("app", "user"):
                resolved[(op, k)] = value
        return resolved

    def _rate_headers(self, limit: int, window: _Window) -> dict[str, str]:
        return {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(max(limit - window.used, 0)),
            "x-rate-limit-reset": str(window.reset),
        }

    def _window(self, op: str, identity: _Identity) -> tuple[int, _Window]:
        limit = self._limits[(op, identity.kind)]
        key = (op, identity.kind, identity.user_id)
        now = self.clock()
        window = self._windows.get(key)
        if window is None or now >= window.reset:
            # A whole-second reset, so a client that waits for the header is never early.
            window = _Window(reset=math.ceil(now + self.window_seconds))
            self._windows[key] = window
        return limit, window

    def _spend(self, op: str, identity: _Identity) -> dict[str, str]:
        limit, window = self._window(op, identity)
        if window.used >= limit:
            now = self.clock()
            if window.refused:
                self.violations.append(
                    f"{op} called again by the {identity.kind} identity after a 429, "
                    f"{window.reset - now:.2f}s before the window reset at {window.reset}"
                )
            window.refused = True
            raise _ApiError(429, _about_blank(429), headers=self._rate_headers(limit, window))
        window.used += 1
        return self._rate_headers(limit, window)
