"""`switcheroo inspect` and `switcheroo convert` on a Llama-shaped bf16 checkpoint of real
7B-class tensor sizes (hidden 4096, MLP 14336, GQA 32/8 heads, vocabulary 32000), a few
layers, 4 safetensors shards and an index, generated here (no downloads).

- inspect: wall time of the command (a fresh process), bytes it read (/proc rchar, Python's own
  imports included) and its peak RSS, on a sparse copy of the checkpoint (real headers, the
  data a hole) of --inspect-layers layers, and on the dense one; the floor is
  `switcheroo --version` (process start and imports).
- convert: to safetensors and to orbax, with the linen target (--target), each in a fresh
  process: wall time, peak RSS, against the copy floor (the shards' bytes copied once) and the
  largest input shard. Then both outputs restored onto an 8-device mesh (tensor-parallel
  kernels, XLA_FLAGS=--xla_force_host_platform_device_count=8): orbax's own restore and
  KeyMapper.from_torch of the safetensors output, every leaf checked on its sharding and bit
  for bit against KeyMapper.from_torch of the torch checkpoint.

    python benchmarks/bench_checkpoints.py                     # 4 layers, about 2.3 GB
    python benchmarks/bench_checkpoints.py --layers 8 --inspect-layers 80
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
sys.path[:0] = [str(ROOT / "tests" / "cli")]

from llama_checkpoint import write_checkpoint  # noqa: E402

MEASURE = """
import json, sys, time
from switcheroo_lsp import cli
start = time.perf_counter()
code = cli.main(sys.argv[1:], open("/dev/null", "w"), open("/dev/null", "w"))
seconds = time.perf_counter() - start
io = dict(line.split(": ") for line in open("/proc/self/io").read().splitlines())
status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines())
peak = int(status["VmHWM"].split()[0]) * 1024  # this process since exec (ru_maxrss is not)
print(json.dumps({"code": code, "seconds": seconds, "read": int(io["rchar"]), "peak": peak}))
"""

RESTORE = """
import json, sys, time
import jax, numpy as np
import orbax.checkpoint.experimental.v1 as ocp
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
sys.path[:0] = [{tests!r}]
from llama_checkpoint import llama_target
from switcheroo_lsp.runtime import KeyMapper

mesh = Mesh(np.array(jax.devices()).reshape(1, 8), ("data", "model"))
def place(x):
    spec = P(None, "model") if x.ndim == 2 and x.shape[1] % 8 == 0 else P()
    return jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=NamedSharding(mesh, spec))
abstract = jax.tree.map(place, llama_target({layers}))
expected = dict(jax.tree_util.tree_leaves_with_path(
    KeyMapper.from_torch({index!r}, target=llama_target({layers}), strict=True)))
wanted = dict(jax.tree_util.tree_leaves_with_path(abstract))
result = {{}}
for name, out in (("orbax", {orbax!r}), ("safetensors", {safetensors!r})):
    start = time.perf_counter()
    if name == "orbax":
        restored = ocp.load(out, abstract)
    else:
        restored = KeyMapper.from_torch(out, target=abstract)
    jax.block_until_ready(restored)
    seconds = time.perf_counter() - start
    leaves = jax.tree_util.tree_leaves_with_path(restored)
    on_sharding = all(leaf.sharding == wanted[path].sharding for path, leaf in leaves)
    equal = all(np.asarray(leaf).tobytes() == np.asarray(expected[path]).tobytes()
                for path, leaf in leaves)
    result[name] = {{"seconds": seconds, "leaves": len(leaves), "on_sharding": on_sharding,
                    "equal": equal}}
    del restored, leaves
print(json.dumps(result))
"""


def _run(argv: list[str], env: dict[str, str] | None = None) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "server"), **(env or {})}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *argv], env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    result = json.loads(done.stdout.splitlines()[-1])
    result["wall"] = wall
    if result["code"] != 0:
        raise SystemExit(f"switcheroo {' '.join(argv)} exited {result['code']}")
    return result


def _gb(n: float) -> str:
    return f"{n / 1e9:.2f} GB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--inspect-layers", type=int, default=32, help="of the sparse copy")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-checkpoints-"))
    try:
        _bench(work, args.layers, args.inspect_layers)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


def _bench(work: Path, layers: int, inspect_layers: int) -> None:
    floor = _run(["--version"])
    print(f"process floor (switcheroo --version, wall): {floor['wall'] * 1000:.0f} ms")
    sparse = write_checkpoint(work / "sparse", layers=inspect_layers, shards=4)
    declared = sum(p.stat().st_size for p in sparse.parent.glob("*.safetensors"))
    started = time.perf_counter()
    dense = write_checkpoint(work / "dense", layers=layers, shards=4, dense=True)
    shards = sorted(dense.parent.glob("*.safetensors"))
    size = sum(p.stat().st_size for p in shards)
    largest = max(p.stat().st_size for p in shards)
    print(f"generated {_gb(size)} in {time.perf_counter() - started:.0f} s ({layers} layers)")
    target = work / "target.py"
    target.write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT / 'tests' / 'cli')!r})\n"
        f"from llama_checkpoint import llama_target\ntarget = lambda: llama_target({layers})\n"
    )
    spec = f"{target}:target"
    for name, index, total in (
        (f"sparse, {inspect_layers} layers", sparse, declared),
        (f"dense, {layers} layers", dense, size),
    ):
        for fmt in ("text", "json"):
            r = _run(["inspect", str(index), "--format", fmt])
            print(
                f"inspect ({name}, {_gb(total)}, --format {fmt}): {r['wall'] * 1000:.0f} ms"
                f" wall ({r['seconds'] * 1000:.0f} ms in the command), read {r['read'] / 1e6:.1f} MB (imports included),"
                f" peak RSS {r['peak'] / 1e6:.0f} MB"
            )
    copy_dir = work / "copy"
    copy_dir.mkdir()
    started = time.perf_counter()
    for shard in shards:
        shutil.copyfile(shard, copy_dir / shard.name)
        os.sync()
    copy_seconds = time.perf_counter() - started
    shutil.rmtree(copy_dir)
    print(f"copy floor (the shards copied once, synced): {copy_seconds:.1f} s")
    outs = {}
    for fmt in ("safetensors", "orbax"):
        outs[fmt] = work / f"out-{fmt}"
        argv = ["convert", str(dense), "--out", str(outs[fmt]), "--target", spec, "--strict"]
        r = _run([*argv, "--format", fmt])
        print(
            f"convert -> {fmt}: {r['seconds']:.1f} s ({r['seconds'] / copy_seconds:.2f}x the copy"
            f" floor), peak RSS {_gb(r['peak'])} (checkpoint {_gb(size)}, largest shard"
            f" {_gb(largest)})"
        )
    script = RESTORE.format(
        tests=str(ROOT / "tests" / "cli"),
        layers=layers,
        index=str(dense),
        orbax=str(outs["orbax"].absolute()),
        safetensors=str(outs["safetensors"].absolute()),
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "server"),
        "XLA_FLAGS": "--xla_force_host_platform_device_count=8",
        "JAX_PLATFORMS": "cpu",
    }
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    for name, r in json.loads(done.stdout.splitlines()[-1]).items():
        print(
            f"restore {name} onto 8 devices (tensor-parallel kernels): {r['seconds']:.1f} s,"
            f" {r['leaves']} leaves, every leaf on its sharding: {r['on_sharding']},"
            f" equal to from_torch bit for bit: {r['equal']}"
        )


if __name__ == "__main__":
    main()
