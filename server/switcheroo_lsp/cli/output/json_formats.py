"""The formats a program reads: ``json`` (one document) and ``json-lines`` (one finding a line)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TextIO

from switcheroo_lsp.cli.output.selection import SettingsOf, cell_number, shown_findings
from switcheroo_lsp.cli.reports import FileReport
from switcheroo_lsp.engine.explain import explain
from switcheroo_lsp.engine.model import Finding


def finding_json(path: str, finding: Finding) -> dict[str, Any]:
    """One finding as the json and json-lines formats write it."""
    return {
        "path": path,
        **({"cell": cell_number(finding)} if cell_number(finding) is not None else {}),
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


def json_document(reports: Sequence[FileReport], settings_of: SettingsOf, out: TextIO) -> None:
    """One JSON object: findings, errors, warnings (notebook cells left out) and a summary."""
    sites = [f for r in reports for f in r.findings if f.kind.is_model]
    hints = [f for r in reports for f in r.findings if not f.kind.is_model]
    errors = [r for r in reports if r.error is not None]
    json.dump(
        {
            "findings": [finding_json(p, f) for p, f in shown_findings(reports, settings_of)],
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


def json_lines(reports: Sequence[FileReport], settings_of: SettingsOf, out: TextIO) -> None:
    """One JSON object per finding per line (the json format's ``findings`` items)."""
    for path, f in shown_findings(reports, settings_of):
        out.write(json.dumps(finding_json(path, f)) + "\n")
