"""What a checkpoint file holds, from its headers alone: tensor names, shapes, dtypes, bytes.

safetensors files (and the index.json of a sharded one) are read through KeyMapper's own header
parser, torch zip checkpoints through the restricted unpickler of :mod:`.torch_zip`; no tensor
data is read, nothing is imported from the user's environment, and results are cached by each
file's path, modification time and size.
"""

from __future__ import annotations

import math
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..runtime.keymapper import KeyMapper
from .torch_zip import TensorStub, read_torch_zip

INDEX_SUFFIX = ".index.json"  # model.safetensors.index.json, pytorch_model.bin.index.json
MAX_INDEX_BYTES = 64 * 1024 * 1024
# Bytes per element of the dtypes checkpoints hold (numpy / ml_dtypes names).
ITEMSIZES = {
    "bool": 1,
    "uint8": 1,
    "int8": 1,
    "float8_e4m3fn": 1,
    "float8_e5m2": 1,
    "uint16": 2,
    "int16": 2,
    "float16": 2,
    "bfloat16": 2,
    "uint32": 4,
    "int32": 4,
    "float32": 4,
    "uint64": 8,
    "int64": 8,
    "float64": 8,
    "complex64": 8,
    "complex128": 16,
}


@dataclass(frozen=True)
class Tensor:
    """One tensor's metadata: shape, dtype (numpy's name, or the file's for one numpy lacks)."""

    shape: tuple[int, ...]
    dtype: str
    nbytes: int


@dataclass(frozen=True)
class CheckpointHeader:
    """A checkpoint's metadata. ``tree`` nests as the file does (a torch training checkpoint
    holds ``{"model": {...}, "epoch": 3}``; safetensors is flat), with :class:`Tensor` leaves
    and other values as they were; ``files`` are every file read (the shards of an index)."""

    path: Path
    kind: str  # "safetensors", "sharded safetensors" or "torch zip"
    tree: dict[str, Any]
    files: tuple[Path, ...]
    problems: tuple[str, ...] = ()

    def select(self, keys: tuple[str, ...]) -> dict[str, Any]:
        """The part of the tree ``checkpoint[k1][k2]...`` names; KeyError when it is absent or
        not a mapping."""
        node: Any = self.tree
        for key in keys:
            if not isinstance(node, dict) or key not in node:
                raise KeyError(key)
            node = node[key]
        if not isinstance(node, dict):
            raise KeyError(keys[-1] if keys else "")
        return node


def tensors_of(tree: dict[str, Any], prefix: str = "") -> dict[str, Tensor]:
    """{dotted key: Tensor} of every tensor in a tree, in order."""
    flat: dict[str, Tensor] = {}
    stack: list[tuple[str, Any]] = [(prefix, tree)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, Tensor):
            flat[where] = node
        elif isinstance(node, dict):
            items = [(f"{where}.{k}" if where else str(k), v) for k, v in node.items()]
            stack.extend(reversed(items))
        elif isinstance(node, list):
            stack.extend(reversed([(f"{where}.{i}", v) for i, v in enumerate(node)]))
    return flat


def read_header(path: Path) -> CheckpointHeader:
    """The metadata of a .safetensors, .safetensors.index.json or torch zip file. Raises
    FileNotFoundError, or ValueError saying why the file cannot be read."""
    if not path.exists():
        raise FileNotFoundError(path)
    if not path.is_file():
        raise ValueError(f"{path.name} is not a file")
    name = path.name.lower()
    if name.endswith(INDEX_SUFFIX):
        return _read_index(path)
    if name.endswith(".safetensors"):
        tree = _safetensors_tensors(path)
        return CheckpointHeader(path, "safetensors", dict(tree), (path,))
    tree = _with_tensors(read_torch_zip(path))
    if not isinstance(tree, dict):
        raise ValueError(f"the file holds a {type(tree).__name__}, not a state dict")
    return CheckpointHeader(path, "torch zip", tree, (path,))


