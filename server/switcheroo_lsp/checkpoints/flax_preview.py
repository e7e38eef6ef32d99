"""The Flax tree a checkpoint becomes, from its header: KeyMapper's own plan, fed stand-in arrays.

Each tensor is replaced by ``numpy.broadcast_to(numpy.zeros((), dtype), shape)``: the right shape
and dtype in a few bytes, so ``KeyMapper.plan`` decides every path, transpose and problem exactly
as ``from_torch`` would, without reading the file's data (one source of truth for the mapping).
Without numpy (a bare server install) the preview is the header's own summary. The texts shown
by hover, code lens and the full-tree document are made here, from one :class:`Preview`.
"""

from __future__ import annotations

import contextlib
import math
import threading
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..runtime.keymapper import KeyMapper
from .headers import CheckpointHeader, Tensor, tensors_of

HOVER_MODULES = 8  # top-level modules listed in a hover
HOVER_PATHS = 5  # first Flax paths listed in a hover
HOVER_PROBLEMS = 5  # ambiguous / dropped / unexpected keys listed in a hover, each
SHORT_DTYPES = {
    "bfloat16": "bf16",
    "float16": "f16",
    "float32": "f32",
    "float64": "f64",
    "float8_e4m3fn": "f8e4m3",
    "float8_e5m2": "f8e5m2",
    "int64": "i64",
    "int32": "i32",
    "int16": "i16",
    "int8": "i8",
    "uint8": "u8",
    "complex64": "c64",
}
NO_NUMPY = (
    "numpy is not installed where the server runs, so the Flax tree is not shown: "
    "`pip install numpy ml_dtypes` in the server's environment, or run `switcheroo inspect {path}`"
)


@dataclass(frozen=True)
class FlaxLeaf:
    """One leaf of the converted tree: its Flax path, shape and dtype, where it comes from."""

    path: str
    shape: tuple[int, ...]
    dtype: str
    key: str
    transform: str


@dataclass(frozen=True)
class Module:
    """A top-level module of the converted tree: parameter count and dtypes."""

    name: str
    parameters: int
    dtypes: tuple[str, ...]


@dataclass(frozen=True)
class Preview:
    """Everything the editor shows about one checkpoint (or one part, ``checkpoint["model"]``)."""

    header: CheckpointHeader
    keys: tuple[str, ...]
    tensors: dict[str, Tensor]
    leaves: tuple[FlaxLeaf, ...] = ()
    layout: str = "linen"
    ambiguous: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    unexpected: tuple[str, ...] = ()
    report: str = ""  # KeyMapper's report when strict=True would raise, else ""
    note: str = ""  # why there is no Flax tree (no numpy, KeyMapper's error), else ""
    ignored: int = 0  # values in the selected part that are not tensors (an epoch, a list)
    modules: tuple[Module, ...] = field(default=())

    @property
    def total_bytes(self) -> int:
        return sum(t.nbytes for t in self.tensors.values())

    @property
    def dtype_bytes(self) -> dict[str, int]:
        """Bytes per dtype, largest first."""
        totals: dict[str, int] = {}
        for tensor in self.tensors.values():
            totals[tensor.dtype] = totals.get(tensor.dtype, 0) + tensor.nbytes
        return dict(sorted(totals.items(), key=lambda item: -item[1]))

    @property
    def has_tree(self) -> bool:
        return not self.note


def preview(header: CheckpointHeader, keys: tuple[str, ...] = ()) -> Preview:
    """The preview of ``header.select(keys)`` (KeyError when that part is absent)."""
    part = header.select(keys)
    tensors = tensors_of(part)
    ignored = _count_other(part)
    base = Preview(header, keys, tensors, ignored=ignored)
    if not tensors:
        return _replace(base, note="no tensors here")
    np = import_numpy()
    if np is None:
        return _replace(base, note=NO_NUMPY.format(path=header.path))
    stand_ins = _stand_ins(part, np)
    if isinstance(stand_ins, str):
        return _replace(base, note=stand_ins)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")  # weight norm of zeros divides by zero: harmless
            plan = KeyMapper.plan(stand_ins)
    except (ValueError, TypeError) as error:
        return _replace(base, note=f"KeyMapper cannot convert it: {error}")
    leaves = tuple(
        FlaxLeaf(
            "/".join(map(str, entry.path)),
            tuple(entry.shape),
            np.dtype(entry.dtype).name,
            entry.key,
            entry.transform,
        )
        for entry in plan.entries
    )
    report = plan.report
    return Preview(
        header,
        keys,
        tensors,
        leaves,
        plan.layout,
        tuple(report.ambiguous),
        tuple(report.dropped),
        tuple(report.unexpected_keys),
        repr(report) if report else "",
        "",
        ignored,
        _modules(leaves),
    )


