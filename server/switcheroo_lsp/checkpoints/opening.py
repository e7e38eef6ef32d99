"""From the paths on the command line to the KeyMapper's plan (or to what an earlier
`switcheroo convert` recorded), with every failure turned into a CheckpointError."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from switcheroo_lsp.checkpoints.errors import CheckpointError
from switcheroo_lsp.runtime.keymapper import KeyMapper


def source_of(paths: Sequence[Path]) -> str | list[str]:
    """One path as it is, several as the list of shards KeyMapper.plan takes; each must exist."""
    for path in paths:
        if not path.exists():
            raise CheckpointError(f"{path}: no such file or directory")
    names = [os.fspath(p) for p in paths]
    return names[0] if len(names) == 1 else names


def converted_info(paths: Sequence[Path]) -> dict[str, Any] | None:
    """What `switcheroo convert` recorded, when the one path given is its output."""
    if len(paths) != 1:
        return None
    return KeyMapper._converted_info(os.fspath(paths[0]))


def open_plan(paths: Sequence[Path], layout: str, num_heads: int | None, target: Any = None) -> Any:
    """The KeyMapper.Plan of a torch checkpoint, decided from its metadata (and the
    target's shapes, when there is one)."""
    source = source_of(paths)
    shown = ", ".join(map(str, paths))
    try:
        return KeyMapper.plan(source, target=target, layout=layout, num_heads=num_heads)
    except FileNotFoundError as exc:
        if exc.filename is None:  # the KeyMapper's own words: what it looked for
            raise CheckpointError(_checkpoint_message(shown, exc)) from None
        raise CheckpointError(f"{exc.filename}: no such file or directory") from None
    except ImportError as exc:
        raise CheckpointError(
            f"{shown}: reading it needs {exc.name or 'a missing package'} "
            f"(pip install {exc.name or 'torch'})"
        ) from None
    except (ValueError, TypeError, OSError) as exc:
        raise CheckpointError(_checkpoint_message(shown, exc)) from None


def _checkpoint_message(shown: str, exc: Exception) -> str:
    """The KeyMapper's own message, prefixed with the path unless it names it already."""
    text = str(exc)
    return text if text.startswith(shown) else f"{shown}: {text}"
