"""The KeyMapper that ships into users' programs, and its source text for the engine's preamble."""

from __future__ import annotations

from pathlib import Path

from switcheroo_lsp.runtime.keymapper import KeyMapper

__all__ = ["KeyMapper", "keymapper_source"]


def keymapper_source() -> str:
    """Return the text of keymapper.py: the engine inlines it as the preamble of migrated files."""
    return (Path(__file__).parent / "keymapper.py").read_text(encoding="utf-8")
