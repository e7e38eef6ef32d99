# -*- coding: utf-8 -*-
"""A small trainer with an exponential moving average of the weights."""
import copy

import torch
from torch.optim.swa_utils import AveragedModel


class ModelEMA:
    """Keeps a decayed copy of the model's weights."""

    def __init__(self, model, decay=0.9999):
        self.ema = copy.deepcopy(model).eval()
        self.decay = decay

    def state_dict(self):
        return {"ema": self.ema.state_dict(), "decay": self.decay}

    def load_state_dict(self, state):
        self.ema.load_state_dict(state["ema"])
        self.decay = state["decay"]


def restore(model, path):
    ckpt = torch.load(path, map_location="cpu")
    model.load_state_dict(ckpt["model"])
    ema = ModelEMA(model)
    ema.load_state_dict(ckpt["ema"])
    swa = AveragedModel(model)
    swa.load_state_dict(ckpt["swa"])
    return model, ema, swa
