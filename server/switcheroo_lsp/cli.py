"""The command line: ``switcheroo check|fix [PATHS...]``, a thin shell over the engine.

Exit codes: 0 nothing to migrate (``fix``: everything fixable was fixed), 1 migration sites found
(``fix``: calls left for manual migration; ``fix --diff``: changes pending), 2 a file could not be
read or parsed, or the command line was wrong. Interrupted: 130.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any, TextIO

from switcheroo_lsp import __version__, formats
from switcheroo_lsp.config import ConfigFile, find_config, merge_settings
from switcheroo_lsp.diff import unified_diff
from switcheroo_lsp.engine import scan
from switcheroo_lsp.engine.model import UNSURE_NOT_FIXED, Edit, Finding
from switcheroo_lsp.engine.rules import RULES, rule_markdown
from switcheroo_lsp.engine.scan import NAME
from switcheroo_lsp.engine.suppress import add_noqa
from switcheroo_lsp.files import (
    SourceError,
    is_excluded,
    iter_python_files,
    read_bytes_bounded,
    read_source,
    write_atomic,
)
from switcheroo_lsp.formats import shown, where
from switcheroo_lsp.reports import FileReport, Job
from switcheroo_lsp.settings import PreambleMode, Settings, assignment_name

# Below these, a process pool costs more than it saves.
PARALLEL_MIN_FILES = 24
PARALLEL_MIN_BYTES = 400_000
PARALLEL_MIN_TREE = 400  # files: from here on a pool is started with the first file to parse
PROGRESS_AFTER_SECONDS = 0.5


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
            try:  # stat first: regular files only, never past --max-file-size
                data = read_bytes_bounded(Path(job.path), job.max_bytes)
            except SourceError:
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


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def report_noqa(reports: Sequence[FileReport], err: TextIO) -> int:
    """check --add-noqa: say how many comments were added; 2 when a file could not be done."""
    errors = [r for r in reports if r.error is not None]
    for r in errors:
        line = "" if r.error_line is None else f"{r.error_line + 1}:1:"
        err.write(f"{r.path}:{line} error: {r.error}\n")
    added = sum(r.fixed for r in reports)
    files = sum(1 for r in reports if r.changed)
    summary = f"Added {_plural(added, 'noqa comment')} in {_plural(files, 'file')}"
    if errors:
        summary += f"; {_plural(len(errors), 'file')} could not be processed"
    err.write(summary + ".\n")
    return 2 if errors else 0


def statistics_lines(reports: Sequence[FileReport], settings: Settings) -> list[str]:
    """``--statistics``: one line per code, most frequent first: count, code, fixable count."""
    counts: dict[str, list[int]] = {}
    for r in reports:
        for f in r.findings:
            if shown(f, settings):
                entry = counts.setdefault(f.code, [0, 0])
                entry[0] += 1
                entry[1] += f.fixable
    rows = sorted(counts.items(), key=lambda item: (-item[1][0], item[0]))
    width = max((len(str(total)) for _, (total, _) in rows), default=1)
    return [f"{total:>{width}}\t{code}\t({fixable} fixable)\n" for code, (total, fixable) in rows]


def report_check(
    reports: Sequence[FileReport],
    settings: Settings,
    fmt: str,
    out: TextIO,
    err: TextIO,
    statistics: bool = False,
    source_of: formats.SourceOf | None = None,
) -> int:
    """Print check results in output format ``fmt``; return the exit code."""
    sites = [(r.path, f) for r in reports for f in r.findings if f.kind.is_model]
    hints = [(r.path, f) for r in reports for f in r.findings if not f.kind.is_model]
    errors = [r for r in reports if r.error is not None]
    source_of = source_of or _read_or_none
    if statistics:
        out.writelines(statistics_lines(reports, settings))
    elif fmt == "concise":
        formats.concise(reports, settings, out)
    elif fmt == "full":
        formats.full(reports, settings, out, source_of)
    elif fmt == "json":
        formats.json_document(reports, settings, out)
    elif fmt == "json-lines":
        formats.json_lines(reports, settings, out)
    elif fmt == "github":
        formats.github(reports, settings, out)
    elif fmt == "gitlab":
        formats.gitlab(reports, settings, out)
    elif fmt == "sarif":
        formats.sarif(reports, settings, out, _fix_finder(settings, source_of))
    if fmt in formats.TEXT_FORMATS or statistics:
        for r in reports:
            err.writelines(f"{r.path}:{warning}\n" for warning in r.warnings)
        for r in errors:
            line = "" if r.error_line is None else f"{r.error_line + 1}:1:"
            err.write(f"{r.path}:{line} error: {r.error}\n")
        sure = sum(f.bulk_fixable for _, f in sites)
        unsure = sum(f.fixable and not f.bulk_fixable for _, f in sites)
        if sites:
            summary = f"Found {_plural(len(sites), 'load_state_dict call')} to migrate"
            summary += f" in {_plural(len({p for p, _ in sites}), 'file')}"
            if settings.unsafe_fixes:
                summary += f" ({sure + unsure} fixable with `switcheroo fix`)"
            else:
                summary += f" ({sure} fixable with `switcheroo fix`"
                if unsure:
                    summary += (
                        f", {unsure} more whose receiver may not be a model with --unsafe-fixes"
                    )
                summary += ")"
        else:
            summary = f"No load_state_dict calls to migrate in {_plural(len(reports), 'file')}"
        if hints and settings.hint_non_model:
            summary += (
                f"; {_plural(len(hints), 'non-model call')} (optimizers, schedulers, ...) "
                f"{'needs' if len(hints) == 1 else 'need'} none"
            )
        if errors:
            summary += f"; {_plural(len(errors), 'file')} could not be checked"
        err.write(summary + ".\n")
    if errors:
        return 2
    return 1 if sites else 0


def _read_or_none(path: str) -> str | None:
    try:
        return read_source(Path(path))
    except (SourceError, OSError):
        return None


def _fix_finder(settings: Settings, source_of: formats.SourceOf) -> formats.FixOf:
    """The quick fix's edits for one finding (SARIF's ``fixes``), from the file's text."""

    def fix_of(path: str, finding: Finding) -> tuple[Edit, ...] | None:
        text = source_of(path)
        if text is None:
            return None
        from switcheroo_lsp.engine import fix

        result = fix(text, finding.span.start, settings)
        return result.edits if result.ok else None

    return fix_of


