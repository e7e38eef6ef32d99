"""Every runtime test runs with full fp32 matmuls in JAX and a fixed torch seed."""

from collections.abc import Iterator

import jax
import pytest
import torch


@pytest.fixture(autouse=True)
def _highest_precision() -> Iterator[None]:
    """Full fp32 matmuls in JAX (the default may use bf16 passes) and a fixed torch seed."""
    torch.manual_seed(0)
    with jax.default_matmul_precision("highest"):
        yield
