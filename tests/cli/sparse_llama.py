"""A Llama-shaped safetensors checkpoint of real 7B-class tensor sizes whose data is a hole:
the headers are real, the files sparse, so it costs no disk. Reading its tensors would take
gigabytes of memory; reading its headers, nothing."""

from __future__ import annotations

import json
import math
from pathlib import Path

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


def write_sparse_checkpoint(folder: Path, layers: int = 4, shards: int = 4) -> Path:
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
            file.truncate(8 + len(text) + offset)  # the data: a hole
    total = sum(math.prod(s) * 2 for s in shapes.values())
    index = folder / "model.safetensors.index.json"
    index.write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}))
    return index
