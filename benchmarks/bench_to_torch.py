"""How fast KeyMapper.to_torch gives a torch state dict back, against the least work giving it.

The random state dicts of bench_convert.py (ResNet-50, GPT-2 medium), converted with from_torch
(no target, and against transformers' Flax model shapes), then back. Measured in one run:

- baseline: for each Flax leaf, the inverse of its plan entry done by hand (reshape, the inverse
  transpose, one contiguous copy that torch may write to: jax's buffers are read-only,
  torch.from_numpy), read from KeyMapper's own plan;
- to_torch(variables, like=state): plans again from the state dict against the variables;
- to_torch(variables, like=plan): the plan kept from the conversion, no planning.

Each checks first that the round trip gives the state dict bit for bit. Wall time is the best of
--repeat interleaved runs; "extra peak" is resident memory beyond the input, the variables and the
output at the high-water mark, against the largest tensor.

    python benchmarks/bench_to_torch.py
    python benchmarks/bench_to_torch.py --sizes resnet50 --repeat 5
"""

from __future__ import annotations

import argparse
import gc
import warnings
from collections.abc import Callable

import jax
import numpy as np
import torch

from bench_convert import MiB, cases, measure, random_state
from switcheroo_lsp.runtime import KeyMapper


def by_hand(plan: KeyMapper.Plan, variables: dict) -> dict[str, torch.Tensor]:
    """The baseline: each planned leaf back to torch's layout, nothing else (no tensor here is
    split in rows or summed, no key kept from the state dict)."""
    out = {}
    for entry in plan.entries:
        leaf = variables
        for name in entry.path:
            leaf = leaf[name]
        back = np.asarray(leaf).reshape(entry.leaf.shape)
        if entry.leaf.perm is not None:
            back = back.transpose(np.argsort(entry.leaf.perm))
        out[entry.key] = torch.from_numpy(np.array(back, order="C"))  # torch's own memory
    return out


def bit_exact(back: dict[str, torch.Tensor], state: dict[str, torch.Tensor]) -> bool:
    return list(back) == list(state) and all(
        back[k].dtype == v.dtype and torch.equal(back[k], v) for k, v in state.items()
    )


def bench(name: str, torch_cls: type, config: object, flax_name: str, args) -> None:
    state = random_state(torch_cls, config)
    params = sum(t.numel() for t in state.values())
    largest = max(t.nbytes for t in state.values())
    print(f"\n{name}: {params / 1e6:.1f}M params, {len(state)} tensors, "
          f"{sum(t.nbytes for t in state.values()) / MiB:.0f} MiB, largest {largest / MiB:.0f} MiB")  # fmt: skip
    import transformers

    flax_model = getattr(transformers, flax_name)(config, _do_init=False)
    methods: dict[str, Callable[[], object]] = {}
    for label, target in (("no target", None), ("target", flax_model.params_shape_tree)):
        plan = KeyMapper.plan(state, target=target)
        variables = plan.execute()
        back = KeyMapper.to_torch(variables, state)
        kept = [k for k in state if k not in {e.key for e in plan.entries}]
        print(f"  {label}: {len(plan.entries)} Flax leaves, {len(kept)} torch keys kept from"
              f" `like`; round trip bit-exact: {bit_exact(back, state)}")  # fmt: skip
        del back
        methods[f"by hand, {label}"] = lambda p=plan, v=variables: by_hand(p, v)
        methods[f"to_torch(like=state), {label}"] = lambda v=variables: KeyMapper.to_torch(v, state)
        methods[f"to_torch(like=plan), {label}"] = lambda p=plan, v=variables: KeyMapper.to_torch(
            v, p
        )
    rows = measure(methods, args.repeat if params < 1e8 else max(2, args.repeat - 2))
    print(f"  {'':40s} {'best':>9s} {'first run':>10s} {'/ by hand':>10s} {'extra peak / largest tensor':>30s}")  # fmt: skip
    for label, (first, best, extra) in rows.items():
        baseline = rows[f"by hand, {label.split(', ')[-1]}"][1]
        print(f"  {label:40s} {best * 1e3:6.1f} ms {first * 1e3:7.1f} ms {best / baseline:9.2f}x"
              f" {extra / MiB:12.0f} MiB = {extra / largest:.2f}x")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="resnet50,gpt2-medium")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # ambiguities without a target are reported, not the point
    print(f"jax {jax.__version__}, torch {torch.__version__}, {jax.devices()[0].platform}")
    for case in cases(args.sizes.split(",")):
        bench(*case, args)
        gc.collect()


if __name__ == "__main__":
    main()
