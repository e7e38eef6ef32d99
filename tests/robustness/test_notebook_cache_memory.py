"""Editing a big notebook cell keeps memory bounded (issue 15, item 6).

Each keystroke makes a new cell text; the parse cache kept up to 4,096 of them with their trees
(about 6.5 MB per keystroke in a 2,000-line cell, 2 GB after 300 edits). It is now bounded by the
characters of the texts it keeps (engine/cache.py), so memory stops growing once it is full.
"""

from __future__ import annotations

import gc
import re
from pathlib import Path
from typing import Any

import pytest

from switcheroo_lsp.engine import notebook
from switcheroo_lsp.engine.cache import TextCache
from switcheroo_lsp.engine.notebook import NotebookCell, scan_notebook

pytestmark = pytest.mark.slow  # thousands of edits of a 2,000-line cell

LINES = 2_000
EDITS = 40
MIB = 1024 * 1024


def rss() -> int:
    """This process's resident memory, from /proc."""
    status = Path("/proc/self/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    assert match, status
    return int(match.group(1)) * 1024


def big_cell(edit: int) -> str:
    """A 2,000-line code cell with one magic and one call; ``edit`` changes one line."""
    body = [f"value_{i} = compute({i}, scale={i % 7})  # step {i}" for i in range(LINES)]
    body[LINES // 2] = f"value_edit = {edit}"
    return "%matplotlib inline\n" + "\n".join(body) + "\nmodel.load_state_dict(sd)\n"


def test_memory_stops_growing_while_a_2000_line_cell_is_edited(figures: Any) -> None:
    notebook._parse.cache_clear()
    notebook._mask_for_scan.cache_clear()
    notebook._mask_for_fix.cache_clear()
    other = NotebookCell("import torch\n")
    scan_notebook([NotebookCell(big_cell(-1)), other])
    gc.collect()
    start = rss()
    for edit in range(EDITS):
        found = scan_notebook([NotebookCell(big_cell(edit)), other])
        assert len(found.findings) == 1
    gc.collect()
    growth = rss() - start
    assert notebook._parse.cached_chars <= notebook.CACHED_CELL_CHARS
    # The old cache: about 6.5 MB per edit (260 MB here); bounded: the cache's worth, at most.
    assert growth < 100 * MIB, f"{growth / MIB:.0f} MiB after {EDITS} edits"
    figures[f"MiB kept after {EDITS} edits of a {LINES}-line cell"] = round(growth / MIB)


def test_the_text_cache_evicts_the_least_recently_used_by_characters() -> None:
    calls: list[str] = []
    cache = TextCache(lambda text: calls.append(text) or len(text), max_chars=10)
    assert [cache("aaaa"), cache("bbbb"), cache("aaaa")] == [4, 4, 4]
    assert calls == ["aaaa", "bbbb"]  # the second "aaaa" came from the cache
    cache("cccc")  # 12 characters: "bbbb", the least recently used, goes
    assert (len(cache), cache.cached_chars) == (2, 8)
    cache("bbbb")
    assert calls == ["aaaa", "bbbb", "cccc", "bbbb"]
    cache("x" * 11)  # longer than the whole budget: computed, not kept
    assert cache.cached_chars <= 10
