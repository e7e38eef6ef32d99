"""lsp.preview.CheckpointPreviews reads off the event loop: a slow checkpoint answers "still
reading" after the timeout, the loop keeps running meanwhile, and the read fills the cache."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from checkpoint_files import SMALL_MODEL, write_safetensors
from switcheroo_lsp.checkpoints.flax_preview import Preview
from switcheroo_lsp.lsp.preview import CheckpointPreviews, parse_preview_uri, preview_uri
from switcheroo_lsp.settings import Settings


async def test_a_slow_read_times_out_without_blocking_the_loop_and_fills_the_cache(
    tmp_path: Path,
) -> None:
    path = write_safetensors(tmp_path / "model.safetensors", SMALL_MODEL)
    # get() of an absolute path asks the server only for settings and workspace folders
    server = SimpleNamespace(
        settings=Settings(preview_outside_workspace=True),
        workspace=SimpleNamespace(folders={}, root_path=None),
    )
    previews = CheckpointPreviews(cast(Any, server))
    previews.timeout = 0.3
    gate = threading.Event()
    read = previews.compute

    def slow(where: Path, keys: tuple[str, ...]) -> Preview | str:
        gate.wait(10)
        return read(where, keys)

    previews.compute = slow  # type: ignore[method-assign]
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticker = asyncio.ensure_future(tick())
    try:
        assert await previews.get(path, ()) is None  # timed out: "still reading"
        assert ticks >= 10, "the event loop was held while the checkpoint was read"
        again = asyncio.ensure_future(previews.get(path, ()))  # joins the read in flight
        gate.set()
        result = await again
        assert isinstance(result, Preview) and len(result.leaves) == 9
        assert previews.headers.reads == 1, "the second request waited for the same read"
        assert previews.cached(path, ()) is result
        assert await previews.get(path, ()) is result  # from the cache
    finally:
        ticker.cancel()
        gate.set()
        previews.executor.shutdown(wait=True)


def test_preview_uris_round_trip_paths_and_keys(tmp_path: Path) -> None:
    path = tmp_path / "a b" / "模型.pt"
    uri = preview_uri(path, ("model", "ema"))

    assert uri.startswith("switcheroo-preview:") and " " not in uri
    assert parse_preview_uri(uri) == (path, ("model", "ema"))
    assert parse_preview_uri(preview_uri(path, ())) == (path, ())
    assert parse_preview_uri("file:///x.pt.flax-tree") is None
    assert parse_preview_uri("switcheroo-preview:/x.pt") is None
    assert parse_preview_uri("switcheroo-preview:/x.pt.flax-tree?%5B1%5D") is None
