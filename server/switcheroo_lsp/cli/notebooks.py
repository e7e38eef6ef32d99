"""``switcheroo check|fix`` on ``.ipynb`` files: findings per cell, fixes and noqa comments that
rewrite only the changed cells' sources (ipynb.py reads and writes the file)."""

from __future__ import annotations

import difflib
from pathlib import Path

from switcheroo_lsp.cli.reports import FileReport, Job
from switcheroo_lsp.engine.notebook import NotebookScan, fix_notebook, scan_notebook
from switcheroo_lsp.ipynb import Notebook, NotebookError, parse_notebook, source_lines


def broken_cell_warnings(notebook_scan: NotebookScan) -> list[str]:
    """One ``cell N:line:1: warning: ...`` per left-out cell that mentions load_state_dict."""
    return [
        f"cell {cell.cell + 1}:{cell.line + 1}:1: warning: this cell does not parse "
        f"({cell.message.split(': ', 1)[-1]}); its calls were not checked"
        for cell in notebook_scan.broken
        if cell.mentions_call
    ]


def process_notebook(job: Job, text: str, report: FileReport) -> FileReport:
    """``switcheroo check|fix`` on one ``.ipynb``: findings per cell, cell-only source edits."""
    from switcheroo_lsp.files import write_atomic

    try:
        notebook = parse_notebook(text)
    except NotebookError as exc:
        report.error = str(exc) + ("" if job.mode == "check" else "; left untouched")
        return report
    if not notebook.is_python:
        return report  # an R or Julia notebook: nothing of ours in it
    found = scan_notebook(notebook.cells)
    report.findings = list(found.findings)
    report.warnings = broken_cell_warnings(found)
    if job.mode == "check":
        return report
    if job.mode == "noqa":
        return _add_noqa_to_cells(job, notebook, report)
    result = fix_notebook(notebook.cells, job.settings)
    report.skipped = list(result.skipped)
    if result.error is not None:
        report.error = f"not fixed: {result.error}"
        return report
    if not result.edits:
        return report
    sources = result.apply(notebook.cells)
    try:
        new_text = notebook.with_sources(sources)
    except NotebookError as exc:
        report.error = f"not fixed: {exc}"
        return report
    report.fixed = result.fixed
    report.changed = new_text != text
    if job.mode == "diff":
        report.diff = "".join(
            _cell_diff(job.path, index, notebook.cells[index].text, source)
            for index, source in sorted(sources.items())
        )
    elif report.changed:
        try:
            write_atomic(Path(job.path), new_text, original=text)
        except OSError as exc:
            report.error = f"cannot write ({exc.strerror or exc}); left untouched"
            report.changed = False
            report.fixed = 0
    return report


def _cell_diff(path: str, index: int, old: str, new: str) -> str:
    """A unified diff of one cell's source, labelled ``path:cell N``."""
    old_lines = [line if line.endswith("\n") else line + "\n" for line in source_lines(old)]
    new_lines = [line if line.endswith("\n") else line + "\n" for line in source_lines(new)]
    return "".join(
        difflib.unified_diff(
            old_lines,
            new_lines,
            fromfile=f"a/{path}:cell {index + 1}",
            tofile=f"b/{path}:cell {index + 1}",
        )
    )


def _add_noqa_to_cells(job: Job, notebook: Notebook, report: FileReport) -> FileReport:
    """check --add-noqa on a notebook: the comments go into the cells' sources."""
    from switcheroo_lsp.engine.model import CODE_CHECKPOINT
    from switcheroo_lsp.engine.suppress import add_noqa
    from switcheroo_lsp.files import write_atomic

    wanted: dict[int, dict[int, set[str]]] = {}
    for finding in report.findings:
        if finding.code == CODE_CHECKPOINT or job.settings.hint_non_model:
            cell = getattr(finding, "cell", 0)
            wanted.setdefault(cell, {}).setdefault(finding.line, set()).add(finding.code)
    sources: dict[int, str] = {}
    changed = 0
    for cell, lines in wanted.items():
        new_source, count = add_noqa(notebook.cells[cell].text, dict(lines))
        if count:
            sources[cell] = new_source
            changed += count
    if not changed:
        return report
    try:
        write_atomic(Path(job.path), notebook.with_sources(sources))
    except (NotebookError, OSError) as exc:
        report.error = f"cannot add noqa comments ({exc}); left untouched"
        return report
    report.fixed = changed
    report.changed = True
    return report
