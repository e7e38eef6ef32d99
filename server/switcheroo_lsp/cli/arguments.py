"""The command line's grammar: the parser, its flag types, and the settings the flags set."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from switcheroo_lsp import __version__
from switcheroo_lsp.cli.output.check import FORMATS
from switcheroo_lsp.engine.rules import RULES
from switcheroo_lsp.settings import assignment_name

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
        choices=FORMATS,
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


def flag_overrides(args: argparse.Namespace) -> dict[str, Any]:
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


def output_format(args: argparse.Namespace) -> str:
    if args.output_format is not None:
        return str(args.output_format)
    return "json" if args.format == "json" else "concise"