def _replace(base: Preview, **changes: Any) -> Preview:
    from dataclasses import replace

    return replace(base, **changes)


def _count_other(node: Any) -> int:
    if isinstance(node, Tensor):
        return 0
    if isinstance(node, dict):
        return sum(_count_other(value) for value in node.values())
    return 1


_IMPORTING = threading.Lock()


def import_numpy() -> Any | None:
    """numpy (with ml_dtypes, for bf16 and FP8, when installed), or None when numpy is not.
    One thread at a time: numpy's first import, run in two reader threads at once, sees its C
    extension half initialised and fails for good in that process."""
    with _IMPORTING:
        try:
            import numpy
        except ImportError:
            return None
        with contextlib.suppress(ImportError):
            import ml_dtypes  # noqa: F401
        return numpy


def _stand_ins(node: dict[str, Any], np: Any) -> dict[str, Any] | str:
    """The tree with each tensor as a zero-cost array of its shape and dtype and every other
    value left out; a string saying why when a dtype cannot be stood in for."""
    try:
        import ml_dtypes  # bf16 and FP8 dtypes
    except ImportError:
        ml_dtypes = None  # type: ignore[assignment]
    out: dict[str, Any] = {}
    for key, value in node.items():
        if isinstance(value, dict):
            inner = _stand_ins(value, np)
            if isinstance(inner, str):
                return inner
            if inner:
                out[key] = inner
        elif isinstance(value, Tensor):
            try:
                dtype = np.dtype(getattr(ml_dtypes, value.dtype, None) or value.dtype)
            except TypeError:
                return f"{key!r} is a {value.dtype} tensor, a dtype numpy does not know" + (
                    ": `pip install ml_dtypes` where the server runs" if ml_dtypes is None else ""
                )
            out[key] = np.broadcast_to(np.zeros((), dtype), value.shape)
    return out


def _modules(leaves: Iterable[FlaxLeaf]) -> tuple[Module, ...]:
    """Top-level modules in tree order (linen's collections folded together)."""
    counts: dict[str, int] = {}
    dtypes: dict[str, list[str]] = {}
    for leaf in leaves:
        parts = leaf.path.split("/")
        if parts[0] in ("params", "batch_stats") and len(parts) > 1:
            parts = parts[1:]
        name = parts[0] if len(parts) > 1 else "(top level)"
        counts[name] = counts.get(name, 0) + math.prod(leaf.shape)
        seen = dtypes.setdefault(name, [])
        if leaf.dtype not in seen:
            seen.append(leaf.dtype)
    return tuple(Module(name, counts[name], tuple(dtypes[name])) for name in counts)


# -- texts ---------------------------------------------------------------------------------------


