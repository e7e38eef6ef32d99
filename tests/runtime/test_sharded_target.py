"""A target whose leaves carry shardings over 8 devices: each converted tensor goes straight
onto its sharding, every device reading its own slice of the checkpoint. JAX must see 8 CPU
devices from its start, so each case runs in a fresh interpreter."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # 8 simulated devices in a subprocess each

SETUP = '''
import json
import jax
import numpy as np
import torch
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
from safetensors.torch import save_file
from switcheroo_lsp.runtime import KeyMapper

assert len(jax.devices()) == 8, jax.devices()
torch.manual_seed(0)
model = torch.nn.ModuleDict({
    "embed": torch.nn.Embedding(64, 16),
    "q": torch.nn.Linear(16, 16, bias=False),
    "k": torch.nn.Linear(16, 8),
    "norm": torch.nn.LayerNorm(16),
    "up": torch.nn.Linear(16, 32),
    "down": torch.nn.Linear(32, 16),
    "attn": torch.nn.MultiheadAttention(16, 4),
})
with torch.no_grad():
    for t in model.state_dict().values():
        t.copy_(torch.randn_like(t))
state = {k: v.contiguous() for k, v in model.state_dict().items()}
for key in ("q.weight", "up.weight", "up.bias", "embed.weight"):
    state[key] = state[key].to(torch.bfloat16)
# three shards, neighbouring keys apart
weight_map = {}
for i in range(3):
    part = {k: v for j, (k, v) in enumerate(state.items()) if j % 3 == i}
    save_file(part, f"{FOLDER}/s{i}.safetensors")
    weight_map |= dict.fromkeys(part, f"s{i}.safetensors")
with open(f"{FOLDER}/model.safetensors.index.json", "w") as f:
    json.dump({"weight_map": weight_map}, f)

plain = KeyMapper.from_torch(state, num_heads=4)
mesh = Mesh(np.array(jax.devices()).reshape(2, 4), ("data", "tp"))


def spec(path, leaf):
    """Tensor parallel: kernels split on their last axis, biases on theirs, embeddings by row,
    norms replicated."""
    name = str(path[-1].key)
    if name == "kernel":
        return P(*([None] * (leaf.ndim - 1)), "tp")
    if name == "embedding":
        return P("tp", "data")
    if name == "bias" and leaf.shape[-1] % 4 == 0:
        return P(*([None] * (leaf.ndim - 1)), "tp")
    return P()


target = jax.tree_util.tree_map_with_path(
    lambda path, leaf: jax.ShapeDtypeStruct(
        leaf.shape, leaf.dtype, sharding=NamedSharding(mesh, spec(path, leaf))
    ),
    plain,
)
'''


def run(tmp_path: Path, body: str) -> str:
    code = f"FOLDER = {str(tmp_path)!r}\n" + SETUP + textwrap.dedent(body)
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=8",
           "JAX_PLATFORMS": "cpu"}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_every_leaf_lands_on_the_sharding_the_target_asks_for_with_equal_values(
    tmp_path: Path,
) -> None:
    out = run(
        tmp_path,
        """
        pieces = []  # (leaf shape, the part one device holds, the part it was given)
        make = jax.make_array_from_callback

        calls = []

        def recording(shape, sharding, callback):
            calls.append(shape)

            def piece(index):
                part = callback(index)
                pieces.append((shape, sharding.shard_shape(shape), part.shape))
                return part
            return make(shape, sharding, piece)

        jax.make_array_from_callback = recording
        tree = KeyMapper.from_torch(
            f"{FOLDER}/model.safetensors.index.json", target=target, strict=True
        )
        got = jax.tree_util.tree_leaves_with_path(tree)
        wanted = dict(jax.tree_util.tree_leaves_with_path(target))
        same = dict(jax.tree_util.tree_leaves_with_path(plain))
        assert len(got) == len(wanted) == 18
        for path, leaf in got:
            assert leaf.sharding == wanted[path].sharding, (path, leaf.sharding)
            assert leaf.dtype == same[path].dtype, path
            assert np.array_equal(np.asarray(leaf), np.asarray(same[path])), path
        assert all(part == own for _, own, part in pieces)  # each device reads its own part
        whole = {shape for shape, own, _ in pieces if own == shape}
        print(len(calls), sorted(whole))
        print(sorted({str(leaf.dtype) for _, leaf in got}))
        """,
    )
    # every leaf went device by device; only the replicated norm (16,) was read whole
    assert out.splitlines() == ["18 [(16,)]", "['bfloat16', 'float32']"]


def test_a_strict_mismatch_on_a_sharded_target_fails_before_reading_tensor_data(
    tmp_path: Path,
) -> None:
    out = run(
        tmp_path,
        """
        def no_reading(self):
            raise AssertionError(f"{self.path} was read")

        KeyMapper._Shard.arrays = no_reading
        target["params"]["up"]["kernel"] = jax.ShapeDtypeStruct(
            (16, 40), np.float32, sharding=NamedSharding(mesh, P(None, "tp"))
        )
        try:
            KeyMapper.from_torch(
                f"{FOLDER}/model.safetensors.index.json", target=target, strict=True
            )
        except ValueError as e:
            print(*str(e).splitlines()[1:], sep=" | ")
        """,
    )
    assert out.strip().split(" | ") == [
        "missing (1): params/up/kernel",
        "shape mismatch (1): up.weight -> up/kernel: (16, 32) vs target (16, 40)",
    ]


def test_a_target_on_one_device_keeps_that_device(tmp_path: Path) -> None:
    out = run(
        tmp_path,
        """
        device = jax.devices()[5]
        one = jax.tree.map(
            lambda leaf: jax.ShapeDtypeStruct(
                leaf.shape, leaf.dtype, sharding=jax.sharding.SingleDeviceSharding(device)
            ),
            plain,
        )
        tree = KeyMapper.from_torch(f"{FOLDER}/model.safetensors.index.json", target=one)
        print({str(d) for leaf in jax.tree.leaves(tree) for d in leaf.devices()})
        """,
    )
    assert out.strip() == "{'TFRT_CPU_5'}"
