"""Engine speed: scan vs ast.parse of the same text, call-free files, one quick fix.

Run: python benchmarks/bench_engine.py. Prints medians and ratios measured in this run; no
assertions (the goals are in the README's Performance section).
"""

from __future__ import annotations

import ast
import gc
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))  # this checkout's code

from _gen.training_code import generate_module  # noqa: E402
from switcheroo_lsp.engine import fix, fix_all, scan  # noqa: E402
from timing import best_ms, median_ms  # noqa: E402

SCAN_MODULE = sys.modules["switcheroo_lsp.engine.scan"]


def cold_scan(text: str) -> object:
    """A scan that cannot reuse an earlier result for the same text."""
    SCAN_MODULE._CACHE.clear()
    return scan(text)


def parse_without_gc(text: str) -> object:
    """ast.parse under the same conditions as the scanner (cyclic collector paused)."""
    gc.disable()
    try:
        return ast.parse(text)
    finally:
        gc.enable()


def main() -> None:
    print(f"Python {sys.version.split()[0]}; scan: best of interleaved runs, others: medians\n")
    texts = {}
    for lines, runs in ((2_000, 15), (20_000, 5)):
        text = generate_module(lines)
        texts[lines] = text
        calls = len(cold_scan(text).findings)
        times = best_ms(
            {
                "parse": lambda t=text: ast.parse(t),
                "paused": lambda t=text: parse_without_gc(t),
                "scan": lambda t=text: cold_scan(t),
            },
            runs,
        )
        parse, paused, scanned = times["parse"], times["paused"], times["scan"]
        print(
            f"scan {lines:>6,} lines ({calls} calls): {scanned:7.1f} ms   ast.parse {parse:7.1f} ms"
            f"   ratio {scanned / parse:.2f}x (goal <= 1.5x); vs ast.parse with the collector paused"
            f" as scan does ({paused:.1f} ms): {scanned / paused:.2f}x"
        )
    for lines in (2_000, 20_000):
        text = generate_module(lines, with_calls=False)
        clean = median_ms(lambda t=text: cold_scan(t), 200)
        print(f"scan {lines:>6,} lines, no call:    {clean * 1000:7.1f} us (goal < 1 ms)")
    print()
    for lines in (2_000, 20_000):
        text = texts[lines]
        findings = cold_scan(text).findings  # what the editor did for diagnostics
        fixable = [f for f in findings if f.fixable]
        middle = fixable[len(fixable) // 4]
        warm = median_ms(lambda t=text, s=middle.span.start: fix(t, s), 20)
        cold = median_ms(
            lambda t=text, s=middle.span.start: (SCAN_MODULE._CACHE.clear(), fix(t, s)), 5
        )
        print(
            f"quick fix {lines:>6,} lines: {warm:6.2f} ms after the diagnostics scan "
            f"(goal < 30 ms); {cold:7.1f} ms with a fresh scan"
        )
    text = texts[20_000]
    every = median_ms(lambda: fix_all(text), 3)
    print(f"fix-all 20,000 lines ({len(scan(text).findings)} calls): {every:7.1f} ms")


if __name__ == "__main__":
    main()
