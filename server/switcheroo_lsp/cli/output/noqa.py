"""``switcheroo check --add-noqa``: what was added, and the exit code."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from switcheroo_lsp.cli.output.summary import plural, write_errors
from switcheroo_lsp.cli.reports import FileReport


def report_noqa(reports: Sequence[FileReport], err: TextIO) -> int:
    """check --add-noqa: say how many comments were added; 2 when a file could not be done."""
    errors = [r for r in reports if r.error is not None]
    write_errors(errors, err)
    added = sum(r.fixed for r in reports)
    files = sum(1 for r in reports if r.changed)
    summary = f"Added {plural(added, 'noqa comment')} in {plural(files, 'file')}"
    if errors:
        summary += f"; {plural(len(errors), 'file')} could not be processed"
    err.write(summary + ".\n")
    return 2 if errors else 0
