"""What the start-up hook (server/switcheroo-lsp-startup.pth) costs Python processes that are not
switcheroo-lsp: every interpreter of an environment with the package installed reads it.

Run: python benchmarks/bench_startup_hook.py [--runs N]. Two fresh virtual environments, one with
the hook in site-packages, one without; prints the modules ``-X importtime -c pass`` imports in
each, best-of-N wall times of ``python -c pass`` (interleaved) and the cost of the hook's line
itself, run in this process. Figures only; tests/robustness/test_startup_shadowing.py asserts.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import sysconfig
import tempfile
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from timing import best_ms  # noqa: E402

HOOK = ROOT / "server" / "switcheroo-lsp-startup.pth"


def environment(where: Path, with_hook: bool) -> Path:
    """A venv without pip (nothing else in its site-packages); its interpreter."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    if with_hook:
        purelib = subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        (Path(purelib) / HOOK.name).write_text(HOOK.read_text(encoding="utf-8"), encoding="utf-8")
    return python


def imported(python: Path, runs: int) -> tuple[list[str], int]:
    """Modules ``-X importtime -c pass`` reports, and site's least cumulative time (us) in runs."""
    names: list[str] = []
    site_us = []
    for _ in range(runs):
        done = subprocess.run(
            [str(python), "-X", "importtime", "-c", "pass"],
            capture_output=True,
            text=True,
            check=True,
        )
        names = []
        for line in done.stderr.splitlines():
            match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
            if match:
                names.append(match[4])
                if match[4] == "site":
                    site_us.append(int(match[2]))
    return names, min(site_us)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]} ({sysconfig.get_platform()})")
    with tempfile.TemporaryDirectory() as tmp:
        plain = environment(Path(tmp, "plain"), with_hook=False)
        hooked = environment(Path(tmp, "hook"), with_hook=True)
        plain_modules, plain_site = imported(plain, args.runs // 4)
        hook_modules, hook_site = imported(hooked, args.runs // 4)
        extra = sorted(set(hook_modules) - set(plain_modules))
        print(f"-X importtime -c pass: {len(plain_modules)} modules without the hook,")
        print(f"  {len(hook_modules)} with it; imported only with the hook: {extra or 'none'}")
        print(
            f"  site's import (cumulative, best of {args.runs // 4}): {plain_site} us without, {hook_site} us with"
        )
        times = best_ms(
            {
                "without": lambda: subprocess.run([str(plain), "-c", "pass"], check=True),
                "with": lambda: subprocess.run([str(hooked), "-c", "pass"], check=True),
            },
            args.runs,
        )
        print(
            f"python -c pass, best of {args.runs}: {times['without']:.2f} ms without the hook, "
            f"{times['with']:.2f} ms with it (ratio {times['with'] / times['without']:.3f})"
        )
    line = next(
        text for text in HOOK.read_text(encoding="utf-8").splitlines() if text.startswith("import")
    )
    seconds = min(timeit.repeat(lambda: exec(line), number=10_000, repeat=5)) / 10_000
    print(f"the hook's line itself (this process, not -m switcheroo_lsp): {seconds * 1e9:.0f} ns")


if __name__ == "__main__":
    main()
