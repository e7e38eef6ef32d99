"""Checkpoint preview latency, measured through a real LSP client over stdio.

    python benchmarks/bench_preview.py [--quick]

A 100-shard safetensors index of a Llama-style decoder (80 layers, bf16, written as sparse files:
the headers are real, the data zeros) lies beside a document naming it. Measured:
- the hover on the index literal the first time (server cache empty: 101 files' headers read,
  KeyMapper.plan over stand-in arrays) and when cached (median), against the hover on a call
  whose checkpoint does not exist, measured in the same run (the baseline: same round trip,
  no checkpoint read);
- the code lens request once the checkpoint is cached;
- diagnostics latency (didChange -> publishDiagnostics) while a first-time read is in flight,
  against the same when idle: a checkpoint read must not hold diagnostics up;
- the server's peak resident memory (VmHWM).
The OS file cache is warm (the files were just written): "first time" is the server's own work.
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
from pytest_lsp import client_capabilities

from bench_lsp import timing_client

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from checkpoint_files import llama_like, write_sharded  # noqa: E402

SERVER_ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(
        filter(None, [str(ROOT / "server"), os.environ.get("PYTHONPATH")])
    ),
}
SOURCE = """\
import torch
from safetensors.torch import load_file

model = Net()
index = "{name}"
model.load_state_dict(torch.load("absent/model.pt"))
variables = KeyMapper.from_torch(index)
"""


class Bench:
    """One server process, a client timing hovers, lenses and publishes."""

    def __init__(self) -> None:
        self.published: dict[tuple[str, int | None], float] = {}
        self.client = timing_client(self.published)

        @self.client.feature(types.WORKSPACE_CODE_LENS_REFRESH)
        def refresh(params: None) -> None:
            return None

    async def start(self, folder: Path) -> None:
        await self.client.start_io(sys.executable, "-m", "switcheroo_lsp", env=SERVER_ENV)
        await self.client.initialize_async(
            types.InitializeParams(
                capabilities=client_capabilities("visual-studio-code"),
                workspace_folders=[types.WorkspaceFolder(uri=folder.as_uri(), name="bench")],
                root_uri=folder.as_uri(),
            )
        )
        self.client.initialized(types.InitializedParams())

    async def hover_ms(self, uri: str, line: int, character: int) -> tuple[float, str]:
        start = time.perf_counter()
        hover = await self.client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=line, character=character),
            )
        )
        elapsed = (time.perf_counter() - start) * 1000
        value = (
            hover.contents.value
            if hover and isinstance(hover.contents, types.MarkupContent)
            else ""
        )
        return elapsed, value

    async def lens_ms(self, uri: str) -> tuple[float, list[str]]:
        start = time.perf_counter()
        lenses = await self.client.text_document_code_lens_async(
            types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
        elapsed = (time.perf_counter() - start) * 1000
        return elapsed, [lens.command.title for lens in lenses or [] if lens.command]

    async def change_ms(self, uri: str, version: int, text: str) -> float:
        start = time.perf_counter()
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )
        while (uri, version) not in self.published:
            await asyncio.sleep(0.0005)
        return (self.published[(uri, version)] - start) * 1000

    def peak_rss_mb(self) -> float:
        assert self.client._server is not None
        status = Path(f"/proc/{self.client._server.pid}/status").read_text()
        line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024


def numpy_import_ms() -> float:
    """What the server pays once for the Flax preview's imports, in a fresh interpreter."""
    code = "import time; t = time.perf_counter(); import numpy, ml_dtypes; print(time.perf_counter() - t)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout) * 1000


async def run(quick: bool) -> None:
    runs = 5 if quick else 20
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        spec = llama_like(layers=80)
        started = time.perf_counter()
        first_index = write_sharded(folder / "a", spec, shards=100)
        second_index = write_sharded(folder / "b", spec, shards=100)
        print(
            f"wrote 2 x 100 shards ({len(spec)} tensors each) in {time.perf_counter() - started:.2f} s"
        )
        text = SOURCE.format(name="a/" + first_index.name)
        document = folder / "train.py"
        document.write_text(text)
        uri = document.as_uri()
        line = text.splitlines().index(f'index = "a/{first_index.name}"')
        call_line = line + 1

        bench = Bench()
        await bench.start(folder)
        bench.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id="python", version=1, text=text
                )
            )
        )
        while (uri, 1) not in bench.published:
            await asyncio.sleep(0.001)
        await bench.hover_ms(uri, call_line, 2)  # warm the hover path itself (imports, parse)

        baseline = statistics.median(
            [(await bench.hover_ms(uri, call_line, 2))[0] for _ in range(runs)]
        )
        first, shown = await bench.hover_ms(uri, line, 12)
        assert "723 tensors -> 723 Flax leaves" in shown, shown[:300]
        cached = statistics.median([(await bench.hover_ms(uri, line, 12))[0] for _ in range(runs)])
        lens, titles = await bench.lens_ms(uri)

        version = 1
        idle = []
        for _ in range(runs):
            version += 1
            idle.append(await bench.change_ms(uri, version, text + f"# {version}\n"))
        # A read of the other index in flight while the document changes.
        busy_text = text.replace(f"a/{first_index.name}", f"b/{second_index.name}")
        version += 1
        await bench.change_ms(uri, version, busy_text)
        hover_task = asyncio.ensure_future(bench.hover_ms(uri, line, 12))
        await asyncio.sleep(0.005)
        version += 1
        during = await bench.change_ms(uri, version, busy_text + "# changed\n")
        second_first, _ = await hover_task

        print(f"hover, call without a checkpoint (baseline): {baseline:7.1f} ms median of {runs}")
        print(
            f"import numpy + ml_dtypes, fresh process:      {numpy_import_ms():7.1f} ms  (paid once,"
            " in a reader thread, when a document naming a checkpoint is opened)"
        )
        print(
            f"hover, 100-shard index, first time:          {first:7.1f} ms  ({first / baseline:.1f}x baseline)"
        )
        print(
            f"hover, 100-shard index, cached:              {cached:7.1f} ms  ({cached / baseline:.1f}x baseline)"
        )
        print(f"code lens request, cached checkpoint:        {lens:7.1f} ms  {titles}")
        print(
            f"diagnostics after a change, idle:            {statistics.median(idle):7.1f} ms median of {runs}"
        )
        print(
            f"diagnostics after a change, during a read:   {during:7.1f} ms  (the read took {second_first:.0f} ms)"
        )
        print(f"server peak RSS:                             {bench.peak_rss_mb():7.1f} MB")
        await bench.client.shutdown_async(None)
        bench.client.exit(None)
        await bench.client.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    asyncio.run(run(parser.parse_args().quick))


if __name__ == "__main__":
    main()
