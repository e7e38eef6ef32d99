"""Flax-named safetensors, written shard by shard and tensor by tensor: each shard's header
is known from the plan (names, shapes, dtypes) before any tensor is made, so no more than
one tensor is in memory at a time, however large the output."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from switcheroo_lsp.runtime.keymapper import KeyMapper

INDEX_NAME = "model.safetensors.index.json"
HEADER_ALIGNMENT = 8  # safetensors pads its JSON header with spaces to a multiple of 8


@dataclass(frozen=True)
class TensorSpec:
    """One tensor to write: its "/"-joined Flax name, shape and dtype."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype[Any]

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


@dataclass
class Shard:
    file_name: str
    specs: list[TensorSpec] = field(default_factory=list)

    @property
    def nbytes(self) -> int:
        return sum(spec.nbytes for spec in self.specs)


def safetensors_dtype(dtype: np.dtype[Any]) -> str:
    """The safetensors name of a numpy dtype (bf16 and FP8 as ml_dtypes names them)."""
    names = {numpy: code for code, numpy in KeyMapper._safetensors_dtypes().items()}
    code = names.get(dtype.name)
    if code is None:
        raise ValueError(f"safetensors has no dtype for {dtype.name}")
    return code


def split_into_shards(specs: list[TensorSpec], max_shard_bytes: int) -> list[Shard]:
    """Tensors in plan order, a new shard whenever the next would pass the limit (a tensor
    larger than the limit gets a shard of its own). Names follow transformers' pattern."""
    groups: list[list[TensorSpec]] = [[]]
    size = 0
    for spec in specs:
        if groups[-1] and size + spec.nbytes > max_shard_bytes:
            groups.append([])
            size = 0
        groups[-1].append(spec)
        size += spec.nbytes
    count = len(groups)
    return [
        Shard(f"model-{i + 1:05d}-of-{count:05d}.safetensors", group)
        for i, group in enumerate(groups)
    ]


def _header(shard: Shard, metadata: dict[str, str]) -> bytes:
    entries: dict[str, Any] = {"__metadata__": metadata}
    offset = 0
    for spec in shard.specs:
        entries[spec.name] = {
            "dtype": safetensors_dtype(spec.dtype),
            "shape": list(spec.shape),
            "data_offsets": [offset, offset + spec.nbytes],
        }
        offset += spec.nbytes
    text = json.dumps(entries, separators=(",", ":")).encode()
    text += b" " * (-len(text) % HEADER_ALIGNMENT)
    return len(text).to_bytes(8, "little") + text


class SafetensorsWriter:
    """Write the planned tensors, in plan order, into ``folder``: the shards, then the index
    (``model.safetensors.index.json``, transformers' layout) last."""

    def __init__(
        self,
        folder: Path,
        specs: list[TensorSpec],
        max_shard_bytes: int,
        metadata: dict[str, str],
        index_metadata: dict[str, Any],
    ) -> None:
        self.folder = folder
        self.shards = split_into_shards(specs, max_shard_bytes)
        self.metadata = metadata
        self.index_metadata = index_metadata
        self._queue = [(shard, spec) for shard in self.shards for spec in shard.specs]
        self._next = 0
        self._file: IO[bytes] | None = None
        self._shard: Shard | None = None

    def add(self, name: str, array: np.ndarray) -> None:
        """The next tensor of the plan, exactly as planned."""
        shard, spec = self._queue[self._next]
        if (name, tuple(array.shape), array.dtype) != (spec.name, spec.shape, spec.dtype):
            raise AssertionError(
                f"{name} {array.shape} {array.dtype} is not the planned {spec.name}"
                f" {spec.shape} {spec.dtype}"
            )
        if shard is not self._shard:
            self._close_file()
            self._shard = shard
            self._file = open(self.folder / shard.file_name, "xb")  # noqa: SIM115
            shard_metadata = {
                **self.metadata,
                "shard": f"{self.shards.index(shard) + 1}/{len(self.shards)}",
            }
            self._file.write(_header(shard, shard_metadata))
        assert self._file is not None
        data = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
        self._file.write(data.data)
        self._next += 1

    def finish(self) -> None:
        """Close the last shard and write the index, which makes the folder a checkpoint."""
        if self._next != len(self._queue):
            raise AssertionError(f"{len(self._queue) - self._next} planned tensors not written")
        self._close_file()
        index = {
            "metadata": {
                "total_size": sum(s.nbytes for s in self.shards),
                **self.index_metadata,
            },
            "weight_map": {spec.name: s.file_name for s in self.shards for spec in s.specs},
        }
        with open(self.folder / INDEX_NAME, "x") as file:
            json.dump(index, file, indent=2)
            file.write("\n")
            file.flush()
            os.fsync(file.fileno())

    def abandon(self) -> None:
        """Close what is open (the folder is removed by the caller)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def _close_file(self) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None
