"""``switcheroo check``: the results in the chosen output format, the summary on stderr for the
formats a person reads, and the exit code."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from switcheroo_lsp.cli.output import github, gitlab, json_formats, sarif, terminal
from switcheroo_lsp.cli.output.selection import FixOf, SettingsOf, SourceOf
from switcheroo_lsp.cli.output.statistics import statistics_lines
from switcheroo_lsp.cli.output.summary import plural, write_errors, write_warnings
from switcheroo_lsp.cli.reports import FileReport
from switcheroo_lsp.engine.model import Edit, Finding
from switcheroo_lsp.files import SourceError, read_source

FORMATS = ("concise", "full", "json", "json-lines", "github", "sarif", "gitlab")
TEXT_FORMATS = ("concise", "full")  # followed by the summary line on stderr


def report_check(
    reports: Sequence[FileReport],
    settings_of: SettingsOf,
    fmt: str,
    out: TextIO,
    err: TextIO,
    statistics: bool = False,
    source_of: SourceOf | None = None,
) -> int:
    """Print check results in output format ``fmt``; return the exit code. ``settings_of``
    gives each file's settings (which hints show, what `switcheroo fix` would fix there)."""
    sites = [(r.path, f) for r in reports for f in r.findings if f.kind.is_model]
    hints = [(r.path, f) for r in reports for f in r.findings if not f.kind.is_model]
    errors = [r for r in reports if r.error is not None]
    source_of = source_of or _read_or_none
    if statistics:
        out.writelines(statistics_lines(reports, settings_of))
    elif fmt == "concise":
        terminal.concise(reports, settings_of, out)
    elif fmt == "full":
        terminal.full(reports, settings_of, out, source_of)
    elif fmt == "json":
        json_formats.json_document(reports, settings_of, out)
    elif fmt == "json-lines":
        json_formats.json_lines(reports, settings_of, out)
    elif fmt == "github":
        github.github(reports, settings_of, out)
    elif fmt == "gitlab":
        gitlab.gitlab(reports, settings_of, out)
    elif fmt == "sarif":
        sarif.sarif(reports, settings_of, out, _fix_finder(settings_of, source_of))
    if fmt in TEXT_FORMATS or statistics:
        write_warnings(reports, err)
        write_errors(errors, err)
        err.write(_summary(reports, sites, hints, errors, settings_of) + ".\n")
    if errors:
        return 2
    return 1 if sites else 0


def _summary(
    reports: Sequence[FileReport],
    sites: Sequence[tuple[str, Finding]],
    hints: Sequence[tuple[str, Finding]],
    errors: Sequence[FileReport],
    settings_of: SettingsOf,
) -> str:
    """``Found N load_state_dict calls to migrate in M files (K fixable ...)...``"""
    fixable = sum(f.bulk_fixable or (f.fixable and settings_of(p).unsafe_fixes) for p, f in sites)
    unsure = sum(
        f.fixable and not f.bulk_fixable and not settings_of(p).unsafe_fixes for p, f in sites
    )
    if sites:
        summary = f"Found {plural(len(sites), 'load_state_dict call')} to migrate"
        summary += f" in {plural(len({p for p, _ in sites}), 'file')}"
        summary += f" ({fixable} fixable with `switcheroo fix`"
        if unsure:
            summary += f", {unsure} more whose receiver may not be a model with --unsafe-fixes"
        summary += ")"
    else:
        summary = f"No load_state_dict calls to migrate in {plural(len(reports), 'file')}"
    shown_hints = [(p, f) for p, f in hints if settings_of(p).hint_non_model]
    if shown_hints:
        summary += (
            f"; {plural(len(shown_hints), 'non-model call')} (optimizers, schedulers, ...) "
            f"{'needs' if len(shown_hints) == 1 else 'need'} none"
        )
    if errors:
        summary += f"; {plural(len(errors), 'file')} could not be checked"
    return summary


def _read_or_none(path: str) -> str | None:
    try:
        return read_source(Path(path))
    except (SourceError, OSError):
        return None


def _fix_finder(settings_of: SettingsOf, source_of: SourceOf) -> FixOf:
    """The quick fix's edits for one finding (SARIF's ``fixes``), from the file's text and with
    its settings (the tree's name, the preamble)."""

    def fix_of(path: str, finding: Finding) -> tuple[Edit, ...] | None:
        text = source_of(path)
        if text is None:
            return None
        from switcheroo_lsp.engine import fix

        result = fix(text, finding.span.start, settings_of(path))
        return result.edits if result.ok else None

    return fix_of
