"""Which findings an output shows and how a finding is located, for every format.

Lines and columns are 1-based and count code points. A finding in a notebook cell is located in
the cell (its ``cell`` is 1-based) since a cell's lines are not lines of the ``.ipynb`` file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from switcheroo_lsp.cli.reports import FileReport
from switcheroo_lsp.engine.model import Edit, Finding
from switcheroo_lsp.settings import Settings

SourceOf = Callable[[str], "str | None"]  # path -> its text (None: cannot be read)
SettingsOf = Callable[[str], Settings]  # path -> the settings that govern it
FixOf = Callable[[str, Finding], "Sequence[Edit] | None"]  # the quick fix's edits, if any


def shown(finding: Finding, settings: Settings) -> bool:
    """False for a non-model hint when hints are off (--no-hints, hint-non-model = false)."""
    return finding.kind.is_model or settings.hint_non_model


def where(path: str, finding: Finding) -> str:
    """``path:line:col``; ``path:cell N:line:col`` in a notebook (lines counted in the cell)."""
    cell = getattr(finding, "cell", None)
    pos = finding.span.start_pos
    return f"{path}:{'' if cell is None else f'cell {cell + 1}:'}{pos.line + 1}:{pos.column + 1}"


def shown_findings(
    reports: Sequence[FileReport], settings_of: SettingsOf
) -> list[tuple[str, Finding]]:
    """(path, finding) for every finding its file's settings let through, in report order."""
    return [(r.path, f) for r in reports for f in r.findings if shown(f, settings_of(r.path))]


def cell_number(finding: Finding) -> int | None:
    """The 1-based cell of a notebook finding; None in a plain file."""
    cell = getattr(finding, "cell", None)
    return None if cell is None else cell + 1
