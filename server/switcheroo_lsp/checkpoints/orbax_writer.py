"""An orbax checkpoint of the converted tree (orbax-checkpoint, the JAX ecosystem's engine:
it restores sharded across hosts), written in parts with orbax's partial save, so that memory
holds one part of the output at a time, never the whole. orbax stages the parts in a folder of
its own and moves the checkpoint into place at finalize. It stores dict keys as strings, so
NNX's integer keys are recorded in the metadata for KeyMapper.load_converted to put back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from switcheroo_lsp.checkpoints.errors import CheckpointError
from switcheroo_lsp.runtime.keymapper import KeyMapper

PART_BYTES = 10**9  # a part is saved once it holds this much (a larger tensor goes alone)


class OrbaxWriter:
    """``add(tree)`` saves one part (a subtree with leaves no other part has); ``finish()``
    makes ``folder`` the checkpoint."""

    def __init__(self, folder: Path, info: dict[str, Any]) -> None:
        try:
            from orbax.checkpoint.experimental.v1 import partial
        except ImportError:
            raise CheckpointError(
                "--format orbax needs orbax-checkpoint 0.12.4 or later"
                " (pip install 'switcheroo-lsp[convert]'), or use --format safetensors"
            ) from None
        self._partial = partial
        self.path = folder.absolute()
        self.metadata = {KeyMapper._CONVERTED: info}

    def add(self, part: dict[str, Any]) -> None:
        self._partial.save(self.path, part, custom_metadata=self.metadata)

    def finish(self) -> None:
        self._partial.finalize(self.path)
