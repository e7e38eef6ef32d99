"""The command line: ``switcheroo check|fix [PATHS...]``, a thin shell over the engine.

Exit codes: 0 nothing to migrate (``fix``: everything fixable was fixed), 1 migration sites found
(``fix``: calls left for manual migration; ``fix --diff``: changes pending), 2 a file could not be
read or parsed, or the command line was wrong. Interrupted: 130.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from switcheroo_lsp import __version__
from switcheroo_lsp.engine import explain, scan
from switcheroo_lsp.engine.model import CODE_CHECKPOINT, Finding
from switcheroo_lsp.engine.scan import NAME
from switcheroo_lsp.files import SourceError, iter_python_files, read_source, write_atomic
from switcheroo_lsp.settings import PreambleMode, Settings

# Below these, a process pool costs more than it saves.
PARALLEL_MIN_FILES = 24
PARALLEL_MIN_BYTES = 400_000
PARALLEL_MIN_TREE = 400  # files: from here on a pool is started with the first file to parse
PROGRESS_AFTER_SECONDS = 0.5


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


@dataclass(frozen=True)
class Job:
    """The work for one file, as sent to a worker process."""

    path: str
    mode: str  # "check", "fix" or "diff"
    settings: Settings
    max_bytes: int | None


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
        text = read_source(path)
    except SourceError as exc:
        report.error = exc.message
        return report
    except OSError as exc:
        report.error = f"cannot read ({exc.strerror or exc})"
        return report
    if NAME not in text:
        return report
    if path.suffix == ".ipynb":  # cells, magics, JSON: see ipynb.py
        from switcheroo_lsp.ipynb import process_notebook

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
    if job.mode == "diff":
        report.diff = "".join(
            difflib.unified_diff(
                text.splitlines(keepends=True),
                new_text.splitlines(keepends=True),
                fromfile=_diff_label("a", job.path),
                tofile=_diff_label("b", job.path),
            )
        )
        if report.diff and not report.diff.endswith("\n"):
            report.diff += "\n\\ No newline at end of file\n"
    elif report.changed:
        try:
            write_atomic(path, new_text)
        except OSError as exc:
            report.error = f"cannot write ({exc.strerror or exc}); left untouched"
            report.changed = False
            report.fixed = 0
    return report


def _diff_label(side: str, path: str) -> str:
    """`a/src/x.py` for relative paths (as git writes them); absolute paths as they are."""
    return path if os.path.isabs(path) else f"{side}/{path}"


class Progress:
    """A one-line counter on a terminal for long runs; silent otherwise."""

    def __init__(self, total: int, stream: TextIO, enabled: bool) -> None:
        self.total = total
        self.stream = stream
        self.enabled = enabled and total > 1
        self.started = time.monotonic()
        self.last = 0.0
        self.shown = False

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.started < PROGRESS_AFTER_SECONDS or now - self.last < 0.1:
            return
        self.last = now
        self.shown = True
        self.stream.write(f"\r{done}/{self.total} files ({100 * done // self.total}%)")
        self.stream.flush()

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()


def _jobs_for(
    paths: Sequence[Path], mode: str, settings: Settings, max_bytes: int | None
) -> list[Job]:
    return [Job(str(p), mode, settings, max_bytes) for p in paths]


def _thread_count() -> int:
    """Threads of this process, native ones included (JAX, BLAS), where the OS tells."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def _new_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool: fork (cheap) while this process has one thread, forkserver otherwise,
    since forking a threaded process (a program embedding the CLI, with JAX loaded) can deadlock."""
    method = "fork" if _thread_count() == 1 else "forkserver"
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method))


def run_jobs(jobs: Sequence[Job], workers: int, progress: Progress) -> list[FileReport]:
    """Process every job; the files that mention load_state_dict go to a process pool when there
    are enough of them (or the tree is large) to pay for one."""
    # Most files do not mention load_state_dict: those cost one read here and need no worker.
    reports: list[FileReport | None] = [None] * len(jobs)
    heavy: list[int] = []
    heavy_bytes = 0
    pool: ProcessPoolExecutor | None = None
    futures: dict[int, Future[FileReport]] = {}
    big_tree = workers > 1 and len(jobs) >= PARALLEL_MIN_TREE
    needle = NAME.encode()
    try:
        for i, job in enumerate(jobs):
            try:
                with open(job.path, "rb") as stream:
                    data = stream.read()
            except OSError:
                data = needle  # let process() word the message
            if needle in data:
                if big_tree:  # parse while the rest is still being read
                    pool = pool or _new_pool(workers)
                    futures[i] = pool.submit(process, job)
                else:
                    heavy.append(i)
                    heavy_bytes += len(data)
            else:
                report = FileReport(job.path)
                if b"\0" in data[:8192] or not _is_utf8(data):
                    report = process(job)  # for the message
                reports[i] = report
            progress.update(i + 1 - len(heavy) - len(futures))
        done = len(jobs) - len(heavy) - len(futures)
        parallel = (
            workers > 1
            and len(heavy) >= 2
            and (len(heavy) >= PARALLEL_MIN_FILES or heavy_bytes >= PARALLEL_MIN_BYTES)
        )
        if parallel:
            pool = _new_pool(min(workers, len(heavy)))
            futures.update((i, pool.submit(process, jobs[i])) for i in heavy)
        else:
            for i in heavy:
                reports[i] = process(jobs[i])
                done += 1
                progress.update(done)
        for i, future in futures.items():
            reports[i] = future.result()
            done += 1
            progress.update(done)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    progress.close()
    return [r for r in reports if r is not None]


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _shown(finding: Finding, settings: Settings) -> bool:
    return finding.code == CODE_CHECKPOINT or settings.hint_non_model


def _where(path: str, finding: Finding) -> str:
    """``path:line:col``; ``path:cell N:line:col`` in a notebook (lines counted in the cell)."""
    cell = getattr(finding, "cell", None)
    pos = finding.span.start_pos
    return f"{path}:{'' if cell is None else f'cell {cell + 1}:'}{pos.line + 1}:{pos.column + 1}"


def _finding_json(path: str, finding: Finding) -> dict[str, Any]:
    return {
        "path": path,
        **({"cell": finding.cell + 1} if hasattr(finding, "cell") else {}),
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
    }


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def report_check(
    reports: Sequence[FileReport], settings: Settings, fmt: str, out: TextIO, err: TextIO
) -> int:
    """Print check results; return the exit code."""
    sites = [(r.path, f) for r in reports for f in r.findings if f.code == CODE_CHECKPOINT]
    hints = [(r.path, f) for r in reports for f in r.findings if f.code != CODE_CHECKPOINT]
    errors = [r for r in reports if r.error is not None]
    if fmt == "json":
        shown = [
            (p, f) for r in reports for f in r.findings if _shown(f, settings) for p in [r.path]
        ]
        json.dump(
            {
                "findings": [_finding_json(p, f) for p, f in shown],
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
                    "fixable": sum(f.fixable for _, f in sites),
                    "non_model_hints": len(hints),
                    "errors": len(errors),
                },
            },
            out,
            indent=2,
        )
        out.write("\n")
    else:
        for r in reports:
            for f in r.findings:
                if _shown(f, settings):
                    out.write(f"{_where(r.path, f)}: {f.code} {explain(f)}\n")
        for r in reports:
            err.writelines(f"{r.path}:{warning}\n" for warning in r.warnings)
        for r in errors:
            line = "" if r.error_line is None else f"{r.error_line + 1}:1:"
            err.write(f"{r.path}:{line} error: {r.error}\n")
        fixable = sum(f.fixable for _, f in sites)
        if sites:
            summary = f"Found {_plural(len(sites), 'load_state_dict call')} to migrate"
            summary += f" in {_plural(len({p for p, _ in sites}), 'file')}"
            summary += f" ({fixable} fixable with `switcheroo fix`)"
        else:
            summary = f"No load_state_dict calls to migrate in {_plural(len(reports), 'file')}"
        if hints and settings.hint_non_model:
            summary += (
                f"; {_plural(len(hints), 'non-model call')} (optimizers, schedulers, ...) need none"
            )
        if errors:
            summary += f"; {_plural(len(errors), 'file')} could not be checked"
        err.write(summary + ".\n")
    if errors:
        return 2
    return 1 if sites else 0


def report_fix(reports: Sequence[FileReport], mode: str, out: TextIO, err: TextIO) -> int:
    """Print fix results (or diffs); return the exit code."""
    errors = [r for r in reports if r.error is not None]
    for r in reports:
        if mode == "diff" and r.diff:
            out.write(r.diff)
    for r in errors:
        line = "" if r.error_line is None else f"{r.error_line + 1}:1:"
        err.write(f"{r.path}:{line} error: {r.error}\n")
    left = [(r.path, f, why) for r in reports for f, why in r.skipped if f.code == CODE_CHECKPOINT]
    for r in reports:
        err.writelines(f"{r.path}:{warning}\n" for warning in r.warnings)
    for path, f, why in left:
        err.write(f"{_where(path, f)}: {f.code} not fixed: {why}\n")
    fixed = sum(r.fixed for r in reports)
    files = sum(1 for r in reports if r.changed)
    if mode == "diff":
        summary = f"Would migrate {_plural(fixed, 'call')} in {_plural(files, 'file')}"
    else:
        summary = f"Migrated {_plural(fixed, 'call')} in {_plural(files, 'file')}"
    if left:
        summary += f"; {_plural(len(left), 'call')} left for manual migration"
    if errors:
        summary += f"; {_plural(len(errors), 'file')} could not be processed"
    err.write(summary + ".\n")
    if errors:
        return 2
    if mode == "diff":
        return 1 if files or left else 0
    return 1 if left else 0


EXIT_CODES = (
    "Exit codes: 0 nothing to migrate, 1 migration sites found (fix: calls left; "
    "fix --diff: changes pending), 2 unreadable/unparsable files or bad usage, 130 interrupted."
)


def run_module_mode(
    given: Sequence[Path], jobs: Sequence[Job], workers: int, progress: Progress
) -> list[FileReport]:
    """Fix with one KeyMapper module per project (project.py plans and writes it). Files found
    under a directory import it; files given by name and notebooks keep an inlined copy, unless
    module mode was asked for explicitly."""
    from switcheroo_lsp import project

    if not jobs:
        return []
    named = {os.path.abspath(p) for p in given if not p.is_dir()}
    explicit = jobs[0].settings.preamble is PreambleMode.MODULE
    eligible = [
        j
        for j in jobs
        if not j.path.endswith(".ipynb") and (explicit or os.path.abspath(j.path) not in named)
    ]
    quiet = Progress(0, progress.stream, enabled=False)
    scanned = run_jobs([dataclasses.replace(j, mode="check") for j in eligible], workers, quiet)
    fixable = [Path(r.path) for r in scanned if any(f.fixable for f in r.findings)]
    fixable_set = {str(p) for p in fixable}
    others = [Path(j.path) for j in eligible if j.path not in fixable_set]
    configured = jobs[0].settings.keymapper_module
    walked = [p for p in given if p.is_dir()]
    run = project.prepare(fixable, others, configured, walked)
    blocked = [FileReport(path, error=why) for path, why in run.blocked.items()]
    planned = []
    for job in jobs:
        if job.path in run.blocked:
            continue
        preamble = PreambleMode.MODULE if job.path in run.imports else PreambleMode.INLINE
        line = run.imports.get(job.path, "")
        planned.append(
            dataclasses.replace(
                job,
                settings=dataclasses.replace(
                    job.settings,
                    preamble=preamble,
                    keymapper_import=line,
                    first_party=run.first_party.get(job.path, ()),
                ),
            )
        )
    reports = run_jobs(planned, workers, progress)
    changed = {r.path for r in reports if r.changed}
    for path, kind, text in project.finish(run, changed, write=jobs[0].mode == "fix"):
        if kind == "error":
            reports.append(FileReport(path, error=text))
        elif kind == "diff":
            reports.append(FileReport(path, diff=text))
        else:
            reports.append(FileReport(path, warnings=[text]))
    for path, note in run.notes:
        reports.append(FileReport(path, warnings=[f" {note}"]))
    return blocked + reports


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (separate so the README and tests can show its help)."""
    parser = argparse.ArgumentParser(
        prog="switcheroo",
        description="Find PyTorch load_state_dict calls and migrate them to KeyMapper.from_torch (JAX/Flax).",
        epilog=EXIT_CODES,
    )
    parser.add_argument("--version", action="version", version=f"switcheroo {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{check,fix}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "paths",
        nargs="*",
        type=Path,
        default=[Path(".")],
        metavar="PATH",
        help="files or directories (default: .)",
    )
    common.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="skip matching files/directories (repeatable; also comma-separated)",
    )
    common.add_argument("--quiet", "-q", action="store_true", help="no progress display")
    common.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="worker processes for large runs (default: CPU count)",
    )
    common.add_argument(
        "--assignment-name",
        metavar="NAME",
        help="variable bound to the converted tree (default: variables)",
    )
    common.add_argument(
        "--preamble",
        choices=["module", "inline", "import"],
        help="module: one KeyMapper module per project, imported by each fixed file (the default"
        " for directories); inline: a copy in each file (the default for files given by name);"
        " import: from switcheroo_lsp.runtime (needs switcheroo-lsp[runtime] installed)",
    )
    common.add_argument(
        "--no-hints",
        action="store_true",
        help="do not report optimizer/scheduler/... calls (non-model-state)",
    )
    common.add_argument("--max-file-size", type=int, metavar="BYTES", help="skip larger files")
    common.add_argument(
        "--no-config",
        action="store_true",
        help="ignore [tool.switcheroo] in pyproject.toml",
    )
    check = commands.add_parser(
        epilog=EXIT_CODES,
        name="check",
        parents=[common],
        help="report load_state_dict calls",
        description="Report load_state_dict calls as path:line:col: code message.",
    )
    check.add_argument("--format", choices=["text", "json"], default="text", help="output format")
    fix = commands.add_parser(
        epilog=EXIT_CODES,
        name="fix",
        parents=[common],
        help="rewrite model calls to KeyMapper.from_torch",
        description="Rewrite every fixable model call and insert the KeyMapper once per file.",
    )
    fix.add_argument(
        "--diff", action="store_true", help="print a unified diff instead of writing files"
    )
    return parser


