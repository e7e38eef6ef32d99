#!/usr/bin/env python
# coding: utf-8
"""Run a classifier over a folder of images and print the top-5 labels."""
import json
import sys
from pathlib import Path

import torch
import torchvision.transforms as T
from PIL import Image

from classifier import EfficientNet

TRANSFORM = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor()])


def load(checkpoint: str) -> torch.nn.Module:
    net = EfficientNet.from_name("efficientnet-b0")
    try:
        net.load_state_dict(torch.load(checkpoint, map_location="cpu"), strict=True)
    except RuntimeError as error:  # a checkpoint from an older head
        print(f"strict load failed ({error}); retrying without the head", file=sys.stderr)
        state = {k: v for k, v in torch.load(checkpoint).items() if not k.startswith("_fc.")}
        net.load_state_dict(state, strict=False)
    return net.eval()


def main(folder: str, checkpoint: str) -> None:
    net = load(checkpoint)
    labels = json.loads(Path("labels.json").read_text())
    with torch.inference_mode():
        for image in sorted(Path(folder).glob("*.jpg")):
            logits = net(TRANSFORM(Image.open(image)).unsqueeze(0))
            top = logits.softmax(-1).topk(5)
            print(image.name, [labels[i] for i in top.indices[0].tolist()])


if __name__ == "__main__":
    main(*sys.argv[1:3])
