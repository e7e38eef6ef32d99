"""``switcheroo check --output-format``: the check results of every file, rendered for a person
(concise, full), a program (json, json-lines) or a CI service (github, gitlab, sarif).

Lines and columns are 1-based and count code points, as in the concise output; SARIF says so
(``columnKind: unicodeCodePoints``). A finding in a notebook cell is located in the cell (its
``cell`` is 1-based) since a cell's lines are not lines of the ``.ipynb`` file.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from switcheroo_lsp import __version__
from switcheroo_lsp.engine.explain import explain
from switcheroo_lsp.engine.model import CODE_NON_MODEL, Edit, Finding
from switcheroo_lsp.engine.rules import FIX_TITLE, RULES, UNSURE_SUFFIX, rule_markdown
from switcheroo_lsp.reports import FileReport
from switcheroo_lsp.settings import Settings

FORMATS = ("concise", "full", "json", "json-lines", "github", "sarif", "gitlab")
TEXT_FORMATS = ("concise", "full")  # followed by the summary line on stderr
INFORMATION_URI = "https://github.com/switcheroo-lsp/switcheroo-lsp#readme"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

SourceOf = Callable[[str], "str | None"]  # path -> its text (None: cannot be read)
FixOf = Callable[[str, Finding], "Sequence[Edit] | None"]  # the quick fix's edits, if any


def shown(finding: Finding, settings: Settings) -> bool:
    """False for a non-model hint when hints are off (--no-hints, hint-non-model = false)."""
    return finding.kind.is_model or settings.hint_non_model


def where(path: str, finding: Finding) -> str:
    """``path:line:col``; ``path:cell N:line:col`` in a notebook (lines counted in the cell)."""
    cell = getattr(finding, "cell", None)
    pos = finding.span.start_pos
    return f"{path}:{'' if cell is None else f'cell {cell + 1}:'}{pos.line + 1}:{pos.column + 1}"


def _findings(reports: Sequence[FileReport], settings: Settings) -> list[tuple[str, Finding]]:
    return [(r.path, f) for r in reports for f in r.findings if shown(f, settings)]


def _cell(finding: Finding) -> int | None:
    cell = getattr(finding, "cell", None)
    return None if cell is None else cell + 1


# -- concise and full ------------------------------------------------------------------------------


def concise(reports: Sequence[FileReport], settings: Settings, out: TextIO) -> None:
    """``path:line:col: code message``, one line per call."""
    for path, f in _findings(reports, settings):
        out.write(f"{where(path, f)}: {f.code} {explain(f)}\n")


def full(
    reports: Sequence[FileReport], settings: Settings, out: TextIO, source_of: SourceOf
) -> None:
    """The concise line, then the call's source lines with the call underlined, and whether
    `switcheroo fix` can fix it."""
    for path, f in _findings(reports, settings):
        out.write(f"{where(path, f)}: {f.code} {explain(f)}\n")
        text = None if _cell(f) is not None else source_of(path)
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


# -- json and json-lines ---------------------------------------------------------------------------


def finding_json(path: str, finding: Finding) -> dict[str, Any]:
    """One finding as the json and json-lines formats write it."""
    return {
        "path": path,
        **({"cell": _cell(finding)} if _cell(finding) is not None else {}),
        "line": finding.span.start_pos.line + 1,
        "column": finding.span.start_pos.column + 1,
        "end_line": finding.span.end_pos.line + 1,
        "end_column": finding.span.end_pos.column + 1,
        "code": finding.code,
        "message": explain(finding),
        "receiver": finding.receiver,
        "kind": finding.kind.value,
        "usage": finding.usage.value,
        "state": finding.state,
        "keywords": dict(finding.keywords),
        "fixable": finding.fixable,
        "reason": finding.reason,
        "confidence": finding.confidence.value,
        "evidence": finding.evidence,
    }


def json_document(reports: Sequence[FileReport], settings: Settings, out: TextIO) -> None:
    """One JSON object: findings, errors, warnings (notebook cells left out) and a summary."""
    sites = [f for r in reports for f in r.findings if f.kind.is_model]
    hints = [f for r in reports for f in r.findings if not f.kind.is_model]
    errors = [r for r in reports if r.error is not None]
    json.dump(
        {
            "findings": [finding_json(p, f) for p, f in _findings(reports, settings)],
            "errors": [
                {
                    "path": r.path,
                    "line": None if r.error_line is None else r.error_line + 1,
                    "message": r.error,
                }
                for r in errors
            ],
            "warnings": [{"path": r.path, "message": w} for r in reports for w in r.warnings],
            "summary": {
                "files": len(reports),
                "migration_sites": len(sites),
                "fixable": sum(f.fixable for f in sites),
                "unsure": sum(f.fixable and not f.bulk_fixable for f in sites),
                "non_model_hints": len(hints),
                "errors": len(errors),
            },
        },
        out,
        indent=2,
    )
    out.write("\n")


def json_lines(reports: Sequence[FileReport], settings: Settings, out: TextIO) -> None:
    """One JSON object per finding per line (the json format's ``findings`` items)."""
    for path, f in _findings(reports, settings):
        out.write(json.dumps(finding_json(path, f)) + "\n")


# -- github ----------------------------------------------------------------------------------------


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def github(reports: Sequence[FileReport], settings: Settings, out: TextIO) -> None:
    """GitHub Actions workflow commands: an annotation on the pull request per call (error for
    a model call, notice for a hint) and per file that could not be checked."""
    for path, f in _findings(reports, settings):
        level = "error" if f.kind.is_model else "notice"
        start, end = f.span.start_pos, f.span.end_pos
        cell = _cell(f)
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


# -- gitlab ----------------------------------------------------------------------------------------


def gitlab(reports: Sequence[FileReport], settings: Settings, out: TextIO) -> None:
    """GitLab Code Quality: a JSON array of issues (description, check_name, fingerprint,
    severity, location.path, location.lines.begin). The fingerprint does not move with the
    line: it hashes the path, code, call text and its occurrence count in the file."""
    issues: list[dict[str, Any]] = []
    seen: dict[tuple[str, str, str], int] = {}
    for path, f in _findings(reports, settings):
        key = (path, f.code, f"{_cell(f)}:{f.receiver}:{f.state}")
        occurrence = seen[key] = seen.get(key, 0) + 1
        digest = hashlib.sha256("\0".join([*key, str(occurrence)]).encode("utf-8")).hexdigest()
        issues.append(
            {
                "description": explain(f),
                "check_name": f.code,
                "fingerprint": digest,
                "severity": "major" if f.kind.is_model else "info",
                "location": {"path": path, "lines": {"begin": f.span.start_pos.line + 1}},
            }
        )
    for r in reports:
        if r.error is not None:
            line = 1 if r.error_line is None else r.error_line + 1
            issues.append(
                {
                    "description": r.error,
                    "check_name": "switcheroo-error",
                    "fingerprint": hashlib.sha256(f"{r.path}\0error".encode()).hexdigest(),
                    "severity": "blocker",
                    "location": {"path": r.path, "lines": {"begin": line}},
                }
            )
    json.dump(issues, out, indent=2)
    out.write("\n")


# -- sarif -----------------------------------------------------------------------------------------


def _region(start_line: int, start_column: int, end_line: int, end_column: int) -> dict[str, int]:
    return {
        "startLine": start_line + 1,
        "startColumn": start_column + 1,
        "endLine": end_line + 1,
        "endColumn": end_column + 1,
    }


def _artifact(path: str) -> dict[str, str]:
    """A SARIF ``artifactLocation``: its ``uri`` must be an RFC 3986 URI reference, so a relative
    path is percent-encoded with forward slashes and an absolute one becomes a ``file:`` URI."""
    if os.path.isabs(path):
        return {"uri": Path(path).as_uri()}
    return {"uri": urllib.parse.quote(path.replace("\\", "/"))}


def _fix_description(finding: Finding) -> str:
    """What a SARIF viewer shows for the fix: the editor's quick-fix title, unsure ones marked."""
    return FIX_TITLE if finding.confidence.is_sure else FIX_TITLE + UNSURE_SUFFIX


def sarif(reports: Sequence[FileReport], settings: Settings, out: TextIO, fix_of: FixOf) -> None:
    """SARIF 2.1.0: the rules (with their documentation as help), one result per call with its
    region, and the quick fix's replacements where there is one."""
    codes = list(RULES)
    rules = [
        {
            "id": rule.code,
            "name": "".join(word.capitalize() for word in rule.code.split("-")),
            "shortDescription": {"text": rule.name},
            "fullDescription": {"text": rule.summary},
            "help": {"text": f"{rule.summary} Fix: {rule.fix}", "markdown": rule_markdown(rule)},
            "helpUri": INFORMATION_URI,
            "defaultConfiguration": {"level": "error" if code != CODE_NON_MODEL else "note"},
        }
        for code, rule in RULES.items()
    ]
    results = []
    for path, f in _findings(reports, settings):
        start, end = f.span.start_pos, f.span.end_pos
        location: dict[str, Any] = {
            "physicalLocation": {
                "artifactLocation": _artifact(path),
                "region": _region(start.line, start.column, end.line, end.column),
            }
        }
        result: dict[str, Any] = {
            "ruleId": f.code,
            "ruleIndex": codes.index(f.code),
            "level": "error" if f.kind.is_model else "note",
            "message": {"text": explain(f)},
            "locations": [location],
        }
        cell = _cell(f)
        if cell is not None:
            result["properties"] = {"cell": cell}
        edits = fix_of(path, f) if f.fixable and cell is None else None
        if edits:
            result["fixes"] = [
                {
                    "description": {"text": _fix_description(f)},
                    "artifactChanges": [
                        {
                            "artifactLocation": _artifact(path),
                            "replacements": [
                                {
                                    "deletedRegion": _region(
                                        e.start_pos.line,
                                        e.start_pos.column,
                                        e.end_pos.line,
                                        e.end_pos.column,
                                    ),
                                    "insertedContent": {"text": e.new_text},
                                }
                                for e in edits
                            ],
                        }
                    ],
                }
            ]
        results.append(result)
    notifications = [
        {
            "level": "error",
            "message": {"text": r.error},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": _artifact(r.path),
                        **(
                            {"region": {"startLine": r.error_line + 1}}
                            if r.error_line is not None
                            else {}
                        ),
                    }
                }
            ],
        }
        for r in reports
        if r.error is not None
    ]
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "switcheroo",
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "invocations": [
                    {
                        "executionSuccessful": not notifications,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "results": results,
            }
        ],
    }
    json.dump(document, out, indent=2)
    out.write("\n")
