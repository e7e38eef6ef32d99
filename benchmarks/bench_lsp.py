"""Language server latency and memory, measured through a real LSP client over stdio.

    python benchmarks/bench_lsp.py [--quick]

For 2,000- and 20,000-line files: the time from sending ``didChange`` to receiving the
``publishDiagnostics`` for that version, against ``ast.parse`` of the same text measured in the
same run (goal: at most 1.5x ast.parse + 10 ms); the quick-fix ``codeAction`` response time on
the 20,000-line file (goal: under 50 ms); and the server's resident memory per open document.
The client is pygls' LanguageClient with VS Code's capability set (push diagnostics, UTF-16).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient
from pytest_lsp import client_capabilities

# Measure this checkout's server, whatever copy of the package is installed.
SERVER_SOURCES = Path(__file__).resolve().parents[1] / "server"
SERVER_ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(
        filter(None, [str(SERVER_SOURCES), os.environ.get("PYTHONPATH")])
    ),
}

BLOCK = '''\
class Block{n}(nn.Module):
    """A residual block; ordinary code the scan has to read past."""

    def __init__(self, width: int = {n}) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.proj = nn.Linear(width, width)

    def forward(self, x):
        # comment with a torch.load mention that is not a call
        return x + self.proj(self.norm(x))

'''
MODEL_CALL = "model.load_state_dict(torch.load('ckpt_{n}.pt', map_location='cpu'))\n"


def make_source(lines: int) -> str:
    """A Python file of about ``lines`` lines, with a model call every ~500 lines."""
    parts = ["import torch\nimport torch.nn as nn\n\nmodel = Net()\n"]
    count = 4
    n = 0
    while count < lines:
        block = BLOCK.format(n=n)
        if n % 40 == 0:
            block += MODEL_CALL.format(n=n)
        parts.append(block)
        count += block.count("\n")
        n += 1
    return "".join(parts)


PARSE_TIMER = """
import ast, sys, time
for line in sys.stdin:
    text = open(line.strip(), encoding="utf-8").read()
    start = time.perf_counter()
    ast.parse(text)
    print(time.perf_counter() - start, flush=True)
