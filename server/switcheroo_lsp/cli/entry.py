"""``switcheroo``: parse the command line, settle the settings, run the command, print its results."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable
from typing import TextIO

from switcheroo_lsp.cli.arguments import build_parser, flag_overrides, output_format
from switcheroo_lsp.cli.configuration import (
    FileJob,
    config_problems,
    file_jobs,
    given_configs,
    walk,
)
from switcheroo_lsp.cli.module_mode import run_module_mode
from switcheroo_lsp.cli.output.check import report_check
from switcheroo_lsp.cli.output.fix import report_fix
from switcheroo_lsp.cli.output.noqa import report_noqa
from switcheroo_lsp.cli.pool import run_jobs
from switcheroo_lsp.cli.progress import Progress
from switcheroo_lsp.cli.rule import print_rule
from switcheroo_lsp.cli.stdin import run_stdin
from switcheroo_lsp.config import ConfigFile, ConfigFinder
from switcheroo_lsp.settings import PreambleMode, Settings


def _stopped_by(problems: list[str], err: TextIO) -> bool:
    """Write each problem of the configuration; True when there is any (the run stops, exit 2)."""
    for problem in problems:
        err.write(f"switcheroo: error: {problem}\n")
    return bool(problems)


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
    finder = ConfigFinder(flag_overrides(args), read_files=not args.no_config)
    named = [args.stdin_filename] if args.stdin_filename is not None else args.paths
    configs = given_configs(named, finder)
    if _stopped_by(config_problems(finder, configs), err):
        return 2
    if args.jobs < 1:
        err.write("switcheroo: error: --jobs must be at least 1\n")
        return 2
    if args.command == "check":
        mode = "noqa" if args.add_noqa else "check"
    else:
        mode = "diff" if args.diff else "fix"
    if args.stdin_filename is not None:
        return run_stdin(args, mode, finder.settings_for(configs[0])[0], stdin, out, err)
    missing = [p for p in args.paths if not p.exists() and not p.is_symlink()]
    for path in missing:
        err.write(f"switcheroo: error: {path}: no such file or directory\n")
    if missing:
        return 2
    try:
        files = walk(args.paths, finder, args.force_exclude)
        planned = file_jobs(files, mode, finder, args.max_file_size)
        nested = {id(p.config): p.config for p in planned}.values()  # tables below the paths
        if _stopped_by(config_problems(finder, nested), err):
            return 2
        by_path = {p.job.path: p.job.settings for p in planned}
        default = finder.settings_for(configs[0] if configs else ConfigFile())[0]

        def settings_of(path: str) -> Settings:
            return by_path.get(path, default)

        def module_mode(p: FileJob) -> bool:
            preamble_chosen = args.preamble is not None or p.config.sets("preamble")
            return p.job.settings.preamble is PreambleMode.MODULE or not preamble_chosen

        progress_on = not args.quiet and err.isatty()
        if mode in ("fix", "diff"):
            in_module = [p.job for p in planned if module_mode(p)]
            inline = [p.job for p in planned if not module_mode(p)]
        else:
            in_module, inline = [], [p.job for p in planned]
        reports = []
        if in_module:
            progress = Progress(len(in_module), err, enabled=progress_on)
            reports += run_module_mode(args.paths, in_module, args.jobs, progress)
        if inline or not in_module:
            reports += run_jobs(inline, args.jobs, Progress(len(inline), err, enabled=progress_on))
        if mode == "noqa":
            return report_noqa(reports, err)
        if mode == "check":
            fmt = output_format(args)
            code = report_check(reports, settings_of, fmt, out, err, args.statistics)
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
