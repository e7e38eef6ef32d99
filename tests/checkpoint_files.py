"""Checkpoint files the preview tests make for themselves: safetensors (one file or sharded with an
index.json), torch zip (.pt) and hostile pickles.

safetensors files are written here byte by byte from the format's definition (8-byte little-endian
header length, JSON header, data), independently of the reader under test; the data is zeros and,
for large tensors, a sparse hole, so a "1.3 GB" checkpoint costs nothing on disk. Shared by the
unit, LSP and editor suites and by benchmarks/bench_preview.py (tests/conftest.py puts this
directory on sys.path).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

# numpy / ml_dtypes name -> (safetensors dtype, bytes per element)
SAFETENSORS_DTYPES = {
    "bool": ("BOOL", 1),
    "uint8": ("U8", 1),
    "int8": ("I8", 1),
    "int16": ("I16", 2),
    "float16": ("F16", 2),
    "bfloat16": ("BF16", 2),
    "int32": ("I32", 4),
    "float32": ("F32", 4),
    "int64": ("I64", 8),
    "float64": ("F64", 8),
}

Spec = Mapping[str, tuple[tuple[int, ...], str]]  # {torch key: (shape, dtype name)}

# A small model as torch would save it: Linear, BatchNorm1d (with its counter), Embedding,
# MultiheadAttention; bf16 weights, f32 norm.
SMALL_MODEL: dict[str, tuple[tuple[int, ...], str]] = {
    "encoder.0.weight": ((64, 32), "bfloat16"),
    "encoder.0.bias": ((64,), "bfloat16"),
    "encoder.1.weight": ((64,), "float32"),
    "encoder.1.bias": ((64,), "float32"),
    "encoder.1.running_mean": ((64,), "float32"),
    "encoder.1.running_var": ((64,), "float32"),
    "encoder.1.num_batches_tracked": ((), "int64"),
    "embed.weight": ((100, 32), "bfloat16"),
    "head.weight": ((10, 64), "bfloat16"),
    "head.bias": ((10,), "bfloat16"),
}


def write_safetensors(path: Path, tensors: Spec, metadata: Mapping[str, str] | None = None) -> Path:
    """A .safetensors file with these tensors (all zeros)."""
    header: dict[str, object] = {}
    offset = 0
    for key, (shape, dtype) in tensors.items():
        name, size = SAFETENSORS_DTYPES[dtype]
        nbytes = math.prod(shape) * size
        header[key] = {
            "dtype": name,
            "shape": list(shape),
            "data_offsets": [offset, offset + nbytes],
        }
        offset += nbytes
    if metadata:
        header["__metadata__"] = dict(metadata)
    encoded = json.dumps(header).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        file.write(len(encoded).to_bytes(8, "little"))
        file.write(encoded)
        file.truncate(8 + len(encoded) + offset)  # zeros, sparse where the file system can
    return path


def write_sharded(folder: Path, tensors: Spec, shards: int, stem: str = "model") -> Path:
    """model-0000i-of-0000n.safetensors shards and model.safetensors.index.json mapping each key
    to its shard (keys dealt out in order); returns the index's path."""
    keys = list(tensors)
    per_shard = max(1, math.ceil(len(keys) / shards))
    weight_map: dict[str, str] = {}
    for number in range(shards):
        chunk = keys[number * per_shard : (number + 1) * per_shard]
        name = f"{stem}-{number + 1:05d}-of-{shards:05d}.safetensors"
        write_safetensors(folder / name, {key: tensors[key] for key in chunk})
        weight_map.update(dict.fromkeys(chunk, name))
    total = sum(math.prod(s) * SAFETENSORS_DTYPES[d][1] for s, d in tensors.values())
    index = folder / f"{stem}.safetensors.index.json"
    index.write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}))
    return index


def llama_like(
    layers: int, hidden: int = 4096, vocab: int = 32000
) -> dict[str, tuple[tuple[int, ...], str]]:
    """The tensor names and shapes of a Llama-style decoder in bf16 (no data)."""
    spec: dict[str, tuple[tuple[int, ...], str]] = {
        "model.embed_tokens.weight": ((vocab, hidden), "bfloat16")
    }
    mlp = hidden * 11 // 4
    for layer in range(layers):
        at = f"model.layers.{layer}"
        for proj in ("q_proj", "k_proj", "v_proj", "o_proj"):
            spec[f"{at}.self_attn.{proj}.weight"] = ((hidden, hidden), "bfloat16")
        spec[f"{at}.mlp.gate_proj.weight"] = ((mlp, hidden), "bfloat16")
        spec[f"{at}.mlp.up_proj.weight"] = ((mlp, hidden), "bfloat16")
        spec[f"{at}.mlp.down_proj.weight"] = ((hidden, mlp), "bfloat16")
        spec[f"{at}.input_layernorm.weight"] = ((hidden,), "bfloat16")
        spec[f"{at}.post_attention_layernorm.weight"] = ((hidden,), "bfloat16")
    spec["model.norm.weight"] = ((hidden,), "bfloat16")
    spec["lm_head.weight"] = ((vocab, hidden), "bfloat16")
    return spec


def hostile_pickle_zip(path: Path, marker: Path) -> Path:
    """A zip shaped like a torch checkpoint whose data.pkl, if unpickled by pickle.load, would
    run ``os.system`` and create ``marker``."""
    import zipfile

    command = f"touch {marker}"
    payload = (
        b"\x80\x02cos\nsystem\nq\x00X"
        + len(command).to_bytes(4, "little")
        + command.encode()
        + b"q\x01\x85q\x02Rq\x03."
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", payload)
        archive.writestr("archive/version", "3\n")
    return path
