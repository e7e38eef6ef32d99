"""The tensors' names, shapes and dtypes of a torch zip checkpoint (.pt/.pth/.bin/.ckpt), without
torch and without running anything the file names.

A torch checkpoint is a zip holding ``data.pkl`` (a pickle of the nested dicts and tensor stubs)
and one member per storage. Unpickling can run arbitrary code, so :class:`HeaderUnpickler`
resolves only the handful of globals torch writes for tensors and dicts, each to a local stand-in
that records metadata; any other global is refused with its name, and no storage is read.
"""

from __future__ import annotations

import pickle
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# torch's storage classes (as torch.save names them in the pickle) -> numpy dtype names.
STORAGE_DTYPES = {
    "BoolStorage": "bool",
    "ByteStorage": "uint8",
    "CharStorage": "int8",
    "ShortStorage": "int16",
    "IntStorage": "int32",
    "LongStorage": "int64",
    "UInt16Storage": "uint16",
    "UInt32Storage": "uint32",
    "UInt64Storage": "uint64",
    "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16",
    "FloatStorage": "float32",
    "DoubleStorage": "float64",
    "ComplexFloatStorage": "complex64",
    "ComplexDoubleStorage": "complex128",
    "Float8_e4m3fnStorage": "float8_e4m3fn",
    "Float8_e5m2Storage": "float8_e5m2",
}
MAX_PICKLE_BYTES = 256 * 1024 * 1024  # data.pkl holds metadata only; more is not a checkpoint


class UnsafeCheckpoint(ValueError):
    """The pickle names something other than tensors and plain containers."""


@dataclass(frozen=True)
class TensorStub:
    """A tensor as the pickle describes it: shape and dtype, its data left in the zip."""

    shape: tuple[int, ...]
    dtype: str


@dataclass(frozen=True)
class _Storage:
    dtype: str


class _StorageType:
    """Stands for ``torch.FloatStorage`` and its kin: only its dtype matters."""

    def __init__(self, name: str) -> None:
        self.dtype = STORAGE_DTYPES[name]


class _StateDict(dict):  # type: ignore[type-arg]
    """Stands for ``collections.OrderedDict``; the ``_metadata`` torch sets on it is ignored."""

    def __setstate__(self, state: object) -> None:
        del state


def _rebuild_tensor(storage: object, offset: object, size: object, *rest: object) -> TensorStub:
    """Stands for ``torch._utils._rebuild_tensor_v2`` (and ``_rebuild_tensor``)."""
    del offset, rest
    if not isinstance(storage, _Storage):
        raise UnsafeCheckpoint("a tensor without a storage")
    if not isinstance(size, tuple) or not all(type(n) is int and n >= 0 for n in size):
        raise UnsafeCheckpoint(f"a tensor with the shape {size!r}")
    return TensorStub(tuple(size), storage.dtype)


def _rebuild_parameter(data: object, *rest: object) -> object:
    """Stands for ``torch._utils._rebuild_parameter`` (an nn.Parameter is its tensor)."""
    del rest
    return data


def _size(*dims: object) -> tuple[object, ...]:
    """Stands for ``torch.Size``."""
    return tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (list, tuple)) else dims


def _device(*args: object) -> str:
    """Stands for ``torch.device``."""
    return ":".join(map(str, args))


def _encode(text: object, encoding: object = "latin1") -> bytes:
    """Stands for ``_codecs.encode``, how protocol-2 pickles spell bytes (latin-1 only)."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise UnsafeCheckpoint("_codecs.encode with arguments other than a latin-1 string")
    return text.encode("latin1")


ALLOWED: dict[tuple[str, str], Callable[..., Any]] = {
    ("collections", "OrderedDict"): _StateDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch", "Size"): _size,
    ("torch", "device"): _device,
    ("_codecs", "encode"): _encode,
}


class HeaderUnpickler(pickle.Unpickler):
    """Unpickles torch's data.pkl into dicts, lists, numbers and :class:`TensorStub`; refuses
    every other global (never imports a module, never calls anything but the stand-ins)."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        stand_in = ALLOWED.get((module, name))
        if stand_in is None:
            raise UnsafeCheckpoint(f"the pickle names {module}.{name}, which is not a tensor")
        return stand_in

    def persistent_load(self, pid: Any) -> _Storage:
        # ('storage', storage type, key, location, numel): the storage's bytes stay in the zip.
        if not isinstance(pid, tuple) or len(pid) < 2 or pid[0] != "storage":
            raise UnsafeCheckpoint(f"an unknown persistent id {pid!r:.80}")
        storage_type = pid[1]
        if not isinstance(storage_type, _StorageType):
            raise UnsafeCheckpoint(f"a storage of type {storage_type!r:.80}")
        return _Storage(storage_type.dtype)


def read_torch_zip(path: Path) -> Any:
    """The checkpoint's object tree with :class:`TensorStub` leaves. Raises ValueError for a
    file that is not a torch zip checkpoint (a legacy one, say) or names other objects."""
    if not zipfile.is_zipfile(path):
        raise ValueError(
            "not a zip checkpoint (torch's legacy format, or not torch's at all): "
            "it cannot be read without unpickling"
        )
    with zipfile.ZipFile(path) as archive:
        pickles = [info for info in archive.infolist() if info.filename.endswith("/data.pkl")]
        pickles.sort(key=lambda info: info.filename.count("/"))
        if not pickles:
            raise ValueError("a zip without data.pkl: not a torch checkpoint")
        if pickles[0].file_size > MAX_PICKLE_BYTES:
            raise ValueError(f"data.pkl is {pickles[0].file_size} bytes: not metadata")
        with archive.open(pickles[0]) as stream:
            try:
                return HeaderUnpickler(stream).load()
            except UnsafeCheckpoint:
                raise
            except (pickle.UnpicklingError, EOFError, TypeError, AttributeError, IndexError) as e:
                raise ValueError(f"data.pkl is not readable ({e})") from None
