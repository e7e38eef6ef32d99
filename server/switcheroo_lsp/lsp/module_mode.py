"""Module mode in the editor: a quick fix (or fix-all, fix on save) in a file whose project
already has switcheroo's KeyMapper module imports it instead of inlining a second copy. The
module is looked for on disk (project.py); the engine stays pure."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from pygls.uris import to_fs_path

from ..project import existing_module_import
from ..settings import PreambleMode, Settings

if TYPE_CHECKING:
    from .server import SwitcherooServer


async def fix_settings(ls: SwitcherooServer, uri: str, text: str) -> Settings:
    """The settings to fix ``uri`` with: module mode with the project's import when its module
    exists, else the configured mode (import mode is left as it is)."""
    settings = ls.settings
    if settings.preamble is PreambleMode.IMPORT or not uri.startswith("file:"):
        return settings
    fs_path = to_fs_path(uri)
    if not fs_path or not fs_path.endswith(".py"):
        return settings  # notebooks keep a self-contained copy
    try:
        found = await ls.run_engine(
            existing_module_import, Path(fs_path), text, settings.keymapper_module
        )
    except (OSError, ValueError):
        return settings
    if found is None:
        return dataclasses.replace(settings, preamble=PreambleMode.INLINE)
    line, first_party = found
    return dataclasses.replace(
        settings, preamble=PreambleMode.MODULE, keymapper_import=line, first_party=first_party
    )