def report_fix(reports: Sequence[FileReport], mode: str, out: TextIO, err: TextIO) -> int:
    """Print fix results (or diffs); return the exit code."""
    errors = [r for r in reports if r.error is not None]
    for r in reports:
        if mode == "diff" and r.diff:
            out.write(r.diff)
    for r in errors:
        line = "" if r.error_line is None else f"{r.error_line + 1}:1:"
        err.write(f"{r.path}:{line} error: {r.error}\n")
    left = [(r.path, f, why) for r in reports for f, why in r.skipped if f.kind.is_model]
    for r in reports:
        err.writelines(f"{r.path}:{warning}\n" for warning in r.warnings)
    for path, f, why in left:
        err.write(f"{where(path, f)}: {f.code} not fixed: {why}\n")
    fixed = sum(r.fixed for r in reports)
    files = sum(1 for r in reports if r.changed)
    if mode == "diff":
        summary = f"Would migrate {_plural(fixed, 'call')} in {_plural(files, 'file')}"
    else:
        summary = f"Migrated {_plural(fixed, 'call')} in {_plural(files, 'file')}"
    unsure = sum(why == UNSURE_NOT_FIXED for _, _, why in left)
    if left:
        summary += f"; {_plural(len(left), 'call')} left for manual migration"
        if unsure:
            summary += f" ({unsure} whose receiver may not be a model: --unsafe-fixes to apply)"
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


def _assignment_name_flag(value: str) -> str:
    try:
        return assignment_name(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r}: {exc}") from None


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: expected a positive integer")
    return number


