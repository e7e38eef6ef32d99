"""`--target`: the Flax model the checkpoint is converted for, so that names, shapes, dtypes
and what is an Embedding come from the model, not from guesses. The user names it, and only
then is their code run: `path/to/file.py:function` or `package.module:function`, a callable
taking no arguments that returns `jax.eval_shape(model.init, ...)`, a tree of arrays or
ShapeDtypeStructs, or an NNX model (a name bound to such a value works too)."""

from __future__ import annotations

import importlib
import runpy
import sys
from typing import Any

from switcheroo_lsp.checkpoints.errors import CheckpointError


def load_target(spec: str) -> Any:
    """The target that ``spec`` names; a CheckpointError when it names nothing usable."""
    where, _, name = spec.rpartition(":")
    if not where or not name.isidentifier():
        raise CheckpointError(f"--target {spec!r}: expected FILE.py:FUNCTION or MODULE:FUNCTION")
    try:
        if where.endswith(".py"):
            namespace = runpy.run_path(where)
        else:
            sys.path.insert(0, "")
            try:
                namespace = vars(importlib.import_module(where))
            finally:
                sys.path.remove("")
    except FileNotFoundError:
        raise CheckpointError(f"--target {spec!r}: {where}: no such file") from None
    except ImportError as exc:
        raise CheckpointError(f"--target {spec!r}: cannot import {where} ({exc})") from None
    except Exception as exc:  # the user's code failed: say so, with its own words
        raise CheckpointError(f"--target {spec!r}: {where} raised {exc!r}") from None
    if name not in namespace:
        raise CheckpointError(f"--target {spec!r}: {where} has no {name!r}")
    found = namespace[name]
    if not callable(found) or hasattr(found, "items") or _is_nnx(found):
        return found
    try:
        return found()
    except Exception as exc:
        raise CheckpointError(f"--target {spec!r}: {name}() raised {exc!r}") from None


def _is_nnx(value: Any) -> bool:
    """An NNX model is callable too, but it is the target itself."""
    return any(c.__module__.startswith("flax.nnx") for c in type(value).__mro__)
