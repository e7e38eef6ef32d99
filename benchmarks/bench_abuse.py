"""Robustness figures: fuzzed engine cases, a language server under 2,000 rapid edits, big files.

Run: python benchmarks/bench_abuse.py [--examples N]. Prints counts, memory and ratios against
baselines measured in the same run (``ast.parse`` of the same texts); no assertions (the tests in
tests/robustness assert the properties, this script only measures).
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import random
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))  # this checkout's code
sys.path.insert(0, str(ROOT / "tests" / "robustness"))
sys.path.insert(0, str(ROOT / "tests"))  # clientside.py, which the harness imports

from engine_properties import check_program  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from server_harness import running_server  # noqa: E402
from source_strategies import damaged_programs, python_programs  # noqa: E402

from switcheroo_lsp.engine import scan  # noqa: E402

CALL = "model.load_state_dict(torch.load(path))"


def fuzz(examples: int) -> None:
    """The engine's properties over many generated programs (as the tests, more cases)."""
    counts = {"programs": 0, "damaged": 0, "edits": 0, "check_s": 0.0, "parse_s": 0.0}

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(text=st.one_of(python_programs(), damaged_programs()))
    def run(text: str) -> None:
        start = time.perf_counter()
        try:
            ast.parse(text.removeprefix("\ufeff"))
        except (SyntaxError, ValueError):
            counts["damaged"] += 1
        counts["parse_s"] += time.perf_counter() - start
        start = time.perf_counter()
        counts["edits"] += check_program(text)
        counts["check_s"] += time.perf_counter() - start
        counts["programs"] += 1

    run()
    ratio = counts["check_s"] / max(counts["parse_s"], 1e-9)
    print(
        f"fuzzed engine: {counts['programs']:,} generated programs "
        f"({counts['damaged']:,} not valid Python), {counts['edits']:,} edits checked, "
        f"0 failures; all checks took {ratio:,.0f}x an ast.parse of the same texts"
    )


def large_document(lines: int) -> str:
    out = ['"""Générateur 🚀."""', "import torch", ""]
    for i in range(lines // 6):
        out += [
            f"def step_{i}(model, path):",
            f"    # step {i} (état)",
            f"    {CALL}" if i % 10 == 0 else f"    x = torch.zeros({i})",
            "    y = x * 2",
            "    return model",
            "",
        ]
    return "\n".join(out) + "\n"


async def rapid_changes(events: int, size: int) -> None:
    """``events`` didChange notifications as fast as the pipe takes them, then the final publish."""
    with tempfile.TemporaryDirectory() as tmp:
        async with running_server(Path(tmp)) as server:
            uri = (Path(tmp) / "big.py").as_uri()
            server.open(uri, large_document(size))
            await server.wait_for_publish(uri, lambda p: p.version == 1)
            base = server.rss()
            rng = random.Random(1)
            lines = server.texts[uri].split("\n")
            comments = [i for i, line in enumerate(lines) if "# step" in line]
            peak = base
            samples = []
            start = time.perf_counter()
            for event in range(events):
                line = rng.choice(comments)
                column = len(server.lines.get(uri, lines)[line])
                server.replace_in_line(uri, line, column, column, rng.choice("aé模🚀 "))
                if event % 250 == 249:
                    samples.append(server.rss())
                    peak = max(peak, samples[-1])
            sent = time.perf_counter()
            version = server.versions[uri]
            last = await server.wait_for_publish(uri, lambda p: p.version == version)
            done = time.perf_counter()
            samples.append(server.rss())
            peak = max(peak, samples[-1])
            server.sync_text(uri)
            final = server.texts[uri]
            parse_start = time.perf_counter()
            ast.parse(final)
            parse = time.perf_counter() - parse_start
            expected = len(scan(final).findings)
            publishes = sum(1 for p in server.published if p.uri == uri)
            print(
                f"language server: {events:,} didChange events on a {size:,}-line document sent "
                f"in {sent - start:.1f} s; the last version was published {done - sent:.2f} s "
                f"after the last event ({(done - sent) / parse:.1f}x one ast.parse of the "
                f"document: {parse * 1000:.0f} ms), {len(last.diagnostics)} diagnostics (a scan "
                f"of the final text: {expected}); {publishes} publishes for {events:,} versions"
            )
            print(
                f"  server RSS: {base / 2**20:.0f} MiB after open, peak {peak / 2**20:.0f} MiB, "
                f"every 250 events: {[s // 2**20 for s in samples]} MiB "
                f"(growth over the last {events - 250:,} events: "
                f"{(max(samples[1:]) - samples[0]) / 2**20:+.1f} MiB)"
            )


async def big_file(megabytes: int) -> None:
    """A document of ``megabytes`` MB (a data literal and a call at the end) through the server
    with maxFileSize raised, vs ``ast.parse`` of the same text."""
    lines = megabytes * 10**6 // 19
    text = "import torch\nWEIGHTS = (\n" + '    "QUJDRA==" "🚀"\n' * lines + f")\n{CALL}\n"
    size = len(text.encode())
    start = time.perf_counter()
    ast.parse(text)
    parse = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        async with running_server(Path(tmp), settings={"maxFileSize": 10**9}) as server:
            uri = (Path(tmp) / "huge.py").as_uri()
            base = server.rss()
            start = time.perf_counter()
            server.open(uri, text)
            published = await server.wait_for_publish(uri, lambda p: p.version == 1)
            elapsed = time.perf_counter() - start
            print(
                f"language server: {size / 10**6:.1f} MB document opened and analysed in "
                f"{elapsed:.2f} s ({elapsed / parse:.1f}x ast.parse of it: {parse:.2f} s), "
                f"{len(published.diagnostics)} diagnostic; RSS {base / 2**20:.0f} -> "
                f"{server.rss() / 2**20:.0f} MiB"
            )
    with tempfile.TemporaryDirectory() as tmp:
        async with running_server(Path(tmp)) as server:
            uri = (Path(tmp) / "huge.py").as_uri()
            server.open(uri, text)
            await server.wait_for_publish(uri, lambda p: p.version == 1)
            line = await server.wait_for_log("over maxFileSize")
            print(f"  with the default maxFileSize: skipped, logged {re.sub(r'.*/', '', line)!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1000, help="fuzzed programs")
    parser.add_argument("--events", type=int, default=2000, help="didChange events")
    parser.add_argument("--megabytes", type=int, default=20, help="size of the big document")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}\n")
    fuzz(args.examples)
    asyncio.run(rapid_changes(args.events, 3000))
    asyncio.run(big_file(args.megabytes))


if __name__ == "__main__":
    main()
