"""KeyMapper.from_torch on a sharded Llama-shaped checkpoint, onto a tensor-parallel target.

A generated checkpoint, no downloads: a 7B-class layer's real tensor sizes (hidden 4096, MLP 11008,
32 query heads and 8 key/value heads of 128), a few layers, an embedding and an lm_head, bf16,
written by safetensors as transformers shards it (an index and 4+ shards, several GB, in /tmp and
deleted after). The target is the `jax.eval_shape` of a Llama-like linen model whose leaves carry
NamedShardings on an 8-device CPU mesh: q/k/v/gate/up and lm_head kernels split by column, o/down
by row, the embedding by feature, norms replicated. Measured in one run, each method in a fresh
process (so that one's freed memory does not hide another's peak):

- keymapper: KeyMapper.from_torch(index, target=sharded target, strict=True);
- load everything, then convert: every shard read into one dict (safetensors' load_file), then
  KeyMapper.from_torch of that dict onto the same target (what the porting guides do);
- transpose floor: the same arrays already in memory, only the transposes and the transfers onto
  the shardings (one jax.device_put of the transposed views): the least work giving the result;
- strict mismatch: from_torch(strict=True) on a target with one wrong shape, page cache dropped
  first where allowed: time, bytes read (/proc/self/io), memory maps opened;
- equal: the sharded result against an unsharded conversion, bit for bit, and each leaf's sharding.

Peak is the resident high-water mark (VmHWM, reset by /proc/self/clear_refs) above the process's
resident memory before the call. Goals (issue 16): keymapper peak <= output + largest shard + 10%;
keymapper time <= 1.2x the transpose floor.

    python benchmarks/bench_scale.py            # 6 layers, vocab 32000: 2.5 GB in 4 shards
    python benchmarks/bench_scale.py --quick    # 1 layer, vocab 4096: 0.4 GB
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

MiB = 1 << 20
HEAD_DIM = 128


# ---------------------------------------------------------------- the checkpoint
def torch_shapes(cfg: dict) -> dict[str, tuple[int, ...]]:
    """transformers' LlamaForCausalLM state dict: key -> shape, in its order."""
    hidden, mlp, kv = cfg["hidden"], cfg["mlp"], cfg["kv_heads"] * HEAD_DIM
    shapes = {"model.embed_tokens.weight": (cfg["vocab"], hidden)}
    for i in range(cfg["layers"]):
        at = f"model.layers.{i}"
        shapes |= {
            f"{at}.self_attn.q_proj.weight": (hidden, hidden),
            f"{at}.self_attn.k_proj.weight": (kv, hidden),
            f"{at}.self_attn.v_proj.weight": (kv, hidden),
            f"{at}.self_attn.o_proj.weight": (hidden, hidden),
            f"{at}.mlp.gate_proj.weight": (mlp, hidden),
            f"{at}.mlp.up_proj.weight": (mlp, hidden),
            f"{at}.mlp.down_proj.weight": (hidden, mlp),
            f"{at}.input_layernorm.weight": (hidden,),
            f"{at}.post_attention_layernorm.weight": (hidden,),
        }
    return shapes | {"model.norm.weight": (hidden,), "lm_head.weight": (cfg["vocab"], hidden)}


def write_checkpoint(folder: str, cfg: dict) -> list[str]:
    """Random bf16 tensors (finite: random mantissas and signs, exponents near 1) in shards filled
    in order up to a quarter of the total, as transformers' save_pretrained fills them."""
    import numpy as np
    import torch
    from safetensors.torch import save_file

    shapes = torch_shapes(cfg)
    limit = sum(math.prod(s) * 2 for s in shapes.values()) / cfg["shards"] + 1
    groups: list[list[str]] = [[]]
    size = 0
    for key, shape in shapes.items():
        if size and size + math.prod(shape) * 2 > limit:
            groups.append([])
            size = 0
        groups[-1].append(key)
        size += math.prod(shape) * 2
    rng = np.random.default_rng(0)
    weight_map, files = {}, []
    for i, keys in enumerate(groups):
        name = f"model-{i + 1:05d}-of-{len(groups):05d}.safetensors"
        tensors = {}
        for key in keys:
            bits = rng.integers(0, 1 << 16, shapes[key], dtype=np.uint16)
            bits = (bits & 0x80FF) | 0x3F00  # sign, 8 mantissa-ish bits, exponent ~ 1
            tensors[key] = torch.from_numpy(bits.view(np.int16)).view(torch.bfloat16)
        save_file(tensors, os.path.join(folder, name))
        del tensors
        weight_map |= dict.fromkeys(keys, name)
        files.append(os.path.join(folder, name))
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as index:
        json.dump({"metadata": {}, "weight_map": weight_map}, index)
    return files