"""


class ParseBaseline:
    """``ast.parse`` timed in a fresh interpreter, on demand, so that the baseline and the
    server are measured back to back under the same machine load. (Not in this process: its heap
    - the client, lsprotocol - would slow the garbage collector's passes during the parse.)"""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", PARSE_TIMER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.files: dict[str, str] = {}

    def seconds(self, text: str) -> float:
        """One timed parse of ``text``."""
        path = self.files.get(text)
        if path is None:
            with tempfile.NamedTemporaryFile(
                "w", suffix=".py", encoding="utf-8", delete=False
            ) as file:
                file.write(text)
            path = self.files[text] = file.name
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(path + "\n")
        self.process.stdin.flush()
        return float(self.process.stdout.readline())

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait()
        for path in self.files.values():
            os.unlink(path)


def rss_kib(pid: int) -> int:
    """Resident memory of a process (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def timing_client(published: dict[tuple[str, int | None], float]) -> LanguageClient:
    """A client that records when each (uri, version) is published and answers the server's own
    requests as an editor would: no settings, registration ok."""
    client = LanguageClient("switcheroo-bench", "1")

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_publish(params: types.PublishDiagnosticsParams) -> None:
        published[(params.uri, params.version)] = time.perf_counter()

    @client.feature(types.WORKSPACE_CONFIGURATION)
    def configuration(params: types.ConfigurationParams) -> list[None]:
        return [None for _ in params.items]

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(params: types.RegistrationParams) -> None:
        return None

    @client.feature(types.WINDOW_LOG_MESSAGE)
    def log_message(params: types.LogMessageParams) -> None:
        return None

    return client


class Bench:
    """One server process and a client that timestamps every publish."""

    def __init__(self) -> None:
        self.published: dict[tuple[str, int | None], float] = {}
        self.client = timing_client(self.published)
        self.versions: dict[str, int] = {}

    async def start(self) -> None:
        await self.client.start_io(sys.executable, "-m", "switcheroo_lsp", env=SERVER_ENV)
        await self.client.initialize_async(
            types.InitializeParams(capabilities=client_capabilities("visual-studio-code"))
        )
        self.client.initialized(types.InitializedParams())

    @property
    def pid(self) -> int:
        assert self.client._server is not None
        return self.client._server.pid

    async def wait_for(self, uri: str, version: int) -> float:
        while (uri, version) not in self.published:
            await asyncio.sleep(0.0005)
        return self.published[(uri, version)]

    async def open(self, uri: str, text: str) -> None:
        self.versions[uri] = 1
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id="python", version=1, text=text
                )
            )
        )
        await self.wait_for(uri, 1)

    async def change_latency(self, uri: str, line: int) -> float:
        """Insert a comment line and time until the diagnostics of that version arrive."""
        self.versions[uri] += 1
        version = self.versions[uri]
        at = types.Position(line=line, character=0)
        sent = time.perf_counter()
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(start=at, end=at), text="# edit\n"
                    )
                ],
            )
        )
        return await self.wait_for(uri, version) - sent

    async def quick_fix_seconds(self, uri: str, line: int) -> float:
        cursor = types.Position(line=line, character=0)
        start = time.perf_counter()
        actions = await self.client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=types.Range(start=cursor, end=cursor),
                context=types.CodeActionContext(diagnostics=[], only=["quickfix"]),
            )
        )
        elapsed = time.perf_counter() - start
        assert actions, "no quick fix offered"
        return elapsed

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()


async def run(quick: bool) -> None:
    bench = Bench()
    await bench.start()
    baseline = ParseBaseline()
    try:
        for lines in (2_000, 20_000):
            text = make_source(lines)
            uri = f"file:///bench/file_{lines}.py"
            await bench.open(uri, text)
            # Edits spaced like keystrokes; each latency is paired with a parse timed right before
            # it, so both see the same machine load. The first pair is a warm-up.
            repeats = 3 if quick else (15 if lines == 2_000 else 7)
            latencies, parses = [], []
            for i in range(repeats + 1):
                parse = baseline.seconds(text)
                latency = await bench.change_latency(uri, 1)
                if i:
                    latencies.append(latency)
                    parses.append(parse)
                await asyncio.sleep(0.05)
            latency, parse = statistics.median(latencies), statistics.median(parses)
            ratio = statistics.median(lat / par for lat, par in zip(latencies, parses, strict=True))
            budget = 1.5 * parse + 0.010
            print(
                f"{lines:>6} lines: didChange->publishDiagnostics {latency * 1000:7.1f} ms | "
                f"ast.parse {parse * 1000:6.1f} ms (medians of {len(latencies)} pairs) | "
                f"ratio {ratio:4.2f}x | goal <= 1.5x + 10 ms = {budget * 1000:6.1f} ms: "
                f"{'met' if latency <= budget else 'MISSED'}"
            )
            if lines == 20_000:
                model_line = next(
                    i for i, line in enumerate(text.splitlines()) if line.startswith("model.load")
                )
                # Each edit above inserted one line before it.
                model_line += repeats + 1
                fixes = [await bench.quick_fix_seconds(uri, model_line) for _ in range(5)]
                fix_ms = statistics.median(fixes) * 1000
                print(
                    f"{lines:>6} lines: quick fix codeAction response {fix_ms:6.1f} ms (median of 5) "
                    f"| goal < 50 ms: {'met' if fix_ms < 50 else 'MISSED'}"
                )
    finally:
        baseline.close()
        await bench.stop()


async def memory(quick: bool) -> None:
    """Resident memory per open document, in a server that has done nothing else (transient
    allocations of earlier work would be reused and hide the growth)."""
    bench = Bench()
    await bench.start()
    try:
        text = make_source(2_000)
        await bench.open("file:///bench/warm_up.py", text)
        documents = 10 if quick else 50
        before = rss_kib(bench.pid)
        for i in range(documents):
            await bench.open(f"file:///bench/memory_{i}.py", text.replace("Block", f"B{i}_"))
        after = rss_kib(bench.pid)
        per_document = (after - before) / documents
        print(
            f"memory: {per_document:,.0f} KiB per open 2,000-line document "
            f"({len(text.encode()) / 1024:,.0f} KiB of text), over {documents} documents; "
            f"server RSS {before / 1024:,.1f} MiB with one document open"
        )
    finally:
        await bench.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    asyncio.run(run(args.quick))
    asyncio.run(memory(args.quick))


if __name__ == "__main__":
    main()
