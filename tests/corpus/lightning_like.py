"""A LightningModule-like wrapper whose own load_state_dict delegates to torch."""
import torch
from torch import nn


class LitClassifier(nn.Module):
    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(512, 10)

    def load_state_dict(self, state_dict, strict=True, assign=False):
        state_dict = {k.replace("model.", "", 1): v for k, v in state_dict.items()}
        return super().load_state_dict(state_dict, strict, assign)

    @classmethod
    def from_checkpoint(cls, backbone, path):
        module = cls(backbone)
        module.load_state_dict(torch.load(path)["state_dict"])
        return module
