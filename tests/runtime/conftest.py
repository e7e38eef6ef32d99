"""Shared helpers for the runtime tests: torch is the oracle, Flax runs the converted weights."""

from collections.abc import Iterator

import jax
import numpy as np
import pytest
import torch

ATOL = 1e-5


@pytest.fixture(autouse=True)
def _highest_precision() -> Iterator[None]:
    """Full fp32 matmuls in JAX (the default may use bf16 passes) and a fixed torch seed."""
    torch.manual_seed(0)
    with jax.default_matmul_precision("highest"):
        yield


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
