"""What the command line hands to its workers and gets back: plain data, below every other
module of the ``cli`` package (so none of them imports another for its types)."""

from __future__ import annotations

from dataclasses import dataclass, field

from switcheroo_lsp.engine.model import Finding
from switcheroo_lsp.settings import Settings


@dataclass
class FileReport:
    """What happened to one file; crosses process boundaries, so plain data only."""

    path: str
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None  # unreadable / binary / not UTF-8 / does not parse
    error_line: int | None = None  # 0-based, when the error has a position
    fixed: int = 0
    diff: str = ""
    changed: bool = False
    skipped: list[tuple[Finding, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # notebooks: cells left out, and why
    new_text: str | None = None  # the fixed text, when it was not written (--stdin-filename)


@dataclass(frozen=True)
class Job:
    """The work for one file, as sent to a worker process."""

    path: str
    mode: str  # "check", "fix", "diff" or "noqa" (check --add-noqa)
    settings: Settings
    max_bytes: int | None