def load_config(start: Path) -> tuple[dict[str, Any], Path | None, list[str]]:
    """The ``[tool.switcheroo]`` table of the nearest ``pyproject.toml`` at or above ``start``
    that has one (keys as in the editor settings; kebab-case accepted), its path, and problems."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ModuleNotFoundError:
            return {}, None, []
    start = start.resolve()
    for directory in [start, *start.parents]:
        candidate = directory / "pyproject.toml"
        if not candidate.is_file():
            continue
        try:
            data = tomllib.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            return {}, candidate, [f"{candidate}: cannot read it ({exc})"]
        section = data.get("tool", {}).get("switcheroo")
        if section is None:
            continue
        if not isinstance(section, dict):
            return {}, candidate, [f"{candidate}: [tool.switcheroo] must be a table"]
        return {key.replace("-", "_"): value for key, value in section.items()}, candidate, []
    return {}, None, []


def _settings(args: argparse.Namespace, config: dict[str, Any]) -> tuple[Settings, list[str]]:
    """Settings from the config file, then the command line on top (exclude globs add up)."""
    raw: dict[str, Any] = dict(config)
    if args.assignment_name is not None:
        raw["assignment_name"] = args.assignment_name
    if args.preamble is not None:
        raw["preamble"] = args.preamble
    if args.no_hints:
        raw["hint_non_model"] = False
    excludes = [g for item in args.exclude for g in item.split(",") if g]
    if excludes:
        configured = raw.get("exclude", [])
        raw["exclude"] = [*([configured] if isinstance(configured, str) else configured), *excludes]
    return Settings.from_dict(raw)


def main(
    argv: Iterable[str] | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Entry point of the ``switcheroo`` console script; returns the exit code."""
    out = out or sys.stdout
    err = err or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:
        return int(exc.code or 0)
    config, config_path, problems = ({}, None, []) if args.no_config else load_config(Path.cwd())
    settings, setting_problems = _settings(args, config)
    where = (
        f"{config_path} [tool.switcheroo] or the command line" if config_path else "command line"
    )
    problems += [f"{problem} ({where})" for problem in setting_problems]
    if problems:
        for problem in problems:
            err.write(f"switcheroo: error: {problem}\n")
        return 2
    if args.max_file_size is None and "max_file_size" in config:
        args.max_file_size = settings.max_file_size
    if args.jobs < 1:
        err.write("switcheroo: error: --jobs must be at least 1\n")
        return 2
    missing = [p for p in args.paths if not p.exists() and not p.is_symlink()]
    for path in missing:
        err.write(f"switcheroo: error: {path}: no such file or directory\n")
    if missing:
        return 2
    mode = "check" if args.command == "check" else ("diff" if args.diff else "fix")
    try:
        files = list(iter_python_files(args.paths, settings.exclude))
        progress = Progress(len(files), err, enabled=not args.quiet and err.isatty())
        jobs = _jobs_for(files, mode, settings, args.max_file_size)
        preamble_chosen = args.preamble is not None or "preamble" in config
        if mode != "check" and (settings.preamble is PreambleMode.MODULE or not preamble_chosen):
            reports = run_module_mode(args.paths, jobs, args.jobs, progress)
        else:
            reports = run_jobs(jobs, args.jobs, progress)
        if mode == "check":
            return report_check(reports, settings, args.format, out, err)
        return report_fix(reports, mode, out, err)
    except KeyboardInterrupt:
        err.write("\nswitcheroo: interrupted\n")
        return 130
    except BrokenPipeError:
        # the reader went away (`switcheroo check | head`): not an error worth a traceback
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
