"""A Llama-shaped bf16 safetensors checkpoint of real 7B-class tensor sizes (hidden 4096, MLP
14336, GQA 32/8 heads), sharded with an index, and the linen target it converts to. Sparse (the
data a hole: real headers, no disk, what reading the tensors would cost shows in memory) for
inspect's test; dense (random values) for the benchmarks."""

from __future__ import annotations

import json
import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

HIDDEN, MLP, HEADS, KV_HEADS, VOCAB = 4096, 14336, 32, 8, 32000
HEAD_DIM = HIDDEN // HEADS


def llama_shapes(layers: int) -> dict[str, tuple[int, ...]]:
    """The torch keys and shapes of a Llama-3-style model (GQA, SwiGLU, untied head)."""
    shapes: dict[str, tuple[int, ...]] = {"model.embed_tokens.weight": (VOCAB, HIDDEN)}
    for i in range(layers):
        at = f"model.layers.{i}"
        shapes |= {
            f"{at}.self_attn.q_proj.weight": (HEADS * HEAD_DIM, HIDDEN),
            f"{at}.self_attn.k_proj.weight": (KV_HEADS * HEAD_DIM, HIDDEN),
            f"{at}.self_attn.v_proj.weight": (KV_HEADS * HEAD_DIM, HIDDEN),
            f"{at}.self_attn.o_proj.weight": (HIDDEN, HEADS * HEAD_DIM),
            f"{at}.mlp.gate_proj.weight": (MLP, HIDDEN),
            f"{at}.mlp.up_proj.weight": (MLP, HIDDEN),
            f"{at}.mlp.down_proj.weight": (HIDDEN, MLP),
            f"{at}.input_layernorm.weight": (HIDDEN,),
            f"{at}.post_attention_layernorm.weight": (HIDDEN,),
        }
    shapes |= {"model.norm.weight": (HIDDEN,), "lm_head.weight": (VOCAB, HIDDEN)}
    return shapes


def write_checkpoint(folder: Path, layers: int = 4, shards: int = 4, dense: bool = False) -> Path:
    """bf16 shards (round-robin by key) and a transformers index; returns the index."""
    folder.mkdir(parents=True, exist_ok=True)
    shapes = llama_shapes(layers)
    names = [f"model-{i + 1:05d}-of-{shards:05d}.safetensors" for i in range(shards)]
    groups: list[dict[str, tuple[int, ...]]] = [{} for _ in range(shards)]
    for i, (key, shape) in enumerate(shapes.items()):
        groups[i % shards][key] = shape
    weight_map = {}
    for name, group in zip(names, groups, strict=True):
        header: dict = {"__metadata__": {"format": "pt"}}
        offset = 0
        for key, shape in group.items():
            size = math.prod(shape) * 2
            header[key] = {
                "dtype": "BF16",
                "shape": list(shape),
                "data_offsets": [offset, offset + size],
            }
            offset += size
            weight_map[key] = name
        text = json.dumps(header).encode()
        text += b" " * (-len(text) % 8)
        with open(folder / name, "wb") as file:
            file.write(len(text).to_bytes(8, "little") + text)
            if dense:
                for shape in group.values():
                    file.write(_random_bf16(shape).tobytes())
            file.truncate(8 + len(text) + offset)  # sparse: the data is a hole
    total = sum(math.prod(s) * 2 for s in shapes.values())
    index = folder / "model.safetensors.index.json"
    index.write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}))
    return index


def _random_bf16(shape: tuple[int, ...]) -> np.ndarray:
    values = np.random.default_rng(math.prod(shape)).standard_normal(shape, np.float32)
    return values.astype(jnp.bfloat16)


def llama_target(layers: int = 4) -> dict:
    """The linen tree (ShapeDtypeStructs, bf16) a Llama port keeps these weights in."""
    bf16 = jnp.bfloat16

    def kernel(shape: tuple[int, ...]) -> dict:
        return {"kernel": jax.ShapeDtypeStruct(shape[::-1], bf16)}

    def scale() -> dict:
        return {"scale": jax.ShapeDtypeStruct((HIDDEN,), bf16)}

    shapes = llama_shapes(layers)
    model: dict = {"embed_tokens": {"embedding": jax.ShapeDtypeStruct((VOCAB, HIDDEN), bf16)}}
    for i in range(layers):
        at = f"model.layers.{i}"
        model[f"layers_{i}"] = {
            "self_attn": {
                name: kernel(shapes[f"{at}.self_attn.{name}.weight"])
                for name in ("q_proj", "k_proj", "v_proj", "o_proj")
            },
            "mlp": {
                name: kernel(shapes[f"{at}.mlp.{name}.weight"])
                for name in ("gate_proj", "up_proj", "down_proj")
            },
            "input_layernorm": scale(),
            "post_attention_layernorm": scale(),
        }
    model["norm"] = scale()
    return {"params": {"model": model, "lm_head": kernel(shapes["lm_head.weight"])}}
