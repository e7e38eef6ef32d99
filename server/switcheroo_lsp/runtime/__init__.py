"""The KeyMapper that ships into users' programs, and its source text for the engine's preamble."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from switcheroo_lsp.runtime.keymapper import KeyMapper

__all__ = ["KeyMapper", "keymapper_source"]


def __getattr__(name: str) -> Any:
    """Import KeyMapper (and with it jax) on first use: the engine only needs keymapper_source()."""
    if name == "KeyMapper":
        from switcheroo_lsp.runtime.keymapper import KeyMapper

        return KeyMapper
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def keymapper_source() -> str:
    """Return the text of keymapper.py: the engine inlines it as the preamble of migrated files."""
    return (Path(__file__).parent / "keymapper.py").read_text(encoding="utf-8")
