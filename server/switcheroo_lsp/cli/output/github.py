"""``--output-format github``: GitHub Actions workflow commands (annotations)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from switcheroo_lsp.cli.output.selection import SettingsOf, cell_number, shown_findings
from switcheroo_lsp.cli.reports import FileReport
from switcheroo_lsp.engine.explain import explain


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def github(reports: Sequence[FileReport], settings_of: SettingsOf, out: TextIO) -> None:
    """GitHub Actions workflow commands: an annotation on the pull request per call (error for
    a model call, notice for a hint) and per file that could not be checked."""
    for path, f in shown_findings(reports, settings_of):
        level = "error" if f.kind.is_model else "notice"
        start, end = f.span.start_pos, f.span.end_pos
        cell = cell_number(f)
        where_in = f" (cell {cell})" if cell is not None else ""
        properties = (
            f"file={_escape_property(path)},line={start.line + 1},col={start.column + 1},"
            f"endLine={end.line + 1},endColumn={end.column + 1},"
            f"title={_escape_property(f'switcheroo ({f.code})')}"
        )
        out.write(f"::{level} {properties}::{_escape_data(explain(f) + where_in)}\n")
    for r in reports:
        if r.error is not None:
            line = "" if r.error_line is None else f",line={r.error_line + 1}"
            title = _escape_property("switcheroo (error)")
            out.write(
                f"::error file={_escape_property(r.path)}{line},title={title}::"
                f"{_escape_data(r.error)}\n"
            )
