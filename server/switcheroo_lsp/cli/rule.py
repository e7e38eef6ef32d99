"""``switcheroo rule CODE``: a rule's documentation."""

from __future__ import annotations

import argparse
from typing import TextIO

from switcheroo_lsp.engine.rules import RULES, rule_markdown


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
