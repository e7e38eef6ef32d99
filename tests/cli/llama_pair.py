"""A small Llama-shaped model in torch and its Flax linen port (GQA attention, SwiGLU MLP,
RMSNorm, untied head), and the checkpoints the convert/inspect tests start from."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import torch
from flax import linen as nn

sys.path.insert(0, str(Path(__file__).parents[1] / "runtime"))
from torch_oracle import randomize  # noqa: E402

VOCAB, DIM, HEADS, KV_HEADS, FF, LAYERS = 64, 32, 4, 2, 48, 2
HEAD_DIM = DIM // HEADS
EPS = 1e-6


class TorchAttention(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.q_proj = torch.nn.Linear(DIM, HEADS * HEAD_DIM, bias=False)
        self.k_proj = torch.nn.Linear(DIM, KV_HEADS * HEAD_DIM, bias=False)
        self.v_proj = torch.nn.Linear(DIM, KV_HEADS * HEAD_DIM, bias=False)
        self.o_proj = torch.nn.Linear(HEADS * HEAD_DIM, DIM, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, HEADS, HEAD_DIM).transpose(1, 2)
        k = self.k_proj(x).view(b, t, KV_HEADS, HEAD_DIM).transpose(1, 2)
        v = self.v_proj(x).view(b, t, KV_HEADS, HEAD_DIM).transpose(1, 2)
        k = k.repeat_interleave(HEADS // KV_HEADS, dim=1)
        v = v.repeat_interleave(HEADS // KV_HEADS, dim=1)
        scores = q @ k.transpose(-1, -2) / math.sqrt(HEAD_DIM)
        causal = torch.ones(t, t, dtype=torch.bool).tril()
        scores = scores.masked_fill(~causal, float("-inf"))
        out = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, DIM)
        return self.o_proj(out)


class TorchMLP(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gate_proj = torch.nn.Linear(DIM, FF, bias=False)
        self.up_proj = torch.nn.Linear(DIM, FF, bias=False)
        self.down_proj = torch.nn.Linear(FF, DIM, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(torch.nn.functional.silu(self.gate_proj(x)) * self.up_proj(x))


class TorchBlock(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.input_layernorm = torch.nn.RMSNorm(DIM, eps=EPS)
        self.self_attn = TorchAttention()
        self.post_attention_layernorm = torch.nn.RMSNorm(DIM, eps=EPS)
        self.mlp = TorchMLP()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.self_attn(self.input_layernorm(x))
        return x + self.mlp(self.post_attention_layernorm(x))


class TorchModel(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed_tokens = torch.nn.Embedding(VOCAB, DIM)
        self.layers = torch.nn.ModuleList([TorchBlock() for _ in range(LAYERS)])
        self.norm = torch.nn.RMSNorm(DIM, eps=EPS)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embed_tokens(ids)
        for layer in self.layers:
            x = layer(x)
        return self.norm(x)


class TorchLlama(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.model = TorchModel()
        self.lm_head = torch.nn.Linear(DIM, VOCAB, bias=False)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.lm_head(self.model(ids))


class LinenAttention(nn.Module):
    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        b, t, _ = x.shape

        def proj(heads: int, name: str) -> jax.Array:
            y = nn.Dense(heads * HEAD_DIM, use_bias=False, name=name)(x)
            return y.reshape(b, t, heads, HEAD_DIM)

        q, k, v = proj(HEADS, "q_proj"), proj(KV_HEADS, "k_proj"), proj(KV_HEADS, "v_proj")
        k = jnp.repeat(k, HEADS // KV_HEADS, axis=2)
        v = jnp.repeat(v, HEADS // KV_HEADS, axis=2)
        scores = jnp.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(HEAD_DIM)
        causal = jnp.tril(jnp.ones((t, t), bool))
        scores = jnp.where(causal, scores, -jnp.inf)
        out = jnp.einsum("bhqk,bkhd->bqhd", jax.nn.softmax(scores, -1), v)
        return nn.Dense(DIM, use_bias=False, name="o_proj")(out.reshape(b, t, DIM))


class LinenBlock(nn.Module):
    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = x + LinenAttention(name="self_attn")(nn.RMSNorm(EPS, name="input_layernorm")(x))
        h = nn.RMSNorm(EPS, name="post_attention_layernorm")(x)
        gate = nn.Dense(FF, use_bias=False, name="gate_proj")
        up = nn.Dense(FF, use_bias=False, name="up_proj")
        down = nn.Dense(DIM, use_bias=False, name="down_proj")
        return x + down(nn.silu(gate(h)) * up(h))


class LinenModel(nn.Module):
    @nn.compact
    def __call__(self, ids: jax.Array) -> jax.Array:
        x = nn.Embed(VOCAB, DIM, name="embed_tokens")(ids)
        for i in range(LAYERS):
            x = LinenBlock(name=f"layers_{i}")(x)
        return nn.RMSNorm(EPS, name="norm")(x)


class LinenLlama(nn.Module):
    @nn.compact
    def __call__(self, ids: jax.Array) -> jax.Array:
        x = LinenModel(name="model")(ids)
        return nn.Dense(VOCAB, use_bias=False, name="lm_head")(x)


IDS = np.array([[1, 5, 9, 2, 33, 60, 7]], np.int32)


def target() -> dict:
    """What --target names: the linen port's shapes and dtypes, nothing allocated."""
    return jax.eval_shape(LinenLlama().init, jax.random.key(0), IDS)


def target_bf16() -> dict:
    """The port with bf16 parameters (a bf16 checkpoint's own dtype)."""
    return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, jnp.bfloat16), target())


def torch_llama(dtype: torch.dtype = torch.float32) -> TorchLlama:
    torch.manual_seed(0)
    return randomize(TorchLlama()).to(dtype)


def save_sharded(state: dict[str, torch.Tensor], folder: Path, shards: int = 3) -> Path:
    """A transformers-style sharded safetensors checkpoint: N files and an index. Keys go
    round-robin, so one layer's tensors sit in different shards."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    names = [f"model-{i + 1:05d}-of-{shards:05d}.safetensors" for i in range(shards)]
    parts: list[dict[str, torch.Tensor]] = [{} for _ in range(shards)]
    weight_map = {}
    for i, (key, tensor) in enumerate(state.items()):
        parts[i % shards][key] = tensor.contiguous()
        weight_map[key] = names[i % shards]
    for name, part in zip(names, parts, strict=True):
        save_file(part, str(folder / name), metadata={"format": "pt"})
    total = sum(t.numel() * t.element_size() for t in state.values())
    index = folder / "model.safetensors.index.json"
    index.write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}))
    return index


def write_target_file(folder: Path, function: str = "target") -> str:
    """A FILE.py:FUNCTION for --target, importing this module."""
    path = folder / "llama_target.py"
    path.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        f"from llama_pair import {function}\n"
    )
    return f"{path}:{function}"
