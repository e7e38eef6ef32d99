"""Random weights at a scale that keeps activations O(1), so that 1e-5 is a meaningful absolute
bound at fp32 through deep or wide models (N(0, 1) kernels grow outputs to 1e2-1e5)."""

import numpy as np
import torch


def randomize_scaled(module: torch.nn.Module, keep: tuple[str, ...] = ()) -> torch.nn.Module:
    """Random values in every parameter and float buffer, eval mode. Like torch_oracle.randomize
    (1-D tensors: norm weights, biases ~ N(0, 1); running variances in [0.5, 1.5)), but every
    tensor of rank >= 2 (matrices, kernels, embeddings) is N(0, 1) / sqrt(fan-in). Keys in `keep`
    (fixed tables the Flax model recomputes, e.g. sinusoidal positions) keep their values."""
    with torch.no_grad():
        for name, t in module.state_dict().items():
            if not t.is_floating_point() or name in keep:
                continue
            if "running_var" in name:
                t.copy_(torch.rand_like(t) + 0.5)
            elif t.ndim >= 2:
                t.copy_(torch.randn_like(t) / float(np.prod(t.shape[1:])) ** 0.5)
            else:
                t.copy_(torch.randn_like(t))
    return module.eval()