# ---------------------------------------------------------------- the target
def sharded_target(cfg: dict, mismatch: bool = False, sharded: bool = True):
    """jax.eval_shape of a Llama-like linen model, each leaf given its tensor-parallel sharding."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    from flax import linen as nn
    from jax.sharding import Mesh, NamedSharding
    from jax.sharding import PartitionSpec as P

    bf16 = jnp.bfloat16

    def dense(features: int, name: str) -> nn.Dense:
        return nn.Dense(features, use_bias=False, dtype=bf16, param_dtype=bf16, name=name)

    def norm(name: str) -> nn.RMSNorm:
        return nn.RMSNorm(dtype=bf16, param_dtype=bf16, name=name)

    class Attention(nn.Module):
        @nn.compact
        def __call__(self, x):
            kv = cfg["kv_heads"] * HEAD_DIM
            q = dense(cfg["hidden"], "q_proj")(x)
            k, v = dense(kv, "k_proj")(x), dense(kv, "v_proj")(x)
            mixed = q * jnp.repeat(k * v, cfg["hidden"] // kv, axis=-1)  # shapes, not attention
            return dense(cfg["hidden"], "o_proj")(mixed)

    class Mlp(nn.Module):
        @nn.compact
        def __call__(self, x):
            gate = dense(cfg["mlp"], "gate_proj")(x)
            return dense(cfg["hidden"], "down_proj")(
                nn.silu(gate) * dense(cfg["mlp"], "up_proj")(x)
            )

    class Layer(nn.Module):
        @nn.compact
        def __call__(self, x):
            x = x + Attention(name="self_attn")(norm("input_layernorm")(x))
            return x + Mlp(name="mlp")(norm("post_attention_layernorm")(x))

    class Body(nn.Module):
        @nn.compact
        def __call__(self, tokens):
            embed = nn.Embed(cfg["vocab"], cfg["hidden"], param_dtype=bf16, name="embed_tokens")
            x = embed(tokens)
            for i in range(cfg["layers"]):
                x = Layer(name=f"layers_{i}")(x)
            return norm("norm")(x)

    class Llama(nn.Module):
        @nn.compact
        def __call__(self, tokens):
            return dense(cfg["vocab"], "lm_head")(Body(name="model")(tokens))

    shapes = jax.eval_shape(Llama().init, jax.random.key(0), jnp.zeros((1, 4), jnp.int32))
    mesh = Mesh(np.array(jax.devices()), ("tp",))

    def spec(names: list[str]) -> P:
        module, leaf = names[-2], names[-1]
        if leaf == "embedding":
            return P(None, "tp")
        if leaf == "kernel":
            return P("tp", None) if module in ("o_proj", "down_proj") else P(None, "tp")
        return P()  # norms: replicated

    def slot(path, leaf):
        names = [str(getattr(p, "key", p)) for p in path]
        shape = leaf.shape
        if mismatch and names[-2] == "up_proj" and names[-3:-2] == ["mlp"] and "layers_0" in names:
            shape = (shape[0], shape[1] + 8)
        sharding = NamedSharding(mesh, spec(names)) if sharded else None
        return jax.ShapeDtypeStruct(shape, leaf.dtype, sharding=sharding)

    return jax.tree_util.tree_map_with_path(slot, shapes)


# ---------------------------------------------------------------- measured in a worker
def status(field: str) -> int:
    with open("/proc/self/status") as lines:
        for line in lines:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(field)


def io_counts() -> dict[str, int]:
    with open("/proc/self/io") as lines:
        return {k: int(v) for k, v in (line.split(": ") for line in lines)}


def reset_peak() -> int:
    """Start the high-water mark again from the current resident memory; return that."""
    import gc

    gc.collect()
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    return status("VmRSS")


def output_bytes(tree) -> int:
    """Host memory the result holds: every device's part of every leaf (replicas count)."""
    import jax

    return sum(s.data.nbytes for leaf in jax.tree.leaves(tree) for s in leaf.addressable_shards)


