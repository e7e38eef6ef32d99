"""A progress bar over tensors and bytes, drawn on a terminal only (no tqdm needed)."""

from __future__ import annotations

import time
from typing import TextIO

REDRAW_SECONDS = 0.1
WIDTH = 30


def size_text(count: float) -> str:
    """Bytes as people read them: 512 B, 3.2 MB, 13.5 GB (powers of 1000, as disks are sold)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if count < 1000 or unit == "TB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")


class Bar:
    """`[#####     ] 12/291 tensors, 1.2 GB/13.5 GB, 310 MB/s`, redrawn in place at most ten
    times a second; nothing at all when disabled (not a terminal, or --quiet)."""

    def __init__(self, tensors: int, total_bytes: int, stream: TextIO, enabled: bool) -> None:
        self.tensors, self.total_bytes = tensors, total_bytes
        self.stream, self.enabled = stream, enabled
        self.done_tensors = 0
        self.done_bytes = 0
        self.started = time.monotonic()
        self.drawn = 0.0
        self.phase = ""

    def advance(self, nbytes: int) -> None:
        """One more tensor of ``nbytes`` done."""
        self.done_tensors += 1
        self.done_bytes += nbytes
        self.draw(final=self.done_tensors == self.tensors)

    def say(self, phase: str) -> None:
        """A word after the bar for a step that has no count (orbax writing its files)."""
        self.phase = phase
        self.draw(final=True)

    def draw(self, final: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not final and now - self.drawn < REDRAW_SECONDS:
            return
        self.drawn = now
        share = self.done_bytes / self.total_bytes if self.total_bytes else 1.0
        filled = int(WIDTH * share)
        rate = self.done_bytes / max(now - self.started, 1e-9)
        line = (
            f"\r[{'#' * filled}{' ' * (WIDTH - filled)}] {self.done_tensors}/{self.tensors}"
            f" tensors, {size_text(self.done_bytes)}/{size_text(self.total_bytes)},"
            f" {size_text(rate)}/s"
        )
        if self.phase:
            line += f", {self.phase}"
        self.stream.write(line + "\033[K")
        self.stream.flush()

    def close(self) -> None:
        """Leave the terminal's line clean for what is printed next."""
        if self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()
