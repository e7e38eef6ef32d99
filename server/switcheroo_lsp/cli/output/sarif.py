"""``--output-format sarif``: SARIF 2.1.0, valid against OASIS's schema (tests/cli check it).

Columns count code points (``columnKind: unicodeCodePoints``), as the other formats do.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from switcheroo_lsp import __version__
from switcheroo_lsp.cli.output.selection import FixOf, SettingsOf, cell_number, shown_findings
from switcheroo_lsp.cli.reports import FileReport
from switcheroo_lsp.engine.explain import explain
from switcheroo_lsp.engine.model import CODE_NON_MODEL, Finding
from switcheroo_lsp.engine.rules import FIX_TITLE, RULES, UNSURE_SUFFIX, rule_markdown

INFORMATION_URI = "https://github.com/switcheroo-lsp/switcheroo-lsp#readme"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


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


def sarif(
    reports: Sequence[FileReport], settings_of: SettingsOf, out: TextIO, fix_of: FixOf
) -> None:
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
    for path, f in shown_findings(reports, settings_of):
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
        cell = cell_number(f)
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
