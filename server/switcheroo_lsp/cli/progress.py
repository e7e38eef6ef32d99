"""The progress counter of long runs on a terminal."""

from __future__ import annotations

import time
from typing import TextIO

PROGRESS_AFTER_SECONDS = 0.5


class Progress:
    """A one-line counter on a terminal for long runs; silent otherwise."""

    def __init__(self, total: int, stream: TextIO, enabled: bool) -> None:
        self.total = total
        self.stream = stream
        self.enabled = enabled and total > 1
        self.started = time.monotonic()
        self.last = 0.0
        self.shown = False

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.started < PROGRESS_AFTER_SECONDS or now - self.last < 0.1:
            return
        self.last = now
        self.shown = True
        self.stream.write(f"\r{done}/{self.total} files ({100 * done // self.total}%)")
        self.stream.flush()

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
