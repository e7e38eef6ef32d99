"""Fine-tune a compiled model; the checkpoint was saved from the compiled module.

Keys therefore carry the ``_orig_mod.`` prefix that torch.compile adds.
"""

from __future__ import annotations

import torch
from torch import nn

PRETRAINED = "weights/base.pt"


class Head(nn.Module):
    def __init__(self, dim: int, classes: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.proj = nn.Linear(dim, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.norm(x))


def build(dim: int = 768, classes: int = 10) -> nn.Module:
    backbone = torch.hub.load("facebookresearch/dino:main", "dino_vitb16")
    model = nn.Sequential(backbone, Head(dim, classes))
    compiled = torch.compile(model)
    state = torch.load(PRETRAINED, map_location="cpu", weights_only=True)
    compiled._orig_mod.load_state_dict(state, strict=False)
    return compiled


def train(model: nn.Module, loader, steps: int) -> None:
    optim = torch.optim.AdamW(model.parameters(), lr=3e-5)
    for step, (x, y) in zip(range(steps), loader):
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optim.step()
        optim.zero_grad()
