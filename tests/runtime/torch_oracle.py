"""What the runtime tests compare with: torch runs the original, Flax the converted weights."""

import jax
import numpy as np
import torch
from flax import nnx

ATOL = 1e-5


def channels_last(x: torch.Tensor) -> np.ndarray:
    """NC... (torch) -> N...C (Flax)."""
    return x.permute(0, *range(2, x.ndim), 1).numpy()


def assert_close(flax_out: object, torch_out: torch.Tensor, channels: bool = False) -> None:
    """Flax output equals torch's within 1e-5 (torch output moved to channels-last if asked)."""
    expected = channels_last(torch_out.detach()) if channels else torch_out.detach().numpy()
    got = np.asarray(flax_out)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=ATOL, rtol=ATOL)


def randomize(module: torch.nn.Module) -> torch.nn.Module:
    """Random values in every parameter and float buffer (running stats too), eval mode."""
    with torch.no_grad():
        for name, t in module.state_dict().items():
            if t.is_floating_point():
                t.copy_(torch.rand_like(t) + 0.5 if "running_var" in name else torch.randn_like(t))
    return module.eval()


def load_nnx(model: nnx.Module, pure: dict) -> nnx.Module:
    """Put a converted pure dict into an NNX model the documented way."""
    state = nnx.state(model)
    nnx.replace_by_pure_dict(state, pure)
    nnx.update(model, state)
    return model


def leaves(tree) -> dict:
    """{path: numpy array} of a tree's leaves."""
    return {
        jax.tree_util.keystr(p): np.asarray(v) for p, v in jax.tree_util.tree_leaves_with_path(tree)
    }


def assert_same_tree(a, b) -> None:
    """The same paths, dtypes and values, bit for bit (NaN equal to NaN)."""
    la, lb = leaves(a), leaves(b)
    assert la.keys() == lb.keys()
    for k in la:
        assert la[k].dtype == lb[k].dtype and np.array_equal(la[k], lb[k], equal_nan=True), k
