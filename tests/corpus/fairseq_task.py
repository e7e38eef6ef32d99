"""A fairseq-style ensemble loader and trainer: the task's state, meters and the models it builds."""

import torch
from fairseq import checkpoint_utils, tasks
from fairseq.logging import meters, metrics
from fairseq.models.transformer_lm import TransformerLanguageModel


def load_ensemble(paths, arg_overrides=None):
    ensemble = []
    task = None
    for filename in paths:
        state = checkpoint_utils.load_checkpoint_to_cpu(filename, arg_overrides)
        cfg = state["cfg"]
        if task is None:
            task = tasks.setup_task(cfg.task)
        if "task_state" in state:
            task.load_state_dict(state["task_state"])
        model = task.build_model(cfg.model)
        model.load_state_dict(state["model"], strict=True)
        ensemble.append(model)
    return ensemble, task


class Trainer:
    def __init__(self, cfg, task, model, criterion):
        self.cfg = cfg
        self.task = task
        self._model = model
        self._criterion = criterion
        self.meters = {"train_loss": meters.AverageMeter(), "wall": meters.StopwatchMeter()}

    def load_checkpoint(self, filename):
        state = checkpoint_utils.load_checkpoint_to_cpu(filename)
        self._model.load_state_dict(state["model"], strict=True)
        self._criterion.load_state_dict(state["criterion"], strict=True)
        extra_state = state["extra_state"]
        if "metrics" in extra_state:
            metrics.load_state_dict(extra_state["metrics"])
        for name, meter in self.meters.items():
            meter.load_state_dict(extra_state["meters"][name])
        self.task.load_state_dict(extra_state["task_state"])
        return extra_state


if __name__ == "__main__":
    models, task = load_ensemble(["checkpoints/checkpoint_best.pt"])
    lm_model = TransformerLanguageModel.build_model(task.cfg.model, task)
    lm_model.load_state_dict(torch.load("lm/checkpoint_last.pt")["model"])
