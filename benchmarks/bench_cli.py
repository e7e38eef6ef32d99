"""`switcheroo check` over a large generated tree vs `ruff check --select <one rule>` on the same tree.

Run: python benchmarks/bench_cli.py [--files N] [--lines N] [--with-calls FRACTION]. Wall time
of whole processes (start-up included), medians of a few runs, ratio printed; no assertions.
By default 5% of the files hold load_state_dict calls (in the surveyed repositories it was less).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _gen.training_code import generate_module  # noqa: E402


def make_tree(root: Path, files: int, lines: int, with_calls: float) -> int:
    """Write ``files`` modules in nested packages; return the total line count."""
    total = 0
    every = max(1, round(1 / with_calls)) if with_calls > 0 else 0
    for i in range(files):
        package = root / f"pkg{i // 100:03}" / f"sub{i // 10 % 10}"
        package.mkdir(parents=True, exist_ok=True)
        text = generate_module(lines, with_calls=bool(every) and i % every == 0, seed=i)
        (package / f"module{i:05}.py").write_text(text)
        total += text.count("\n")
    return total


def wall(command: list[str], runs: int) -> float:
    """Median wall time of a command, in seconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--lines", type=int, default=200)
    parser.add_argument("--with-calls", type=float, default=0.05)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    ruff = shutil.which("ruff")
    switcheroo = shutil.which("switcheroo")
    if ruff is None or switcheroo is None:
        sys.exit("needs `ruff` and `switcheroo` on PATH (pip install -e '.[test]')")
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        total = make_tree(root, args.files, args.lines, args.with_calls)
        print(
            f"tree: {args.files:,} files, {total:,} lines, {args.with_calls:.0%} with "
            f"load_state_dict calls; {os.cpu_count()} CPUs; medians of {args.runs} runs"
        )
        ours = wall([switcheroo, "check", "--quiet", str(root)], args.runs)
        theirs = wall(
            [ruff, "check", "--no-cache", "--isolated", "--select", "E711", str(root)], args.runs
        )
        print(f"switcheroo check:                 {ours * 1000:8.0f} ms")
        print(f"ruff check --select E711:         {theirs * 1000:8.0f} ms")
        print(f"ratio switcheroo / ruff: {ours / theirs:.2f}x (goal <= 1.0x)")


if __name__ == "__main__":
    main()
