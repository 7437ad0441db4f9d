"""The real `opsbot run`, as a child process that the run kills with SIGKILL and starts again.

The bot counts as ready once it polls Telegram for updates: by then it has migrated, taken the
instance lock, resumed its salon and started its workers. Its first getUpdates is the look for
another bot on the token, made before all that; polling is the second. A process that exits
by itself (a crash, or a start refused because the previous one still held the lock) is
started again too, and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from opsbot.chaos.journal import Journal
from opsbot.emulators.telegram import TelegramEmulator

STOP_TIMEOUT = 20.0
RESTART_PAUSE = 1.0
MAX_SELF_EXITS = 30


# The look for another bot on the token, then the first poll.
POLLS_WHEN_READY = 2


@dataclass(frozen=True)
class Kill:
    at: float
    reason: str
    uptime: float


class BotProcess:
    def __init__(
        self,
        *,
        env: Mapping[str, str],
        folder: Path,
        telegram: TelegramEmulator,
        journal: Journal,
    ) -> None:
        self._env = dict(env)
        self._folder = folder
        self._telegram = telegram
        self._journal = journal
        self._process: asyncio.subprocess.Process | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._started_at = 0.0
        self._scanned = 0
        self._ready = False
        self._polls = 0
        self._stopping = False
        self.starts = 0
        self.kills: list[Kill] = []
        self.self_exits: list[int] = []

    # --- readiness ---

    def is_ready(self) -> bool:
        """The current process polls Telegram for updates since it started."""
        if self._ready or self._process is None:
            return self._ready
        requests = self._telegram.requests
        for request in requests[self._scanned :]:
            if request.endpoint == "getUpdates" and request.at >= self._started_at:
                self._polls += 1
                if self._polls >= POLLS_WHEN_READY:
                    self._ready = True
                    self._journal(f"bot ready (pid {self._process.pid})")
                    break
        self._scanned = len(requests)
        return self._ready

    async def wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.is_ready():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    def uptime(self) -> float:
        return time.time() - self._started_at if self._process is not None else 0.0

    # --- life and death ---

    async def start(self) -> None:
        async with self._lock:
            await self._spawn()

    async def kill(self, reason: str) -> None:
        """SIGKILL, as a power cut or the OOM killer would, then start again at once."""
        async with self._lock:
            process = self._process
            if process is None or self._stopping:
                return
            uptime = self.uptime()
            self._detach()
            if process.returncode is not None:
                # It died by itself a moment ago: no kill to count, but start it again.
                await self._spawn()
                return
            at = time.time()
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGKILL)
            await process.wait()
            self.kills.append(Kill(at, reason, uptime))
            self._journal(
                f"kill -9 #{len(self.kills)} of pid {process.pid} ({reason}), "
                f"after {uptime:.2f}s up"
            )
            await self._spawn()

    async def stop(self) -> int | None:
        """The clean end of the run: SIGTERM, as an operator would stop it. The exit code
        (negative: the signal that ended it, -9 when it ignored SIGTERM and was killed)."""
        async with self._lock:
            self._stopping = True
            process = self._process
            self._detach()
            if process is None or process.returncode is not None:
                return None if process is None else process.returncode
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                self._journal(f"pid {process.pid} ignored SIGTERM for {STOP_TIMEOUT:.0f}s")
                process.kill()
                await process.wait()
            self._journal(f"bot stopped (pid {process.pid}, exit {process.returncode})")
            return process.returncode

    async def _spawn(self) -> None:
        self._started_at = time.time()
        self._scanned = len(self._telegram.requests)
        self._ready = False
        self._polls = 0
        with self._journal.path.open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "opsbot",
                "run",
                env=self._env,
                cwd=self._folder,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
        self.starts += 1
        self._journal(f"opsbot run started (pid {self._process.pid}, start #{self.starts})")
        self._watcher = asyncio.create_task(self._watch(self._process))

    def _detach(self) -> None:
        """The current process's exit is expected from here on."""
        if self._watcher is not None:
            self._watcher.cancel()
            self._watcher = None

    async def _watch(self, process: asyncio.subprocess.Process) -> None:
        code = await process.wait()
        self.self_exits.append(code)
        self._journal(f"pid {process.pid} exited by itself with code {code}")
        if len(self.self_exits) > MAX_SELF_EXITS:
            self._journal("the bot keeps exiting; not starting it again")
            return
        await asyncio.sleep(RESTART_PAUSE)
        async with self._lock:
            if self._process is process and not self._stopping:
                await self._spawn()

    async def close(self) -> None:
        """Whatever happens to the run, leave no child behind."""
        self._detach()
        process = self._process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
