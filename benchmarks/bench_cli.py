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


def walls(commands: dict[str, list[str]], runs: int) -> dict[str, tuple[float, float]]:
    """(best, median) wall time per command in seconds, runs interleaved so that load from other
    processes on the machine falls on every command alike."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for command in commands.values():  # warm-up: disk cache, bytecode cache
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    for _ in range(runs):
        for name, command in commands.items():
            start = time.perf_counter()
            subprocess.run(
                command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
            )
            times[name].append(time.perf_counter() - start)
    return {name: (min(t), statistics.median(t)) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--lines", type=int, default=200)
    parser.add_argument("--with-calls", type=float, default=0.05)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    ruff = shutil.which("ruff")
    if ruff is None:
        sys.exit("needs `ruff` on PATH (pip install -e '.[test]')")
    # this checkout's code, whatever the installed package points at
    server = Path(__file__).resolve().parents[1] / "server"
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(server), os.environ.get("PYTHONPATH", "")) if p
    )
    switcheroo = [sys.executable, "-m", "switcheroo_lsp.cli"]
    # as installed for a user: bytecode cached (kept out of the checkout), not recompiled per run
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        total = make_tree(root, args.files, args.lines, args.with_calls)
        print(
            f"tree: {args.files:,} files, {total:,} lines, {args.with_calls:.0%} with "
            f"load_state_dict calls; {os.cpu_count()} CPUs; {args.runs} interleaved runs"
        )
        os.environ["PYTHONPYCACHEPREFIX"] = str(root / ".pycache")
        results = walls(
            {
                "switcheroo check": [*switcheroo, "check", "--quiet", str(root)],
                "ruff check --select E711": [
                    *(ruff, "check", "--no-cache", "--isolated", "--select", "E711", str(root))
                ],
            },
            args.runs,
        )
        for name, (best, median) in results.items():
            print(f"{name + ':':28} best {best * 1000:6.0f} ms   median {median * 1000:6.0f} ms")
        ours, theirs = results["switcheroo check"], results["ruff check --select E711"]
        print(
            f"ratio switcheroo / ruff: {ours[0] / theirs[0]:.2f}x best, "
            f"{ours[1] / theirs[1]:.2f}x median (goal <= 1.0x)"
        )


if __name__ == "__main__":
    main()
