"""A least-recently-used cache keyed by source text and bounded by the texts' total length.

While one notebook cell is edited, every keystroke makes a new text: a cache bounded by its number
of entries keeps thousands of parse trees of one big cell (about 6.5 MB each for 2,000 lines). What
is cached here is proportional to the text it came from, so the bound is on characters.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class TextCache(Generic[T]):
    """``function(text)``, remembered for the most recently used texts up to ``max_chars`` in all
    (a single text longer than that is computed and not kept)."""

    def __init__(self, function: Callable[[str], T], max_chars: int) -> None:
        self._function = function
        self.max_chars = max_chars
        self._entries: OrderedDict[str, T] = OrderedDict()
        self.cached_chars = 0
        self._lock = threading.Lock()  # the CLI's and the server's engine threads may share it
        functools.update_wrapper(self, function)

    def __call__(self, text: str) -> T:
        with self._lock:
            if text in self._entries:
                self._entries.move_to_end(text)
                return self._entries[text]
        value = self._function(text)
        if len(text) > self.max_chars:
            return value
        with self._lock:
            if text not in self._entries:
                self._entries[text] = value
                self.cached_chars += len(text)
                while self.cached_chars > self.max_chars:
                    oldest, _ = self._entries.popitem(last=False)
                    self.cached_chars -= len(oldest)
        return value

    def __len__(self) -> int:
        return len(self._entries)

    def cache_clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()
            self.cached_chars = 0
