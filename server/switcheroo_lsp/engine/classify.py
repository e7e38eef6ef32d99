"""What a ``load_state_dict`` receiver holds, judged from names, as a reader of the code would.

Optimizers, schedulers, scalers, data loaders, EMA helpers and trainers have ``load_state_dict``
too but hold no weights. The words of a name decide (``optimizer_g``, ``lr_scheduler``,
``train_loader``, ``model_ema``); in a compound name the last meaningful word is the head noun
(``data_parallel_model`` is a model), except that EMA anywhere wins (``ema_model`` is a helper).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from switcheroo_lsp.engine.model import ReceiverKind

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")

_WORDS: dict[str, ReceiverKind] = {}


def _register(kind: ReceiverKind, words: str) -> None:
    for word in words.split():
        _WORDS[word] = kind


_register(
    ReceiverKind.OPTIMIZER,
    "opt opts optim optims optimizer optimizers optimiser optimisers sgd adam adamw adagrad "
    "adadelta rmsprop lbfgs adamax nadam radam sparseadam lion lamb adafactor asgd rprop "
    "zeroredundancyoptimizer",
)
_register(
    ReceiverKind.SCHEDULER,
    "sched scheds scheduler schedulers schedule schedules lr plateau warmup",
)
_register(ReceiverKind.SCALER, "scaler scalers gradscaler")
_register(
    ReceiverKind.DATA,
    "loader loaders dataloader dataloaders sampler samplers dataset datasets datamodule dl "
    "iterator iterators",
)
_register(
    ReceiverKind.TRAINER,
    "trainer trainers callback callbacks accelerator accelerators loop loops strategy "
    "checkpointer checkpoint logger loggers meter meters metric metrics tracker trackers "
    "evaluator stopper stopping profiler monitor runner fabric progress",
)
_register(
    ReceiverKind.MODEL,
    "model models net nets network networks module modules encoder decoder backbone unet vae "
    "transformer generator discriminator classifier head policy critic actor teacher student "
    "controlnet layer layers block blocks embedder tower adapter lora bert gpt resnet vit "
    "autoencoder detector segmenter",
)

_EMA_WORDS = frozenset({"ema", "emas"})


def words(name: str) -> list[str]:
    """Lower-case words of an identifier: ``optimizerG`` -> optimizer, g; ``EMAModel`` -> ema, model."""
    return [w.lower() for w in _WORD.findall(name)]


def kind_of_words(names: Iterable[str]) -> ReceiverKind | None:
    """The kind that a sequence of names (outermost first) points at, or None if none speaks."""
    found: ReceiverKind | None = None
    for name in names:
        ws = words(name)
        if _EMA_WORDS.intersection(ws) or ("moving" in ws and "average" in ws):
            return ReceiverKind.EMA
        for word in ws:
            kind = _WORDS.get(word)
            if kind is not None:
                found = kind
    return found


# Names bound by `from X import name` that are modules with a load_state_dict function.
MODULE_NAMES = frozenset({"amp", "dist_cp", "dcp", "dist_checkpoint", "checkpoint"})
# Packages whose imported names are modules or functions, never a user's model instance.
LIBRARY_ROOTS = frozenset(
    {"torch", "apex", "deepspeed", "accelerate", "safetensors", "transformers", "diffusers"}
)

# (what it is, why it needs no checkpoint migration), per non-model kind
REASONS: dict[ReceiverKind, tuple[str, str]] = {
    ReceiverKind.OPTIMIZER: ("an optimizer", "its state (moments, step counts) holds no weights"),
    ReceiverKind.SCHEDULER: ("a learning-rate scheduler", "its state holds no weights"),
    ReceiverKind.SCALER: ("a gradient scaler", "its state holds no weights"),
    ReceiverKind.DATA: ("a data loader or sampler", "its state holds no weights"),
    ReceiverKind.EMA: ("an EMA helper", "it keeps its weights in a format of its own"),
    ReceiverKind.TRAINER: ("a trainer, callback or similar helper", "its state holds no weights"),
    ReceiverKind.MODULE_FUNCTION: ("a library function", "not a model's method"),
}
