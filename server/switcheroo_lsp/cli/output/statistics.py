"""``switcheroo check --statistics``: a count per code instead of each call."""

from __future__ import annotations

from collections.abc import Sequence

from switcheroo_lsp.cli.output.selection import SettingsOf, shown_findings
from switcheroo_lsp.cli.reports import FileReport


def statistics_lines(reports: Sequence[FileReport], settings_of: SettingsOf) -> list[str]:
    """``--statistics``: one line per code, most frequent first: count, code, fixable count."""
    counts: dict[str, list[int]] = {}
    for _, f in shown_findings(reports, settings_of):
        entry = counts.setdefault(f.code, [0, 0])
        entry[0] += 1
        entry[1] += f.fixable
    rows = sorted(counts.items(), key=lambda item: (-item[1][0], item[0]))
    width = max((len(str(total)) for _, (total, _) in rows), default=1)
    return [f"{total:>{width}}\t{code}\t({fixable} fixable)\n" for code, (total, fixable) in rows]
