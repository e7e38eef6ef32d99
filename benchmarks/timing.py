"""Wall-time measurements the benchmark scripts share (figures only; nothing here asserts)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_ms(action: Callable[[], object], runs: int) -> float:
    """Median wall time of ``runs`` calls, in milliseconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def best_ms(actions: dict[str, Callable[[], object]], runs: int) -> dict[str, float]:
    """Best-of-``runs`` wall time per action, in ms, the actions interleaved so that load from
    other processes on the machine falls on all of them alike (the minimum is the least
    disturbed run of CPU-bound code)."""
    best = dict.fromkeys(actions, float("inf"))
    for _ in range(runs):
        for name, action in actions.items():
            start = time.perf_counter()
            action()
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: seconds * 1000 for name, seconds in best.items()}
