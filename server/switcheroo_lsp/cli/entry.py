"""``switcheroo``: parse the command line, settle the settings, run the command, print its results."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from switcheroo_lsp.cli.arguments import build_parser, flag_overrides, output_format
from switcheroo_lsp.cli.module_mode import run_module_mode
from switcheroo_lsp.cli.output.check import report_check
from switcheroo_lsp.cli.output.fix import report_fix
from switcheroo_lsp.cli.output.noqa import report_noqa
from switcheroo_lsp.cli.pool import jobs_for, run_jobs
from switcheroo_lsp.cli.progress import Progress
from switcheroo_lsp.cli.rule import print_rule
from switcheroo_lsp.cli.stdin import run_stdin
from switcheroo_lsp.config import ConfigFile, find_config, merge_settings
from switcheroo_lsp.files import iter_python_files
from switcheroo_lsp.settings import PreambleMode


def _as_error(problem: str) -> str:
    """A settings problem worded for the command line, which stops at it (the server goes on
    with the default, and says so)."""
    return problem.replace("; using the default", "").replace("' ignored", "'")


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
    config = ConfigFile() if args.no_config else find_config(Path.cwd())
    settings, setting_problems = merge_settings(config.table, flag_overrides(args))
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
        return run_stdin(args, mode, settings, stdin, out, err)
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
        jobs = jobs_for(files, mode, settings, args.max_file_size)
        preamble_chosen = args.preamble is not None or "preamble" in config.table
        module = settings.preamble is PreambleMode.MODULE or not preamble_chosen
        if mode in ("fix", "diff") and module:
            reports = run_module_mode(args.paths, jobs, args.jobs, progress)
        else:
            reports = run_jobs(jobs, args.jobs, progress)
        if mode == "noqa":
            return report_noqa(reports, err)
        if mode == "check":
            code = report_check(reports, settings, output_format(args), out, err, args.statistics)
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
