"""``switcheroo fix`` (and ``fix --diff``): the diffs, the calls left, the summary, the exit code."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from switcheroo_lsp.cli.output.selection import where
from switcheroo_lsp.cli.output.summary import plural, write_errors, write_warnings
from switcheroo_lsp.cli.reports import FileReport
from switcheroo_lsp.engine.model import UNSURE_NOT_FIXED


def report_fix(reports: Sequence[FileReport], mode: str, out: TextIO, err: TextIO) -> int:
    """Print fix results (or diffs); return the exit code."""
    errors = [r for r in reports if r.error is not None]
    for r in reports:
        if mode == "diff" and r.diff:
            out.write(r.diff)
    write_errors(errors, err)
    left = [(r.path, f, why) for r in reports for f, why in r.skipped if f.kind.is_model]
    write_warnings(reports, err)
    for path, f, why in left:
        err.write(f"{where(path, f)}: {f.code} not fixed: {why}\n")
    fixed = sum(r.fixed for r in reports)
    files = sum(1 for r in reports if r.changed)
    if mode == "diff":
        summary = f"Would migrate {plural(fixed, 'call')} in {plural(files, 'file')}"
    else:
        summary = f"Migrated {plural(fixed, 'call')} in {plural(files, 'file')}"
    unsure = sum(why == UNSURE_NOT_FIXED for _, _, why in left)
    if left:
        summary += f"; {plural(len(left), 'call')} left for manual migration"
        if unsure:
            summary += f" ({unsure} whose receiver may not be a model: --unsafe-fixes to apply)"
    if errors:
        summary += f"; {plural(len(errors), 'file')} could not be processed"
    err.write(summary + ".\n")
    if errors:
        return 2
    if mode == "diff":
        return 1 if files or left else 0
    return 1 if left else 0
