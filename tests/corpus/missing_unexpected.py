"""Partial loading with a report of what did not match, as migration scripts often do."""

import logging

import torch

from models import UNet

log = logging.getLogger(__name__)


def load_partial(model: torch.nn.Module, path: str) -> torch.nn.Module:
    state = torch.load(path, map_location="cpu")["state_dict"]
    state = {k.removeprefix("module."): v for k, v in state.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing:
        log.warning("missing keys: %s", missing)
    if unexpected:
        log.warning("unexpected keys: %s", unexpected)
    return model


def load_checked(model, path):
    result = model.load_state_dict(torch.load(path), strict=False)
    assert not result.missing_keys, result.missing_keys
    return model


def load_assign(path):
    with torch.device("meta"):
        model = UNet(in_channels=3, out_channels=1)
    model.load_state_dict(torch.load(path, mmap=True), assign=True)
    return model
