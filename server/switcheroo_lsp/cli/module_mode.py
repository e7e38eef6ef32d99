"""``switcheroo fix`` in module mode: one KeyMapper module per project, imported by the files
it fixes (project.py plans and writes it)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

from switcheroo_lsp.cli.pool import run_jobs
from switcheroo_lsp.cli.progress import Progress
from switcheroo_lsp.cli.reports import FileReport, Job
from switcheroo_lsp.settings import PreambleMode


def run_module_mode(
    given: Sequence[Path], jobs: Sequence[Job], workers: int, progress: Progress
) -> list[FileReport]:
    """Fix with one KeyMapper module per project (project.py plans and writes it). Files found
    under a directory import it; files given by name and notebooks keep an inlined copy, unless
    module mode was asked for explicitly (in the file's table or by the flag)."""
    from switcheroo_lsp import project

    if not jobs:
        return []
    named = {os.path.abspath(p) for p in given if not p.is_dir()}
    eligible = [
        j
        for j in jobs
        if not j.path.endswith(".ipynb")
        and (j.settings.preamble is PreambleMode.MODULE or os.path.abspath(j.path) not in named)
    ]
    quiet = Progress(0, progress.stream, enabled=False)
    scanned = run_jobs([dataclasses.replace(j, mode="check") for j in eligible], workers, quiet)
    fixable_set = {r.path for r in scanned if any(f.fixable for f in r.findings)}
    # one plan per keymapper-module setting (the files' tables may each name their own)
    groups: dict[str, list[Job]] = {}
    for job in eligible:
        groups.setdefault(job.settings.keymapper_module, []).append(job)
    walked = [p for p in given if p.is_dir()]
    runs = [
        project.prepare(
            [Path(j.path) for j in group if j.path in fixable_set],
            [Path(j.path) for j in group if j.path not in fixable_set],
            configured,
            walked,
        )
        for configured, group in (groups or {jobs[0].settings.keymapper_module: []}).items()
    ]
    blocked = [FileReport(path, error=why) for run in runs for path, why in run.blocked.items()]
    imports = {path: line for run in runs for path, line in run.imports.items()}
    first_party = {path: names for run in runs for path, names in run.first_party.items()}
    planned = []
    for job in jobs:
        if any(job.path in run.blocked for run in runs):
            continue
        preamble = PreambleMode.MODULE if job.path in imports else PreambleMode.INLINE
        planned.append(
            dataclasses.replace(
                job,
                settings=dataclasses.replace(
                    job.settings,
                    preamble=preamble,
                    keymapper_import=imports.get(job.path, ""),
                    first_party=first_party.get(job.path, ()),
                ),
            )
        )
    reports = run_jobs(planned, workers, progress)
    changed = {r.path for r in reports if r.changed}
    for run in runs:
        for path, kind, text in project.finish(run, changed, write=jobs[0].mode == "fix"):
            if kind == "error":
                reports.append(FileReport(path, error=text))
            elif kind == "diff":
                reports.append(FileReport(path, diff=text))
            else:
                reports.append(FileReport(path, warnings=[text]))
    for run in runs:
        for path, note in run.notes:
            reports.append(FileReport(path, warnings=[f" {note}"]))
    return blocked + reports
