"""``--output-format gitlab``: GitLab Code Quality issues."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any, TextIO

from switcheroo_lsp.cli.output.selection import SettingsOf, cell_number, shown_findings
from switcheroo_lsp.cli.reports import FileReport
from switcheroo_lsp.engine.explain import explain


def gitlab(reports: Sequence[FileReport], settings_of: SettingsOf, out: TextIO) -> None:
    """GitLab Code Quality: a JSON array of issues (description, check_name, fingerprint,
    severity, location.path, location.lines.begin). The fingerprint does not move with the
    line: it hashes the path, code, call text and its occurrence count in the file."""
    issues: list[dict[str, Any]] = []
    seen: dict[tuple[str, str, str], int] = {}
    for path, f in shown_findings(reports, settings_of):
        key = (path, f.code, f"{cell_number(f)}:{f.receiver}:{f.state}")
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