def _as_error(problem: str) -> str:
    """A settings problem worded for the command line, which stops at it (the server goes on
    with the default, and says so)."""
    return problem.replace("; using the default", "").replace("' ignored", "'")


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
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="{check,fix,rule,inspect,convert}"
    )
    rule = commands.add_parser(
        name="rule",
        help="print a rule's documentation",
        description="Print the documentation of a rule (its diagnostic code).",
    )
    rule.add_argument("code", nargs="?", metavar="CODE", help=f"one of {', '.join(RULES)}")
    rule.add_argument("--all", action="store_true", help="every rule")
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
        type=_assignment_name_flag,
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
    common.add_argument(
        "--max-file-size", type=_positive_int, metavar="BYTES", help="skip larger files"
    )
    common.add_argument(
        "--stdin-filename",
        type=Path,
        metavar="PATH",
        help="read the source from stdin, reported as PATH (fix: the fixed text goes to stdout)",
    )
    common.add_argument(
        "--force-exclude",
        action="store_true",
        help="apply --exclude and the default exclusions to files named explicitly too "
        "(for pre-commit and editors that pass every file)",
    )
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
    check.add_argument(
        "--output-format",
        choices=formats.FORMATS,
        default=None,
        help="concise (default): path:line:col: code message; full: with the source lines; "
        "json, json-lines; github: workflow annotations; gitlab: Code Quality JSON; sarif: SARIF 2.1.0",
    )
    check.add_argument(
        "--format",
        choices=["text", "json"],
        default=None,
        help="older spelling: text is --output-format concise, json is --output-format json",
    )
    check.add_argument(
        "--add-noqa",
        action="store_true",
        help="add a `# noqa: CODE` comment to the line of each reported call (keeps other comments)",
    )
    check.add_argument(
        "--exit-zero",
        action="store_true",
        help="exit 0 even when calls to migrate are found (unreadable files still exit 2)",
    )
    check.add_argument(
        "--statistics", action="store_true", help="print a count per code instead of each call"
    )
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
    fix.add_argument(
        "--unsafe-fixes",
        action="store_true",
        help="also rewrite calls whose receiver may not be a model (unsure judgements)",
    )
    # checkpoints: `switcheroo inspect` / `switcheroo convert` (switcheroo_lsp/checkpoints)
    from switcheroo_lsp.checkpoints.commands import add_parsers

    add_parsers(commands)
    return parser


def _flag_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the command line sets (laid over the config file by merge_settings)."""
    raw: dict[str, Any] = {}
    if args.assignment_name is not None:
        raw["assignment_name"] = args.assignment_name
    if args.preamble is not None:
        raw["preamble"] = args.preamble
    if args.no_hints:
        raw["hint_non_model"] = False
    if getattr(args, "unsafe_fixes", False):  # `fix` only
        raw["unsafe_fixes"] = True
    excludes = [g for item in args.exclude for g in item.split(",") if g]
    if excludes:
        raw["exclude"] = excludes
    return raw


def _output_format(args: argparse.Namespace) -> str:
    if args.output_format is not None:
        return str(args.output_format)
    return "json" if args.format == "json" else "concise"


def print_rule(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``switcheroo rule CODE`` / ``--all``: the rules' documentation as Markdown."""
    if args.all:
        out.write("\n".join(rule_markdown(rule) for rule in RULES.values()))
        return 0
    rule = RULES.get((args.code or "").lower())
    if rule is None:
        known = ", ".join(RULES)
        given = f"unknown rule {args.code!r}" if args.code else "name a rule"
        err.write(f"switcheroo: error: {given} (known rules: {known}; or --all)\n")
        return 2
    out.write(rule_markdown(rule))
    return 0


def _read_stdin(stdin: TextIO | None) -> str:
    """The text piped in, line endings untouched (sys.stdin's text layer would translate them)."""
    if stdin is not None:
        return stdin.read()
    data = sys.stdin.buffer.read()
    text = data.decode("utf-8")  # UnicodeDecodeError: reported by the caller
    if "\0" in text:
        raise UnicodeDecodeError("utf-8", data, 0, 1, "NUL byte: not a text file")
    return text


