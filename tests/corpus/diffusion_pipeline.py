"""Stable-diffusion style pipeline: three models, each from its own checkpoint file."""
import torch
from safetensors.torch import load_file

from models import AutoencoderKL, CLIPTextModel, UNet2DConditionModel


class StableDiffusionPipeline:
    def __init__(self, root):
        self.unet = UNet2DConditionModel()
        self.vae = AutoencoderKL()
        self.text_encoder = CLIPTextModel()
        self.unet.load_state_dict(load_file(f"{root}/unet/diffusion_pytorch_model.safetensors"))
        self.vae.load_state_dict(load_file(f"{root}/vae/diffusion_pytorch_model.safetensors"))
        self.text_encoder.load_state_dict(
            torch.load(f"{root}/text_encoder/pytorch_model.bin", map_location="cpu"),
            strict=False,
        )


def controlnet_from_unet(unet, controlnet):
    controlnet.conv_in.load_state_dict(unet.conv_in.state_dict())
    controlnet.time_proj.load_state_dict(unet.time_proj.state_dict())
    controlnet.time_embedding.load_state_dict(unet.time_embedding.state_dict())
    controlnet.down_blocks.load_state_dict(unet.down_blocks.state_dict())
    controlnet.mid_block.load_state_dict(unet.mid_block.state_dict())