def _safetensors_tensors(path: Path) -> dict[str, Tensor]:
    names = KeyMapper._safetensors_dtypes()
    header, _ = KeyMapper._safetensors_header(os.fspath(path))
    tensors = {}
    for key, entry in header.items():
        begin, end = entry["data_offsets"]
        tensors[key] = Tensor(
            tuple(entry["shape"]), names.get(entry["dtype"], entry["dtype"]), end - begin
        )
    return tensors


def _read_index(path: Path) -> CheckpointHeader:
    """A sharded checkpoint: the shards KeyMapper's own index reader names (a missing one is
    its FileNotFoundError), then each shard's header."""
    if path.stat().st_size > MAX_INDEX_BYTES:
        raise ValueError(f"{path.name} is over {MAX_INDEX_BYTES} bytes: not an index")
    problems: list[str] = []
    tree: dict[str, Any] = {}
    files = [path]
    folder = Path(os.path.normpath(path.parent))
    for shard in KeyMapper._indexed_shards(os.fspath(path)):
        shard_path = Path(os.path.normpath(shard.path))
        if shard_path.parent != folder:
            problems.append(f"shard {shard_path} is not beside the index: not read")
            continue
        tensors = _shard_tensors(shard_path)
        files.append(shard_path)
        absent = [key for key in shard.listed if key not in tensors]
        if absent:
            problems.append(
                f"{shard_path.name} lacks {len(absent)} tensors the index puts there: {absent[0]}"
            )
        for key in shard.listed:
            if key in tensors:
                tree[key] = tensors[key]
    kind = (
        "sharded safetensors" if path.name.endswith(".safetensors.index.json") else "sharded torch"
    )
    return CheckpointHeader(path, kind, tree, tuple(files), tuple(problems))


def _shard_tensors(path: Path) -> dict[str, Tensor]:
    """{key: Tensor} of one shard: a safetensors file, or a torch zip holding a flat state dict."""
    if path.name.lower().endswith(".safetensors"):
        return _safetensors_tensors(path)
    tree = _with_tensors(read_torch_zip(path))
    if not isinstance(tree, dict):
        raise ValueError(f"{path.name} holds a {type(tree).__name__}, not a state dict")
    return tensors_of(tree)


def _with_tensors(node: Any) -> Any:
    """The unpickled tree with each TensorStub as a Tensor (its bytes counted)."""
    if isinstance(node, TensorStub):
        return Tensor(node.shape, node.dtype, math.prod(node.shape) * ITEMSIZES.get(node.dtype, 0))
    if isinstance(node, dict):
        return {str(key): _with_tensors(value) for key, value in node.items()}
    if isinstance(node, (list, tuple)):
        return [_with_tensors(value) for value in node]
    return node


def _signature(files: tuple[Path, ...]) -> tuple[tuple[str, int, int], ...] | None:
    """(path, mtime, size) of each file, or None when one is gone."""
    try:
        return tuple((str(f), (s := f.stat()).st_mtime_ns, s.st_size) for f in files)
    except OSError:
        return None


class HeaderCache:
    """Headers by path, valid while every file read keeps its modification time and size.
    Thread-safe: the server reads checkpoints in worker threads."""

    def __init__(self, max_entries: int = 64) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Path, tuple[tuple[tuple[str, int, int], ...], CheckpointHeader]]
        self._entries = OrderedDict()
        self._lock = threading.Lock()
        self.reads = 0  # headers actually read from disk (not from the cache)

    def cached(self, path: Path) -> CheckpointHeader | None:
        """The cached header of ``path`` if its files have not changed since, else None."""
        with self._lock:
            entry = self._entries.get(path)
        if entry is None or _signature(entry[1].files) != entry[0]:
            return None
        return entry[1]

    def get(self, path: Path) -> CheckpointHeader:
        """The header of ``path``, read unless cached and unchanged."""
        found = self.cached(path)
        if found is not None:
            return found
        before = _signature((path,))
        header = read_header(path)
        signature = _signature(header.files)
        self.reads += 1
        if signature is not None and before is not None and signature[0] == before[0]:
            with self._lock:
                self._entries[path] = (signature, header)
                self._entries.move_to_end(path)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
        return header
