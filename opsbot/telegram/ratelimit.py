"""One rate limiter for every Bot API request the bot makes.

Why not PTB's `AIORateLimiter`: in 22.8 its `finally:` re-opens the gate whenever any other
in-flight request finishes, so requests go out inside a 429's `retry_after` (upstream issue
5338). Telegram punishes that with longer bans. Here the pause is a deadline, not an event:
nothing but `getUpdates` (which PTB never routes through a limiter) leaves before it passes.

People come before the backlog: a request marked `BACKGROUND` (the card queue) waits while a
request for a person (a preview, a prompt, a refusal) waits for the same group, and never
takes the last `RESERVED_FOR_PEOPLE` slots of a group's window, so a curator's preview finds
a free slot within seconds however many cards are queued.

A private chat with a person has its own window (Telegram: about one message a second per
chat), separate from the group's: a curator's answer dialogue in private never waits for, nor
spends, the staff group's budget.

When the bot stops, `close` turns away every send still waiting for a slot (or for a flood
wait to pass) with `BotStopping`: nothing was posted, so the card stays queued and the next
start sends it. A send already handed to Telegram finishes and is recorded. Without this a
backlog of hundreds holds the stop for minutes, one group slot every three seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter, TelegramError
from telegram.ext import BaseRateLimiter

from opsbot.clock import Clock, SystemClock

log = logging.getLogger(__name__)

# Methods Telegram counts as messages towards its flood limits.
COUNTED_METHODS = frozenset(
    {
        "sendMessage",
        "sendDocument",
        "sendPhoto",
        "copyMessage",
        "forwardMessage",
        "editMessageText",
        "editMessageReplyMarkup",
        "editMessageCaption",
    }
)

JSONResult = bool | dict[str, Any] | list[dict[str, Any]]

RESERVED_FOR_PEOPLE = 2
# How often a background request looks again while people are waiting ahead of it.
YIELD_SECONDS = 0.05


class BotStopping(TelegramError):
    """The bot is stopping: the request was not sent, and will not be."""

    def __init__(self) -> None:
        super().__init__("not sent: the bot is stopping")


@dataclass(frozen=True)
class Pace:
    """What a caller tells the limiter through PTB's `rate_limit_args`."""

    background: bool = False
    # The question whose card this send is: the send journal keeps it with the message id, so
    # a card whose send was answered but not recorded before a crash is known as that card.
    card_of: int | None = None
    # The questions a digest lists, kept the same way for the same reason.
    listed: tuple[int, ...] = ()


BACKGROUND = Pace(background=True)


class SlidingWindow:
    """At most `rate` events in any `period` seconds.

    An event's time is refreshed when its request completes: the server saw it somewhere
    between sending and answering, and the later bound is the safe one to count from.
    """

    def __init__(self, rate: int, period: float) -> None:
        self.rate = rate
        self.period = period
        self._events: deque[list[float]] = deque()

    def wait_time(self, now: float, rate: int | None = None) -> float:
        """Seconds until an event fits, counting at most `rate` (default: the window's)."""
        rate = self.rate if rate is None else rate
        while self._events and self._events[0][0] + self.period <= now:
            self._events.popleft()
        if len(self._events) < rate:
            return 0.0
        return self._events[-rate][0] + self.period - now

    def seed(self, times: list[float]) -> None:
        """Events that happened before this window existed (an earlier run's sends)."""
        events = sorted([[t] for t in times] + list(self._events))
        self._events = deque(events)

    def add(self, now: float) -> list[float]:
        event = [now]
        self._events.append(event)
        return event

    def idle(self, now: float) -> bool:
        return self.wait_time(now) == 0.0 and not self._events


