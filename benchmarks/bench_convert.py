"""How fast KeyMapper.from_torch converts a state dict, against the least work giving the same layout.

Two random state dicts, no downloads: ResNet-50 (transformers' ResNetConfig defaults, ~25M params)
and GPT-2 medium (~355M params). Measured in one run, for each:

- memcpy: a contiguous copy of every tensor (the floor for touching all the bytes once);
- numpy: transpose every tensor that needs it into its Flax layout (np.ascontiguousarray), others
  untouched; xla: the same with jnp.transpose after a zero-copy jax.device_put; and one batched
  jax.device_put of the transposed numpy views (PJRT copies strided views: what KeyMapper does);
- keymapper: KeyMapper.from_torch(state) (no target), and against the Flax model's shape tree;
- hf: transformers' convert_pytorch_state_dict_to_flax(state, flax_model) (4.x, where it applies).

Wall time is the best of --repeat runs; "extra peak" is the resident memory high-water mark during
one run beyond the input and the output tree (VmHWM - VmRSS with the output still alive), compared
with the largest tensor. Goal: keymapper within 1.2x of the cheaper transpose path, extra peak <= 2x
the largest tensor.

    python benchmarks/bench_convert.py                # both sizes, with transformers
    python benchmarks/bench_convert.py --sizes resnet50 --no-hf --repeat 5
"""

from __future__ import annotations

import argparse
import gc
import time
import warnings
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import torch

from switcheroo_lsp.runtime import KeyMapper

MiB = 1 << 20


