"""The lines every command writes to stderr for a person: errors, warnings, counted words."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from switcheroo_lsp.cli.reports import FileReport


def plural(count: int, word: str) -> str:
    """``1 file``, ``2 files``."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def write_errors(reports: Sequence[FileReport], err: TextIO) -> None:
    """``path:line:1: error: ...`` (``path: error: ...`` without a line) per file that failed."""
    for r in reports:
        if r.error is not None:
            line = "" if r.error_line is None else f"{r.error_line + 1}:1:"
            err.write(f"{r.path}:{line} error: {r.error}\n")


def write_warnings(reports: Sequence[FileReport], err: TextIO) -> None:
    """``path:warning`` per warning (notebook cells left out, module-mode notes)."""
    for r in reports:
        err.writelines(f"{r.path}:{warning}\n" for warning in r.warnings)
