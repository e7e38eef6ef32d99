"""An orbax checkpoint of the converted tree (orbax-checkpoint, the JAX ecosystem's engine:
it restores sharded across hosts). orbax itself writes into a temporary folder and renames
it when complete; it stores dict keys as strings, so NNX's integer keys are recorded in the
metadata for KeyMapper.load_converted to put back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from switcheroo_lsp.checkpoints.errors import CheckpointError
from switcheroo_lsp.runtime.keymapper import KeyMapper


def write_orbax(folder: Path, tree: dict[str, Any], info: dict[str, Any]) -> None:
    """Save ``tree`` to ``folder`` (which must not exist) with ``info`` as custom metadata."""
    try:
        import orbax.checkpoint as ocp
    except ImportError:
        raise CheckpointError(
            "--format orbax needs orbax-checkpoint (pip install 'switcheroo-lsp[convert]'),"
            " or use --format safetensors"
        ) from None
    with ocp.Checkpointer(ocp.StandardCheckpointHandler()) as checkpointer:
        checkpointer.save(
            folder.absolute(),
            args=ocp.args.StandardSave(tree),
            custom_metadata={KeyMapper._CONVERTED: info},
        )
