"""Generate realistic PyTorch-style modules of a given size, with or without load_state_dict calls.

The text mixes what the engine meets in the wild: a license header, docstrings, imports, model
classes, training loops, comments and strings, and (optionally) a checkpoint-restoring function
every few hundred lines with model, optimizer, scheduler and scaler calls.
"""

from __future__ import annotations

import random

HEADER = '''# Copyright 2024 The Benchmark Authors.
# Licensed under the Apache License, Version 2.0.
"""A generated training module."""

from __future__ import annotations

import math
import os

import torch
from torch import nn
'''

MODEL_BLOCK = '''

class Block{i}(nn.Module):
    """Residual block number {i}: conv, norm, activation, dropout."""

    def __init__(self, channels: int = {c}, dropout: float = 0.{d}) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.norm = nn.BatchNorm2d(channels)
        self.drop = nn.Dropout(dropout)
        # keep a handle on the config for logging
        self.config = {{"channels": channels, "dropout": dropout, "name": "block{i}"}}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.drop(torch.relu(self.norm(self.conv(x))))
        if self.training and y.abs().max() > 1e4:
            raise RuntimeError(f"activation blew up in block{i}: {{y.abs().max():.3e}}")
        return x + y
'''

LOOP_BLOCK = '''

def train_epoch_{i}(model, loader, optimizer, scaler=None, log_every: int = {c}) -> float:
    """One epoch of training; returns the mean loss."""
    model.train()
    total, count = 0.0, 0
    for step, (images, labels) in enumerate(loader):
        optimizer.zero_grad(set_to_none=True)
        logits = model(images)
        loss = nn.functional.cross_entropy(logits, labels, label_smoothing=0.1)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(labels)
        count += len(labels)
        if step % log_every == 0:
            print(f"step {{step}}: loss {{loss.item():.4f}} lr {{optimizer.param_groups[0]['lr']:.2e}}")
    return total / max(count, 1)
'''

RESTORE_BLOCK = '''

class Resumer{i}:
    """Holds what training needs; restore() resumes from a checkpoint written by save()."""

    def restore(self, path: str) -> int:
        ckpt = torch.load(path, map_location="cpu")
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.scheduler.load_state_dict(ckpt["scheduler"])
        if self.scaler is not None:
            self.scaler.load_state_dict(ckpt["scaler"])
        missing, unexpected = self.model.load_state_dict(ckpt["model"], strict=False)
        return int(ckpt.get("epoch", 0)) + 1
'''


def generate_module(lines: int, *, with_calls: bool = True, seed: int = 0) -> str:
    """A module of about ``lines`` lines; ``with_calls`` adds a restore function every ~400 lines."""
    rng = random.Random(seed)
    parts = [HEADER]
    count = HEADER.count("\n")
    i = 0
    while count < lines:
        i += 1
        if with_calls and i % 12 == 3:
            block = RESTORE_BLOCK
        else:
            block = MODEL_BLOCK if rng.random() < 0.5 else LOOP_BLOCK
        text = block.format(i=i, c=rng.randint(8, 512), d=rng.randint(0, 9))
        parts.append(text)
        count += text.count("\n")
    return "".join(parts)
