"""The run's own account of what it did, written into the bot's log file.

Both append to one file, so every kill, fault, post and press sits among the bot's own lines
in time order, with the same timestamp format: the evidence for any figure that is not 0.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path


class Journal:
    def __init__(self, path: Path, label: str = "CHAOS") -> None:
        self.path = path
        # Marks the run's own lines among the bot's.
        self.label = label
        # Append mode: the bot's processes write to the same file through their own handles.
        self._file = path.open("a", encoding="utf-8")
        self._started = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def __call__(self, message: str) -> None:
        now = datetime.now()
        stamp = now.strftime("%Y-%m-%d %H:%M:%S") + f",{now.microsecond // 1000:03d}"
        self._file.write(f"{stamp} {self.label} [{self.elapsed():7.2f}s] {message}\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()