def _run_stdin(
    args: argparse.Namespace,
    mode: str,
    settings: Settings,
    stdin: TextIO | None,
    out: TextIO,
    err: TextIO,
) -> int:
    """--stdin-filename PATH: the text comes from stdin and is reported as PATH; ``fix`` (and
    ``check --add-noqa``) write the resulting text to stdout, ``fix --diff`` the diff."""
    if args.paths != [Path(".")]:
        err.write("switcheroo: error: --stdin-filename takes no PATH arguments\n")
        return 2
    name = str(args.stdin_filename)
    if name.endswith(".ipynb") and mode != "check":
        err.write("switcheroo: error: --stdin-filename: notebooks can only be checked\n")
        return 2
    try:
        text = _read_stdin(stdin)
    except UnicodeDecodeError as exc:
        err.write(f"switcheroo: error: {name}: stdin is not UTF-8 text ({exc.reason})\n")
        return 2
    job = Job(name, mode, settings, None)
    if args.force_exclude and is_excluded(Path(name), Path.cwd(), settings.exclude):
        report = FileReport(name)
    else:
        report = process_text(job, text, FileReport(name), write=False)
    if mode in ("fix", "noqa"):
        out.write(text if report.new_text is None or report.error else report.new_text)
    if mode == "noqa":
        return report_noqa([report], err)
    if mode == "check":
        code = report_check(
            [report],
            settings,
            _output_format(args),
            out,
            err,
            args.statistics,
            source_of=lambda path: text if path == name else None,
        )
        return 0 if code == 1 and args.exit_zero else code
    return report_fix([report], mode, out, err)  # writes to ``out`` only in diff mode


def main(
    argv: Iterable[str] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    stdin: TextIO | None = None,
) -> int:
    """Entry point of the ``switcheroo`` console script; returns the exit code."""
    out = out or sys.stdout
    err = err or sys.stderr
    parser = build_parser()
    try:
        # usage errors and --help/--version go to the streams given, as everything else does
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:
        return int(exc.code or 0)
    if args.command == "rule":
        return print_rule(args, out, err)
    if args.command in ("inspect", "convert"):  # checkpoints: no settings, no source files
        from switcheroo_lsp.checkpoints.commands import run

        return run(args, out, err)
    config = ConfigFile() if args.no_config else find_config(Path.cwd())
    settings, setting_problems = merge_settings(config.table, _flag_overrides(args))
    where = (
        f"{config.path} [tool.switcheroo] or the command line" if config.path else "command line"
    )
    problems = [
        *config.problems,
        *(f"{_as_error(problem)} ({where})" for problem in setting_problems),
    ]
    if problems:
        for problem in problems:
            err.write(f"switcheroo: error: {problem}\n")
        return 2
    if args.max_file_size is None and "max_file_size" in config.table:
        args.max_file_size = settings.max_file_size
    if args.jobs < 1:
        err.write("switcheroo: error: --jobs must be at least 1\n")
        return 2
    if args.command == "check":
        mode = "noqa" if args.add_noqa else "check"
    else:
        mode = "diff" if args.diff else "fix"
    if args.stdin_filename is not None:
        return _run_stdin(args, mode, settings, stdin, out, err)
    missing = [p for p in args.paths if not p.exists() and not p.is_symlink()]
    for path in missing:
        err.write(f"switcheroo: error: {path}: no such file or directory\n")
    if missing:
        return 2
    try:
        files = list(
            iter_python_files(args.paths, settings.exclude, force_exclude=args.force_exclude)
        )
        progress = Progress(len(files), err, enabled=not args.quiet and err.isatty())
        jobs = _jobs_for(files, mode, settings, args.max_file_size)
        preamble_chosen = args.preamble is not None or "preamble" in config.table
        module = settings.preamble is PreambleMode.MODULE or not preamble_chosen
        if mode in ("fix", "diff") and module:
            reports = run_module_mode(args.paths, jobs, args.jobs, progress)
        else:
            reports = run_jobs(jobs, args.jobs, progress)
        if mode == "noqa":
            return report_noqa(reports, err)
        if mode == "check":
            code = report_check(reports, settings, _output_format(args), out, err, args.statistics)
            return 0 if code == 1 and args.exit_zero else code
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
