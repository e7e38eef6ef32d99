"""Base weights, then LoRA weights merged into the same model (strict=False both)."""
import torch

from nets import TextModel

model = TextModel()
model.load_state_dict(torch.load("base.pt", map_location="cpu"), strict=False)
model.load_state_dict(torch.load("lora_adapter.pt", map_location="cpu"), strict=False)
model.eval()
