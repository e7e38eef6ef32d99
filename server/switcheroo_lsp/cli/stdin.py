"""``--stdin-filename PATH``: the text comes from stdin (formatters and editors that pipe)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from switcheroo_lsp.cli.arguments import output_format
from switcheroo_lsp.cli.output.check import report_check
from switcheroo_lsp.cli.output.fix import report_fix
from switcheroo_lsp.cli.output.noqa import report_noqa
from switcheroo_lsp.cli.process import process_text
from switcheroo_lsp.cli.reports import FileReport, Job
from switcheroo_lsp.files import is_excluded
from switcheroo_lsp.settings import Settings


def read_stdin(stdin: TextIO | None) -> str:
    """The text piped in, line endings untouched (sys.stdin's text layer would translate them)."""
    if stdin is not None:
        return stdin.read()
    data = sys.stdin.buffer.read()
    text = data.decode("utf-8")  # UnicodeDecodeError: reported by the caller
    if "\0" in text:
        raise UnicodeDecodeError("utf-8", data, 0, 1, "NUL byte: not a text file")
    return text


def run_stdin(
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
        text = read_stdin(stdin)
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
            lambda _: settings,
            output_format(args),
            out,
            err,
            args.statistics,
            source_of=lambda path: text if path == name else None,
        )
        return 0 if code == 1 and args.exit_zero else code
    return report_fix([report], mode, out, err)  # writes to ``out`` only in diff mode
