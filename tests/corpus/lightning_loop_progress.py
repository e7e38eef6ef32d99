"""A Lightning-style fit loop: progress counters, child loops, callbacks and the module's weights."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn


@dataclass
class _BaseProgress:
    def state_dict(self) -> dict:
        return dict(self.__dict__)

    def load_state_dict(self, state_dict: dict) -> None:
        self.__dict__.update(state_dict)


@dataclass
class _ReadyCompletedTracker(_BaseProgress):
    ready: int = 0
    completed: int = 0


@dataclass
class _Progress(_BaseProgress):
    total: _ReadyCompletedTracker = field(default_factory=_ReadyCompletedTracker)
    current: _ReadyCompletedTracker = field(default_factory=_ReadyCompletedTracker)

    def load_state_dict(self, state_dict: dict) -> None:
        self.total.load_state_dict(state_dict["total"])
        self.current.load_state_dict(state_dict["current"])


class _Loop:
    def __init__(self) -> None:
        self.epoch_progress = _Progress()

    def state_dict(self, prefix: str = "") -> dict:
        return {prefix + k: v.state_dict() for k, v in self.__dict__.items()}

    def load_state_dict(self, state_dict: dict, prefix: str = "") -> None:
        for k, v in self.__dict__.items():
            key = prefix + k
            if key not in state_dict and not isinstance(v, _Loop):
                continue
            if isinstance(v, _BaseProgress):
                v.load_state_dict(state_dict[key])
            elif isinstance(v, _Loop):
                v.load_state_dict(state_dict, prefix + k + ".")


class _FitLoop(_Loop):
    def __init__(self) -> None:
        super().__init__()
        self.epoch_loop = _Loop()


class LitClassifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(32, 64), nn.ReLU())
        self.head = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


class EarlyStopping:
    def __init__(self) -> None:
        self.wait_count = 0

    def state_dict(self) -> dict:
        return {"wait_count": self.wait_count}

    def load_state_dict(self, state_dict: dict) -> None:
        self.wait_count = state_dict["wait_count"]


def restore(path, module, fit_loop, callbacks, optimizer):
    checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    module.load_state_dict(checkpoint["state_dict"])
    fit_loop.load_state_dict(checkpoint["loops"]["fit_loop"])
    for callback in callbacks:
        callback.load_state_dict(checkpoint["callbacks"][type(callback).__qualname__])
    for opt_state in checkpoint["optimizer_states"]:
        optimizer.load_state_dict(opt_state)


if __name__ == "__main__":
    classifier = LitClassifier()
    classifier.load_state_dict(torch.load("lit_classifier.pt", map_location="cpu"))
    sgd = torch.optim.SGD(classifier.parameters(), lr=0.1)
    restore("last.ckpt", classifier, _FitLoop(), [EarlyStopping()], sgd)
