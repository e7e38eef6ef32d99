"""KeyMapper.plan: the mapping decided from names, shapes and dtypes, before any array is made,
and from_torch as that plan executed."""

import jax
import numpy as np
import pytest
import torch
from flax import linen as nn
from torch_oracle import randomize

from switcheroo_lsp.runtime import KeyMapper


def _model() -> torch.nn.Module:
    return randomize(
        torch.nn.ModuleDict(
            {
                "conv": torch.nn.Conv2d(3, 8, 3),
                "norm": torch.nn.BatchNorm2d(8),
                "head": torch.nn.Linear(8, 4),
                "attn": torch.nn.MultiheadAttention(8, 2),
                "rnn": torch.nn.LSTM(4, 3),
            }
        )
    )


def _flat(tree: dict) -> dict:
    return {
        "/".join(str(getattr(k, "key", k)) for k in path): leaf
        for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]
    }


def test_the_plan_lists_every_leaf_from_torch_makes_with_its_shape_and_dtype():
    state = _model().state_dict()
    plan = KeyMapper.plan(state, num_heads=2)
    made = _flat(KeyMapper.from_torch(state, num_heads=2))
    planned = {"/".join(map(str, e.path)): (e.shape, np.dtype(e.dtype)) for e in plan.entries}
    assert planned == {path: (tuple(x.shape), np.dtype(x.dtype)) for path, x in made.items()}
    assert _flat(plan.execute()).keys() == made.keys()
    for path, x in _flat(plan.execute()).items():
        np.testing.assert_array_equal(np.asarray(x), np.asarray(made[path]))


def test_a_printed_plan_names_each_torch_key_its_path_and_transform():
    text = repr(KeyMapper.plan(_model().state_dict(), num_heads=2))
    assert "params/head/kernel <- head.weight [transpose(1, 0)] 8x4 float32" in text
    assert "params/conv/kernel <- conv.weight [transpose(2, 3, 1, 0)] 3x3x3x8" in text
    assert "params/attn/key/kernel <- attn.in_proj_weight [rows 8:16, transpose(1, 0)" in text
    assert "batch_stats/norm/mean <- norm.running_mean [as is] 8 float32" in text
    assert "params/rnn/cell/hf/bias <- rnn.bias_ih_l0+rnn.bias_hh_l0 [rows 3:6] 3" in text


class _Head(nn.Module):
    @nn.compact
    def __call__(self, x):
        return nn.Dense(5, name="head")(x)


def test_a_strict_mismatch_is_found_by_the_plan_and_makes_no_array(monkeypatch):
    state = {"head.weight": torch.randn(4, 8), "head.bias": torch.randn(4)}
    target = jax.eval_shape(_Head().init, jax.random.key(0), np.zeros((1, 8), np.float32))
    plan = KeyMapper.plan(state, target=target)
    assert plan.report.mismatched and not plan.entries
    made: list = []
    monkeypatch.setattr(KeyMapper, "_make", staticmethod(lambda entries: made.append(entries)))
    with pytest.raises(ValueError, match="head.weight -> head/kernel: \\(8, 4\\) vs target"):
        KeyMapper.from_torch(state, target=target, strict=True)
    assert made == []
