"""What both emulators share: an aiohttp server on loopback, a request log, injected faults.

The emulators stand in for Telegram and X in tests, benchmarks, the demo and the sandbox.
They must be at least as strict as the real services: a lenient emulator hides bugs.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Fault:
    """A failure to serve instead of (or after) the real answer, for the next `count` calls.

    `endpoint` matches the emulator's endpoint name (a Bot API method such as ``sendMessage``,
    or an X operation such as ``createPosts``); ``None`` matches every call.
    `status` 0 means "answer normally" (useful with `delay` alone).
    `accept` makes the emulator carry the call out first and only then fail it, like a
    server that committed the change but whose answer was lost.
    """

    endpoint: str | None = None
    status: int = 503
    count: int = 1
    delay: float = 0.0
    retry_after: int | None = None
    description: str | None = None
    accept: bool = False


@dataclass
class LoggedRequest:
    at: float
    endpoint: str
    params: dict[str, Any]
    status: int = 0
    # The items of the answer's `data` (posts or users): what X bills a read by.
    returned: int = 0


@dataclass
class FaultQueue:
    faults: list[Fault] = field(default_factory=list)

    def add(self, fault: Fault) -> None:
        self.faults.append(fault)

    def take(self, endpoint: str) -> Fault | None:
        for fault in self.faults:
            if fault.endpoint is None or fault.endpoint == endpoint:
                fault.count -= 1
                if fault.count <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        self.faults.clear()


class EmulatorServer:
    """Owns the aiohttp runner; subclasses fill `self.app` with routes."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.app = web.Application(client_max_size=64 * 1024 * 1024)
        self.faults = FaultQueue()
        self.requests: list[LoggedRequest] = []
        self._runner: web.AppRunner | None = None
        self._host = "127.0.0.1"
        self._port = 0
        self._changed = asyncio.Condition()

    @property
    def base_url(self) -> str:
        if self._runner is None:
            raise RuntimeError("emulator is not running")
        return f"http://{self._host}:{self._port}"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self._host, self._port = host, server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> EmulatorServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def inject_fault(self, fault: Fault) -> None:
        self.faults.add(fault)

    async def notify(self) -> None:
        """Wake everyone waiting in `wait_for`: the emulator's state changed."""
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
        """Wait until `predicate()` returns something truthy and return it.

        Raises TimeoutError with the predicate's name when it never holds, so a test fails
        with a reason instead of hanging. The default is generous: it bounds a wait for what
        must happen, never a measure of how fast, and a loaded two-core CI machine is slow.
        """

        async def _wait() -> Any:
            async with self._changed:
                while True:
                    result = predicate()
                    if result:
                        return result
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), 0.05)

        try:
            return await asyncio.wait_for(_wait(), timeout)
        except TimeoutError:
            name = getattr(predicate, "__name__", repr(predicate))
            raise TimeoutError(f"condition {name} did not hold within {timeout}s") from None


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
