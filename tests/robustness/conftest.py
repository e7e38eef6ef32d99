"""Robustness suite: hypothesis profiles and the figures the suite reports at the end of a run."""

from __future__ import annotations

import os
from collections import Counter

import pytest
from hypothesis import HealthCheck, settings

# Bounded examples per property so CI stays fast on 2 cores; ROBUSTNESS_EXAMPLES raises it locally
# (benchmarks/bench_abuse.py runs the same properties with many more cases).
settings.register_profile(
    "robustness",
    max_examples=int(os.environ.get("ROBUSTNESS_EXAMPLES", "120")),
    deadline=None,
    derandomize=bool(os.environ.get("CI")),  # CI: the same cases every run
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

FIGURES: Counter[str] = Counter()


@pytest.fixture(scope="session")
def figures() -> Counter[str]:
    """Counters (cases generated, edits checked, events survived...) shown after the run."""
    return FIGURES


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("robustness figures")
        for name, value in sorted(FIGURES.items()):
            terminalreporter.write_line(f"{name}: {value:,}")
