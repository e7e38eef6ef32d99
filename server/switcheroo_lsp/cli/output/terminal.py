"""The formats a person reads: ``concise`` (the default) and ``full`` (with the source)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from switcheroo_lsp.cli.output.selection import (
    SettingsOf,
    SourceOf,
    cell_number,
    shown_findings,
    where,
)
from switcheroo_lsp.cli.reports import FileReport
from switcheroo_lsp.engine.explain import explain
from switcheroo_lsp.engine.model import Finding


def concise(reports: Sequence[FileReport], settings_of: SettingsOf, out: TextIO) -> None:
    """``path:line:col: code message``, one line per call."""
    for path, f in shown_findings(reports, settings_of):
        out.write(f"{where(path, f)}: {f.code} {explain(f)}\n")


def full(
    reports: Sequence[FileReport], settings_of: SettingsOf, out: TextIO, source_of: SourceOf
) -> None:
    """The concise line, then the call's source lines with the call underlined, and whether
    `switcheroo fix` can fix it."""
    for path, f in shown_findings(reports, settings_of):
        out.write(f"{where(path, f)}: {f.code} {explain(f)}\n")
        text = None if cell_number(f) is not None else source_of(path)
        if text is not None:
            out.writelines(_context(text, f))
        if f.kind.is_model:
            help_line = "fixable with `switcheroo fix`" if f.fixable else "no automatic fix"
            out.write(f"  = help: {help_line}\n")
        out.write("\n")


def _context(text: str, finding: Finding) -> list[str]:
    lines = text.splitlines()
    start, end = finding.span.start_pos, finding.span.end_pos
    width = len(str(end.line + 1))
    shown_lines = []
    for number in range(start.line, min(end.line, start.line + 4) + 1):
        if number >= len(lines):
            break
        line = lines[number]
        first = start.column if number == start.line else len(line) - len(line.lstrip())
        last = end.column if number == end.line else len(line)
        shown_lines.append(f"  {number + 1:>{width}} | {line}\n")
        shown_lines.append(f"  {'':>{width}} | {' ' * first}{'^' * max(last - first, 1)}\n")
    return shown_lines
