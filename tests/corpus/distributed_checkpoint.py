"""Sharded checkpoints with torch.distributed.checkpoint (module-level functions, not models)."""
import torch.distributed.checkpoint as dist_cp
from torch.distributed.checkpoint.state_dict import get_model_state_dict, set_model_state_dict

from model import Transformer


def restore(path: str) -> Transformer:
    model = Transformer()
    state = {"model": get_model_state_dict(model)}
    dist_cp.load_state_dict(state, checkpoint_id=path)
    set_model_state_dict(model, state["model"])
    return model


def restore_plain(path: str) -> Transformer:
    model = Transformer()
    model.load_state_dict(dist_cp.load(path))
    return model
