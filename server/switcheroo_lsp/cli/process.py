"""One file's work for ``check``, ``fix``, ``fix --diff`` and ``check --add-noqa``: read it, scan
it, fix it, write it back atomically. Never raises for bad input: problems land in the report."""

from __future__ import annotations

import os
from pathlib import Path

from switcheroo_lsp.cli.output.selection import shown
from switcheroo_lsp.cli.reports import FileReport, Job
from switcheroo_lsp.diff import unified_diff
from switcheroo_lsp.engine import scan
from switcheroo_lsp.engine.scan import NAME
from switcheroo_lsp.engine.suppress import add_noqa
from switcheroo_lsp.files import SourceError, read_source, write_atomic


def process(job: Job) -> FileReport:
    """Check or fix one file. Never raises for bad input: problems land in ``error``."""
    try:
        return _process(job)
    except Exception as exc:  # a bug: report it for this file, keep going with the others
        return FileReport(job.path, error=f"internal error ({exc!r}); please report it")


def _process(job: Job) -> FileReport:
    report = FileReport(job.path)
    path = Path(job.path)
    try:
        if job.max_bytes is not None and path.stat().st_size > job.max_bytes:
            report.error = f"larger than --max-file-size ({job.max_bytes} bytes), skipped"
            return report
        text = read_source(path, job.max_bytes)
    except SourceError as exc:
        report.error = exc.message
        return report
    except OSError as exc:
        report.error = f"cannot read ({exc.strerror or exc})"
        return report
    return process_text(job, text, report)


def process_text(job: Job, text: str, report: FileReport, *, write: bool = True) -> FileReport:
    """Check or fix ``text``, the content of ``job.path``. With ``write`` false (--stdin-filename)
    nothing is written: the fixed text is left in ``report.new_text``."""
    path = Path(job.path)
    if NAME not in text:
        return report
    if path.suffix == ".ipynb":  # cells, magics, JSON: see notebooks.py
        from switcheroo_lsp.cli.notebooks import process_notebook

        return process_notebook(job, text, report)
    result = scan(text)
    if result.syntax_error is not None:
        report.error = f"does not parse ({result.syntax_error})"
        if job.mode != "check":
            report.error += "; left untouched"
        report.error_line = result.syntax_error_line
        return report
    report.findings = list(result.findings)
    if job.mode == "check":
        return report
    if job.mode == "noqa":
        return _add_noqa(job, path, text, report, write)
    if not any(f.fixable for f in result.findings):
        report.skipped = [
            (f, f.reason or "no checkpoint migration needed") for f in result.findings
        ]
        return report
    from switcheroo_lsp.engine import apply_edits, fix_all

    fixed = fix_all(text, job.settings)
    if fixed.error is not None:
        report.error = f"not fixed: {fixed.error}"
        return report
    report.fixed = fixed.fixed
    report.skipped = list(fixed.skipped)
    if not fixed.edits:
        return report
    new_text = apply_edits(text, fixed.edits)
    report.changed = new_text != text
    if not write:
        report.new_text = new_text
    if job.mode == "diff":
        report.diff = unified_diff(
            text, new_text, _diff_label("a", job.path), _diff_label("b", job.path)
        )
    elif report.changed and write:
        try:
            write_atomic(path, new_text, original=text)
        except OSError as exc:
            report.error = f"cannot write ({exc.strerror or exc}); left untouched"
            report.changed = False
            report.fixed = 0
    return report


def _add_noqa(job: Job, path: Path, text: str, report: FileReport, write: bool) -> FileReport:
    """check --add-noqa: a ``# noqa: code`` on the first line of each reported call."""
    wanted: dict[int, set[str]] = {}
    for finding in report.findings:
        if shown(finding, job.settings):
            wanted.setdefault(finding.line, set()).add(finding.code)
    new_text, changed = add_noqa(text, wanted)
    if not write:
        report.new_text = new_text
    elif changed:
        try:
            write_atomic(path, new_text)
        except OSError as exc:
            report.error = f"cannot write ({exc.strerror or exc}); left untouched"
            return report
    report.fixed = changed
    report.changed = bool(changed)
    return report


def _diff_label(side: str, path: str) -> str:
    """`a/src/x.py` for relative paths (as git writes them); absolute paths as they are."""
    return path if os.path.isabs(path) else f"{side}/{path}"