def on_target_shardings(tree, target) -> int:
    import jax

    slots = dict(jax.tree_util.tree_leaves_with_path(target))
    return sum(
        leaf.sharding == slots[p].sharding for p, leaf in jax.tree_util.tree_leaves_with_path(tree)
    )


def worker(method: str, folder: str, cfg: dict) -> dict:
    """One measurement in this fresh process."""
    import warnings

    import jax
    import numpy as np

    from switcheroo_lsp.runtime import KeyMapper

    warnings.simplefilter("ignore")
    index = os.path.join(folder, "model.safetensors.index.json")
    shards = [
        os.path.join(folder, n) for n in sorted(os.listdir(folder)) if n.endswith(".safetensors")
    ]
    result: dict = {"devices": len(jax.devices())}
    if method == "keymapper":
        target = sharded_target(cfg)
        start = reset_peak()
        began = time.perf_counter()
        tree = KeyMapper.from_torch(index, target=target, strict=True)
        jax.block_until_ready(tree)
        result |= {"seconds": time.perf_counter() - began, "peak": status("VmHWM") - start}
        result |= {"output": output_bytes(tree), "leaves": len(jax.tree.leaves(tree)),
                   "on_sharding": on_target_shardings(tree, target)}  # fmt: skip
    elif method == "load-all":
        from safetensors.torch import load_file

        target = sharded_target(cfg)
        start = reset_peak()
        began = time.perf_counter()
        state: dict = {}
        for path in shards:
            state |= load_file(path)
        tree = KeyMapper.from_torch(state, target=target, strict=True)
        jax.block_until_ready(tree)
        result |= {"seconds": time.perf_counter() - began, "peak": status("VmHWM") - start}
        result |= {"output": output_bytes(tree)}
    elif method in ("floor", "floor-slices"):
        from safetensors.torch import load_file

        target = sharded_target(cfg)
        state = {}
        for path in shards:
            state |= load_file(path)
        entries = KeyMapper.plan(state, target=target).entries  # the same layout as keymapper's
        views = [entry.leaf.view(entry.shape) for entry in entries]
        shardings = [entry.sharding for entry in entries]
        reset_peak()
        began = time.perf_counter()
        if method == "floor":  # one device_put of every transposed view onto its sharding
            jax.block_until_ready(jax.device_put(views, shardings))
        else:  # each device copies its own slice of the view
            jax.block_until_ready([
                jax.make_array_from_callback(view.shape, sharding, view.__getitem__)
                for view, sharding in zip(views, shardings, strict=True)
            ])  # fmt: skip
        result |= {"seconds": time.perf_counter() - began}
    elif method == "strict":
        target = sharded_target(cfg, mismatch=True)
        opened = []
        arrays = KeyMapper._Shard.arrays
        KeyMapper._Shard.arrays = lambda self: opened.append(self.path) or arrays(self)
        try:
            with open("/proc/sys/vm/drop_caches", "w") as drop:
                drop.write("1")
            result["cold"] = True
        except OSError:
            result["cold"] = False
        start, before = reset_peak(), io_counts()
        began = time.perf_counter()
        try:
            KeyMapper.from_torch(index, target=target, strict=True)
            result["raised"] = ""
        except ValueError as e:
            result["raised"] = [line for line in str(e).splitlines() if "mismatch" in line][0]
        result["seconds"] = time.perf_counter() - began
        after = io_counts()
        result |= {"peak": status("VmHWM") - start, "opened": len(opened),
                   "rchar": after["rchar"] - before["rchar"],
                   "read_bytes": after["read_bytes"] - before["read_bytes"]}  # fmt: skip
    elif method == "equal":
        target = sharded_target(cfg)
        sharded = KeyMapper.from_torch(index, target=target, strict=True)
        plain = KeyMapper.from_torch(index, target=sharded_target(cfg, sharded=False), strict=True)
        flat = dict(jax.tree_util.tree_leaves_with_path(plain))
        equal = 0
        for path, leaf in jax.tree_util.tree_leaves_with_path(sharded):
            a, b = np.asarray(leaf), np.asarray(flat[path])
            equal += a.dtype == b.dtype and np.array_equal(a.view(np.uint16), b.view(np.uint16))
        result |= {"equal": equal, "leaves": len(flat), "on_sharding": on_target_shardings(sharded, target),
                   "plain_devices": len({d for leaf in flat.values() for d in leaf.devices()})}  # fmt: skip
    return result