def _status(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def _block(tree: object) -> None:
    for leaf in jax.tree.leaves(tree):
        if isinstance(leaf, jax.Array):
            leaf.block_until_ready()


def measure(methods: dict[str, Callable[[], object]], repeat: int) -> dict[str, list[float]]:
    """Round-robin runs (load drifts on a shared machine): per method [first, best, extra peak]."""
    rows: dict[str, list[float]] = {}
    for _ in range(repeat):
        for label, fn in methods.items():
            gc.collect()
            with open("/proc/self/clear_refs", "w") as refs:
                refs.write("5")  # reset VmHWM to the current RSS
            start = time.perf_counter()
            out = fn()
            _block(out)
            seconds = time.perf_counter() - start
            extra = _status("VmHWM") - _status("VmRSS")  # the output is still alive here
            del out
            first, best, peak = rows.setdefault(label, [seconds, seconds, extra])
            rows[label] = [first, min(best, seconds), max(peak, extra)]
    return rows


def random_state(torch_model_cls: type, config: object) -> dict[str, torch.Tensor]:
    """The model's state dict shapes with random values, without running its initialisation."""
    with torch.device("meta"):
        shapes = {k: (v.shape, v.dtype) for k, v in torch_model_cls(config).state_dict().items()}
    gen = torch.Generator().manual_seed(0)
    return {
        k: torch.randn(s, generator=gen) if d.is_floating_point else torch.zeros(s, dtype=d)
        for k, (s, d) in shapes.items()
    }


def plan(state: dict[str, torch.Tensor], target: object = None) -> list[tuple[np.ndarray, tuple]]:
    """Every Flax leaf KeyMapper makes for this state (and target): (source array, transpose).
    Read from KeyMapper's own plan, so that the baselines produce exactly the same layout."""
    entries = KeyMapper.plan(state, target=target).entries
    return [(entry.leaf.array, entry.leaf.perm) for entry in entries]


def cases(sizes: list[str]):
    from transformers import GPT2Config, GPT2Model, ResNetConfig, ResNetModel

    if "resnet50" in sizes:
        yield "ResNet-50", ResNetModel, ResNetConfig(), "FlaxResNetModel"
    if "gpt2-medium" in sizes:
        config = GPT2Config(n_embd=1024, n_layer=24, n_head=16)
        yield "GPT-2 medium", GPT2Model, config, "FlaxGPT2Model"


def baselines(
    leaves: list[tuple[np.ndarray, tuple]], suffix: str
) -> dict[str, Callable[[], object]]:
    """The least work giving the layout of `leaves`: transposes by numpy, by XLA, by device_put."""
    return {
        f"numpy transposes{suffix}": lambda: [
            np.ascontiguousarray(a.transpose(p)) if p else a for a, p in leaves
        ],
        f"xla transposes{suffix}": lambda: [
            jnp.transpose(jax.device_put(a), p) if p else jax.device_put(a) for a, p in leaves
        ],
        f"device_put of transposed views{suffix}": lambda: jax.device_put(
            [a.transpose(p) if p else a for a, p in leaves]
        ),
    }


def bench(name: str, torch_cls: type, config: object, flax_name: str, args) -> None:
    """Every method on one random state dict, printed as a table."""
    state = random_state(torch_cls, config)
    params = sum(t.numel() for t in state.values())
    largest = max(t.nbytes for t in state.values())
    arrays = [t.numpy() for t in state.values()]
    leaves = plan(state)
    print(f"\n{name}: {params / 1e6:.1f}M params, {len(state)} tensors, "
          f"{sum(a.nbytes for a in arrays) / MiB:.0f} MiB, largest {largest / MiB:.0f} MiB; "
          f"{sum(1 for _, p in leaves if p)} transposed without a target")  # fmt: skip
    methods: dict[str, Callable[[], object]] = {"memcpy": lambda: [a.copy() for a in arrays]}
    methods |= baselines(leaves, "")
    methods["keymapper"] = lambda: KeyMapper.from_torch(state)
    if not args.no_hf:
        import transformers
        from transformers.modeling_flax_pytorch_utils import convert_pytorch_state_dict_to_flax

        flax_model = getattr(transformers, flax_name)(config, seed=0)
        target = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), flax_model.params)
        target_leaves = plan(state, target)
        ours = KeyMapper.from_torch(state, target=target)
        theirs = convert_pytorch_state_dict_to_flax(dict(state), flax_model)
        ours, theirs = (dict(jax.tree_util.tree_leaves_with_path(t)) for t in (ours, theirs))
        same = ours.keys() == theirs.keys() and all(
            jnp.array_equal(ours[k], theirs[k]) for k in ours
        )
        print(f"  transformers' {flax_name} layout: {sum(1 for _, p in target_leaves if p)} "
              f"transposed; KeyMapper (target=its shapes) equals transformers' result: {same}")  # fmt: skip
        del ours, theirs
        methods |= baselines(target_leaves, ", target layout")
        methods["keymapper, target"] = lambda: KeyMapper.from_torch(state, target=target)
        methods["hf convert_pytorch_state_dict_to_flax"] = lambda: (
            convert_pytorch_state_dict_to_flax(dict(state), flax_model)
        )
    rows = measure(methods, args.repeat if params < 1e8 else max(2, args.repeat - 2))
    print(f"  {'':46s} {'best':>9s} {'first run':>10s} {'/ cheaper of numpy, xla':>24s} {'extra peak / largest tensor':>30s}")  # fmt: skip
    for label, (first, best, extra) in rows.items():
        suffix = ", target layout" if "target" in label or label.startswith("hf") else ""
        cheaper = min(rows[f"numpy transposes{suffix}"][1], rows[f"xla transposes{suffix}"][1])
        print(f"  {label:46s} {best * 1e3:6.1f} ms {first * 1e3:7.1f} ms {best / cheaper:23.2f}x"
              f" {extra / MiB:12.0f} MiB = {extra / largest:.2f}x")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="resnet50,gpt2-medium")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-hf", action="store_true", help="skip transformers' converter")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # unmatched keys (a tied lm_head) are reported, not the point
    print(f"jax {jax.__version__}, torch {torch.__version__}, {jax.devices()[0].platform}")
    for case in cases(args.sizes.split(",")):
        bench(*case, args)
        gc.collect()


if __name__ == "__main__":
    main()
