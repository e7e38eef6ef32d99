"""`switcheroo inspect`: the Flax tree a checkpoint becomes (or a converted one is), from
metadata alone: leaves with their shapes and dtypes, counts and bytes per top-level module,
and what did not map. One JSON-ready document; the text table is a rendering of it."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from switcheroo_lsp.checkpoints.convert import flat_name
from switcheroo_lsp.checkpoints.errors import CheckpointError
from switcheroo_lsp.checkpoints.progress import size_text
from switcheroo_lsp.runtime.keymapper import KeyMapper

SCHEMA_VERSION = 1
COLLECTIONS = ("params", "batch_stats", "cache", "intermediates")


def _leaf(path: Sequence[Any], shape: Sequence[int], dtype: Any, key: str, how: str) -> dict:
    dtype = np.dtype(dtype)
    count = math.prod(shape)
    return {
        "name": flat_name(path),
        "path": list(path),
        "shape": [int(n) for n in shape],
        "dtype": dtype.name,
        "parameters": count,
        "bytes": count * dtype.itemsize,
        "from": key,
        "transform": how,
    }


def _module_of(path: Sequence[Any], layout: str) -> str:
    """The top-level module a leaf belongs to (below linen's collection)."""
    rest = list(path[1:]) if layout == "linen" and path and path[0] in COLLECTIONS else list(path)
    return str(rest[0]) if len(rest) > 1 else "(top level)"


def document(source: str, kind: str, layout: str, leaves: list[dict], problems: dict) -> dict:
    """The inspect document (its schema is in the README's "Inspect" section)."""
    modules: dict[str, dict[str, int]] = {}
    for leaf in leaves:
        module = modules.setdefault(
            _module_of(leaf["path"], layout), {"leaves": 0, "parameters": 0, "bytes": 0}
        )
        module["leaves"] += 1
        module["parameters"] += leaf["parameters"]
        module["bytes"] += leaf["bytes"]
    return {
        "schema": SCHEMA_VERSION,
        "source": source,
        "kind": kind,
        "layout": layout,
        "leaves": leaves,
        "modules": [{"name": name, **counts} for name, counts in modules.items()],
        "total": {
            "leaves": len(leaves),
            "parameters": sum(leaf["parameters"] for leaf in leaves),
            "bytes": sum(leaf["bytes"] for leaf in leaves),
        },
        "problems": problems,
    }


def of_plan(plan: Any, source: str) -> dict:
    """The tree a torch checkpoint becomes, from KeyMapper.plan."""
    leaves = [_leaf(e.path, e.shape, e.dtype, e.key, e.transform) for e in plan.entries]
    report = plan.report
    problems = {
        "missing": list(report.missing_keys),
        "unexpected": list(report.unexpected_keys),
        "mismatched": [
            {"from": k, "name": flat_name(p), "shape": list(s), "target": list(t)}
            for k, p, s, t in report.mismatched
        ],
        "ambiguous": list(report.ambiguous),
        "dropped": list(report.dropped),
        "tied": [{"key": k, "repeats": partner} for k, partner in report.tied],
        "buffers": list(report.buffers),
    }
    return document(source, "torch", plan.layout, leaves, problems)


def of_converted(path: Path, info: dict[str, Any]) -> dict:
    """The tree that `switcheroo convert` wrote, from orbax's metadata or the safetensors
    headers."""
    leaves = []
    if info["format"] == "orbax":
        for parts, shape, dtype in _orbax_leaves(path):
            name = flat_name(parts)
            leaves.append(_leaf(KeyMapper._converted_path(name, info), shape, dtype, "", ""))
    else:
        for file in info["files"]:
            for name, (shape, dtype, _) in KeyMapper._safetensors_entries(file).items():
                parts = KeyMapper._converted_path(name, info)
                leaves.append(_leaf(parts, shape, dtype, os.path.basename(file), ""))
    empty: dict[str, list] = {"missing": [], "unexpected": [], "mismatched": [], "ambiguous": []}
    return document(os.fspath(path), f"converted ({info['format']})", info["layout"], leaves, empty)


def _orbax_leaves(path: Path) -> list[tuple[tuple[str, ...], tuple[int, ...], Any]]:
    """(path, shape, dtype) of every array orbax saved, from its metadata files."""
    try:
        import jax
        import orbax.checkpoint as ocp
    except ImportError:
        raise CheckpointError(
            f"{path}: reading an orbax checkpoint needs orbax-checkpoint"
            " (pip install 'switcheroo-lsp[convert]')"
        ) from None
    with ocp.StandardCheckpointer() as checkpointer:
        item = KeyMapper._orbax_item(os.fspath(path.absolute()))
        tree = checkpointer.metadata(item).item_metadata.tree
    found = jax.tree_util.tree_flatten_with_path(tree)[0]
    return [
        (tuple(str(getattr(k, "key", k)) for k in keys), tuple(m.shape), m.dtype)
        for keys, m in found
    ]


def text(doc: dict) -> str:
    """The document as a table for people."""
    total = doc["total"]
    lines = [
        f"{doc['source']} ({doc['kind']}) -> Flax {doc['layout']}: {_leaves(total['leaves'])},"
        f" {total['parameters']:,} parameters, {size_text(total['bytes'])}",
        "",
    ]
    rows = [
        (
            leaf["name"],
            "x".join(map(str, leaf["shape"])) or "scalar",
            leaf["dtype"],
            f"{leaf['from']} [{leaf['transform']}]" if leaf["transform"] else leaf["from"],
        )
        for leaf in doc["leaves"]
    ]
    lines += _table(("path", "shape", "dtype", "from"), rows)
    lines += ["", "per top-level module:"]
    module_rows = [
        (m["name"], _leaves(m["leaves"]), f"{m['parameters']:,}", size_text(m["bytes"]))
        for m in doc["modules"]
    ]
    module_rows.append(
        (
            "total",
            _leaves(total["leaves"]),
            f"{total['parameters']:,}",
            size_text(total["bytes"]),
        )
    )
    lines += _table(("module", "leaves", "parameters", "bytes"), module_rows, right=(2, 3))
    for title, items in doc["problems"].items():
        if items:
            lines += ["", f"{title} ({len(items)}):"]
            lines += [f"  {_problem_text(item)}" for item in items]
    if not any(
        doc["problems"].get(k) for k in ("missing", "unexpected", "mismatched", "ambiguous")
    ):
        lines += ["", "nothing ambiguous, nothing left over"]
    return "\n".join(lines) + "\n"


def _leaves(count: int) -> str:
    return f"{count} leaf" if count == 1 else f"{count} leaves"


def _problem_text(item: Any) -> str:
    if isinstance(item, dict) and "repeats" in item:
        return f"{item['key']} = {item['repeats']}"
    if isinstance(item, dict):
        return f"{item['from']} -> {item['name']}: {item['shape']} vs target {item['target']}"
    return str(item)


def _table(
    header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()
) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        cells = [
            str(c).rjust(w) if i in right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        return ("  " + "  ".join(cells)).rstrip()

    return [line(header), *map(line, rows)]
