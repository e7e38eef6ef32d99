"""An accelerate-style trainer: the accelerator owns the loop, the model is unwrapped to load."""

from dataclasses import dataclass

import torch
from accelerate import Accelerator


@dataclass
class TrainConfig:
    lr: float = 1e-4
    checkpoint: str | None = None


class Trainer:
    def __init__(self, model, dataloader, config: TrainConfig):
        self.accelerator = Accelerator(mixed_precision="bf16")
        self.model = model
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr)
        self.lr_scheduler = torch.optim.lr_scheduler.LinearLR(self.optimizer)
        self.model, self.optimizer, self.dataloader = self.accelerator.prepare(
            model, self.optimizer, dataloader
        )
        if config.checkpoint:
            self.resume(config.checkpoint)

    def resume(self, path):
        state = torch.load(path, map_location="cpu")
        unwrapped = self.accelerator.unwrap_model(self.model)
        unwrapped.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.lr_scheduler.load_state_dict(state["lr_scheduler"])
        self.dataloader.load_state_dict(state["dataloader"])

    def load_weights_only(self, path):
        self.model.load_state_dict(torch.load(path, weights_only=True), strict=False)