class PacedRateLimiter(BaseRateLimiter[Pace]):
    def __init__(
        self,
        *,
        group_rate: int = 20,
        group_period: float = 60.0,
        global_rate: int = 30,
        global_period: float = 1.0,
        private_rate: int = 1,
        private_period: float = 1.0,
        max_retries: int = 10,
        clock: Clock | None = None,
    ) -> None:
        self._group_rate = group_rate
        self._group_period = group_period
        self._global = SlidingWindow(global_rate, global_period)
        self._groups: dict[int | str, SlidingWindow] = {}
        self._private_rate = private_rate
        self._private_period = private_period
        self._privates: dict[int, SlidingWindow] = {}
        self._max_retries = max_retries
        self._clock = clock or SystemClock()
        self._blocked_until = 0.0
        self._lock = asyncio.Lock()
        self._people_waiting: dict[int | str, int] = {}
        self._closed = asyncio.Event()
        # Sends waiting for a free slot right now.
        self.holding = 0
        # Awaited for every counted message that reached a group (chat id, message id), before
        # the caller hears of it: what it records survives a kill right after.
        self.on_group_send: Callable[[int, int | None, Pace | None], Awaitable[None]] | None = None
        # Told of every message id Telegram's answers reveal in a group (chat id, message id).
        self.on_group_message: Callable[[int, int], None] | None = None

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    def close(self) -> None:
        """Send nothing more that is not already on its way to Telegram."""
        self._closed.set()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    @property
    def blocked_until(self) -> float:
        """Monotonic time before which nothing is sent (after a 429)."""
        return self._blocked_until

    def seed(self, chat_id: int, ages: list[float]) -> None:
        """Count sends made `ages` seconds ago (by an earlier run) in the group's window."""
        now = self._clock.monotonic()
        self._group_window(chat_id).seed([now - age for age in ages])

    def _group_window(self, chat_id: int | str) -> SlidingWindow:
        return _window(self._groups, chat_id, self._group_rate, self._group_period, self._clock)

    def _private_window(self, chat_id: int) -> SlidingWindow:
        return _window(
            self._privates, chat_id, self._private_rate, self._private_period, self._clock
        )

    async def _acquire(
        self, group: int | str | None, counted: bool, background: bool, private: int | None = None
    ) -> list[list[float]]:
        """Wait for a free slot in every window that applies, then take it."""
        person = counted and group is not None and not background
        if person:
            assert group is not None
            self._people_waiting[group] = self._people_waiting.get(group, 0) + 1
        try:
            while True:
                if self._closed.is_set():
                    raise BotStopping
                async with self._lock:
                    now = self._clock.monotonic()
                    windows = []
                    waits = [self._blocked_until - now]
                    if counted:
                        windows.append(self._global)
                        waits.append(self._global.wait_time(now))
                        if group is not None:
                            window = self._group_window(group)
                            windows.append(window)
                            waits.append(window.wait_time(now))
                            if background:
                                reserve = min(RESERVED_FOR_PEOPLE, window.rate - 1)
                                waits.append(window.wait_time(now, window.rate - reserve))
                                if self._people_waiting.get(group):
                                    waits.append(YIELD_SECONDS)
                        if private is not None:
                            window = self._private_window(private)
                            windows.append(window)
                            waits.append(window.wait_time(now))
                    wait = max(waits)
                    if wait <= 0:
                        return [w.add(now) for w in windows]
                self.holding += 1
                try:
                    await self._clock.wait(self._closed, wait)
                finally:
                    self.holding -= 1
        finally:
            if person:
                assert group is not None
                self._people_waiting[group] -= 1

    def _block(self, seconds: float) -> None:
        until = self._clock.monotonic() + seconds
        if until > self._blocked_until:
            self._blocked_until = until

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSONResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Pace | None,
    ) -> JSONResult:
        max_retries = self._max_retries
        background = rate_limit_args is not None and rate_limit_args.background
        group = _group_of(data.get("chat_id"))
        private = _private_of(data.get("chat_id"))
        counted = endpoint in COUNTED_METHODS
        for attempt in range(max_retries + 1):
            slots = await self._acquire(group, counted, background, private)
            try:
                result = await callback(*args, **kwargs)
            except RetryAfter as exc:
                # A whole-bot pause: we cannot tell which of Telegram's limits was hit.
                self._block(_seconds(exc.retry_after))
                if attempt == max_retries:
                    raise
                log.warning("Telegram asked to wait %s s before %s", exc.retry_after, endpoint)
            else:
                if isinstance(group, int) and isinstance(result, dict):
                    self._saw_message(group, result)
                if counted and isinstance(group, int) and self.on_group_send is not None:
                    message_id = result.get("message_id") if isinstance(result, dict) else None
                    await self.on_group_send(
                        group, message_id if isinstance(message_id, int) else None, rate_limit_args
                    )
                return result
            finally:
                done = self._clock.monotonic()
                for slot in slots:
                    slot[0] = done
        raise AssertionError("unreachable")  # pragma: no cover

    def _saw_message(self, group: int, result: dict[str, Any]) -> None:
        message_id = result.get("message_id")
        if self.on_group_message is not None and isinstance(message_id, int):
            self.on_group_message(group, message_id)


def _seconds(value: timedelta | float) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _window(
    windows: dict[Any, SlidingWindow],
    key: int | str,
    rate: int,
    period: float,
    clock: Clock,
) -> SlidingWindow:
    window = windows.get(key)
    if window is None:
        if len(windows) > 512:
            now = clock.monotonic()
            for old in [k for k, w in windows.items() if w.idle(now)]:
                del windows[old]
        window = windows[key] = SlidingWindow(rate, period)
    return window


def _private_of(chat_id: object) -> int | None:
    """A person's private chat has their (positive) user id."""
    if isinstance(chat_id, str):
        try:
            chat_id = int(chat_id)
        except ValueError:
            return None
    if isinstance(chat_id, int) and chat_id > 0:
        return chat_id
    return None


def _group_of(chat_id: object) -> int | str | None:
    """Group chats have negative ids (or are addressed by @username)."""
    if isinstance(chat_id, str):
        try:
            chat_id = int(chat_id)
        except ValueError:
            return chat_id
    if isinstance(chat_id, int) and chat_id < 0:
        return chat_id
    return None