def human_bytes(size: int) -> str:
    """1.3 GB, 512 MB, 12 kB, 812 B (powers of 1000, as file managers show)."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def human_count(count: int) -> str:
    """12, 12.3 k, 16.8 M, 1.2 B."""
    for unit, scale in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return str(count)


def short_dtype(dtype: str) -> str:
    return SHORT_DTYPES.get(dtype, dtype)


def shape_text(shape: tuple[int, ...]) -> str:
    return "×".join(map(str, shape)) if shape else "scalar"


def source_text(p: Preview) -> str:
    """`ckpt/model.pt` ["model"] (torch zip)."""
    where = "".join(f"[{key!r}]" for key in p.keys)
    files = len(p.header.files) - 1 if p.header.kind.startswith("sharded") else 0
    shards = f", {files} shards" if files else ""
    return f"`{p.header.path.name}`{where} ({p.header.kind}{shards})"


def lens_title(p: Preview) -> str:
    """One line above the call: "12 tensors -> 15 Flax leaves · 1.3 GB bf16 · 2 ambiguous"."""
    size = f"{human_bytes(p.total_bytes)} {short_dtype(next(iter(p.dtype_bytes), ''))}".strip()
    if not p.has_tree:
        return f"{len(p.tensors)} tensors · {size} · no Flax preview"
    parts = [f"{len(p.tensors)} tensors -> {len(p.leaves)} Flax leaves", size]
    if p.ambiguous:
        parts.append(f"{len(p.ambiguous)} ambiguous")
    if p.unexpected:
        parts.append(f"{len(p.unexpected)} unexpected")
    if p.dropped:
        parts.append(f"{len(p.dropped)} dropped")
    if p.header.problems:
        parts.append(f"{len(p.header.problems)} file problems")
    return " · ".join(parts)


def _listed(title: str, items: tuple[str, ...]) -> list[str]:
    if not items:
        return []
    shown = [f"- `{item}`" for item in items[:HOVER_PROBLEMS]]
    if len(items) > HOVER_PROBLEMS:
        shown.append(f"- … {len(items) - HOVER_PROBLEMS} more")
    return ["", f"**{title} ({len(items)})**", *shown]


def hover_markdown(p: Preview) -> str:
    """The compact summary a hover shows."""
    dtypes = ", ".join(
        f"{short_dtype(dtype)} {human_bytes(size)}" for dtype, size in p.dtype_bytes.items()
    )
    lines = [f"**Checkpoint** {source_text(p)}", ""]
    if not p.has_tree:
        lines.append(f"{len(p.tensors)} tensors · {human_bytes(p.total_bytes)} · {dtypes}")
        lines += ["", p.note]
    else:
        lines.append(
            f"{len(p.tensors)} tensors -> {len(p.leaves)} Flax leaves ({p.layout})"
            f" · {human_bytes(p.total_bytes)} · {dtypes}"
        )
        lines += ["", "| module | parameters | dtype |", "|---|---:|---|"]
        for module in p.modules[:HOVER_MODULES]:
            kinds = ", ".join(map(short_dtype, module.dtypes))
            lines.append(f"| `{module.name}` | {human_count(module.parameters)} | {kinds} |")
        if len(p.modules) > HOVER_MODULES:
            lines.append(f"| … {len(p.modules) - HOVER_MODULES} more | | |")
        lines += ["", "First paths:"]
        for leaf in p.leaves[:HOVER_PATHS]:
            lines.append(f"- `{leaf.path}` {shape_text(leaf.shape)} {short_dtype(leaf.dtype)}")
        lines += _listed("Ambiguous", p.ambiguous)
        lines += _listed("Unexpected (no Flax place)", p.unexpected)
        lines += _listed("Dropped", p.dropped)
    lines += _listed("File problems", p.header.problems)
    if p.ignored:
        lines += ["", f"{p.ignored} values that are not tensors are left out."]
    return "\n".join(lines)


def tree_text(p: Preview) -> str:
    """The full tree as an indented, read-only document."""
    lines = [
        f"# {p.header.path}{''.join(f'[{key!r}]' for key in p.keys)}",
        f"# {p.header.kind}, {len(p.header.files)} file(s) read: headers only",
        f"# {lens_title(p)}",
        f"# in a terminal: switcheroo inspect {p.header.path}",
        "",
    ]
    if not p.has_tree:
        lines += [p.note, ""]
        for key, tensor in p.tensors.items():
            lines.append(f"{key}  {shape_text(tensor.shape)}  {tensor.dtype}")
    else:
        opened: list[str] = []
        collections: dict[str, int] = {}  # linen's params / batch_stats, each shown once
        for leaf in p.leaves:
            collections.setdefault(leaf.path.split("/")[0], len(collections))
        ordered = sorted(p.leaves, key=lambda leaf: collections[leaf.path.split("/")[0]])
        for leaf in ordered:
            *parents, name = leaf.path.split("/")
            common = 0
            while common < min(len(opened), len(parents)) and opened[common] == parents[common]:
                common += 1
            for depth in range(common, len(parents)):
                lines.append("  " * depth + parents[depth])
            opened = parents
            origin = leaf.key if leaf.transform == "as is" else f"{leaf.key} [{leaf.transform}]"
            lines.append(
                f"{'  ' * len(parents)}{name}  {shape_text(leaf.shape)}  {leaf.dtype}  <- {origin}"
            )
        if p.report:
            lines += ["", "strict=True would raise:", *(f"  {x}" for x in p.report.splitlines())]
        if p.dropped:
            lines += ["", f"dropped ({len(p.dropped)}):", *(f"  {key}" for key in p.dropped)]
    if p.header.problems:
        lines += ["", "file problems:", *(f"  {problem}" for problem in p.header.problems)]
    return "\n".join(lines) + "\n"


def strict_message(p: Preview) -> str | None:
    """What ``from_torch(..., strict=True)`` would say about this checkpoint, or None."""
    if not p.report:
        return None
    first = p.report.splitlines()
    return f"with strict=True KeyMapper.from_torch would raise: {'; '.join(first)}"