def run_worker(method: str, folder: str, cfg: dict) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, __file__, "--worker", method, "--folder", folder, "--config", json.dumps(cfg)],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"{method} worker failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- the table
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 layer, vocab 4096")
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--vocab", type=int, default=32000)
    parser.add_argument("--mlp", type=int, default=11008)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.folder, json.loads(args.config))))
        return
    layers, vocab = (1, 4096) if args.quick else (args.layers, args.vocab)
    cfg = {"hidden": 4096, "mlp": args.mlp, "kv_heads": 8, "layers": layers, "vocab": vocab,
           "shards": args.shards}  # fmt: skip
    with tempfile.TemporaryDirectory(dir="/tmp", prefix="bench_scale_") as folder:
        began = time.perf_counter()
        files = write_checkpoint(folder, cfg)
        sizes = [os.path.getsize(f) for f in files]
        print(f"Llama-shaped bf16 checkpoint: {layers} layers, hidden 4096, MLP {args.mlp}, "
              f"32/8 heads of {HEAD_DIM}, vocab {vocab}: {sum(sizes) / MiB:.0f} MiB in {len(files)} "
              f"shards (largest {max(sizes) / MiB:.0f} MiB), written in "
              f"{time.perf_counter() - began:.1f} s")  # fmt: skip
        for path in files:  # every method then reads from the page cache alike
            with open(path, "rb") as f:
                while f.read(64 * MiB):
                    pass
        rows: dict[str, list[dict]] = {}
        for _ in range(args.repeat):  # round-robin: load on the machine falls on all alike
            for method in ("keymapper", "load-all", "floor", "floor-slices"):
                rows.setdefault(method, []).append(run_worker(method, folder, cfg))
        strict = run_worker("strict", folder, cfg)
        equal = run_worker("equal", folder, cfg)
    best = {m: min(r["seconds"] for r in runs) for m, runs in rows.items()}
    floor = min(best["floor"], best["floor-slices"])
    peak = {m: max(r.get("peak", 0) for r in runs) for m, runs in rows.items()}
    km = rows["keymapper"][0]
    output, largest = km["output"], max(sizes)
    bound = (output + largest) * 1.1
    print(f"{km['devices']} devices; output {output / MiB:.0f} MiB on the devices; "
          f"bound output + largest shard + 10% = {bound / MiB:.0f} MiB")  # fmt: skip
    print(f"  {'':44s} {'best':>8s} {'/ floor':>8s} {'peak above start':>17s} {'/ bound':>8s}")
    for label, method in (("keymapper (index, sharded target)", "keymapper"),
                          ("load everything, then convert", "load-all"),
                          ("floor: one device_put of the views", "floor"),
                          ("floor: each device copies its slice", "floor-slices")):  # fmt: skip
        shown_peak = (
            f"{peak[method] / MiB:11.0f} MiB {peak[method] / bound:7.2f}x" if peak[method] else ""
        )
        print(f"  {label:44s} {best[method]:6.2f} s {best[method] / floor:7.2f}x {shown_peak}")
    print(
        f"  keymapper: {km['on_sharding']}/{km['leaves']} leaves on the sharding the target asked for"
    )
    print(f"strict=True, mismatched target ({'page cache dropped' if strict['cold'] else 'warm cache'}): "
          f"{strict['seconds'] * 1e3:.0f} ms, {strict['rchar'] / 1024:.0f} KiB read by read() "
          f"({strict['read_bytes'] / 1024:.0f} KiB from disk), {strict['opened']} memory maps opened, "
          f"peak {strict['peak'] / MiB:.0f} MiB; {strict['raised']!r}")  # fmt: skip
    print(f"equal to an unsharded conversion bit for bit: {equal['equal']}/{equal['leaves']} leaves "
          f"(unsharded on {equal['plain_devices']} device); on the target's shardings: "
          f"{equal['on_sharding']}/{equal['leaves']}")  # fmt: skip


if __name__ == "__main__":
    main()
