"""Masking IPython syntax in a notebook cell takes linear time (issue 15, item 8).

A magic line followed by a long run of blanks made the ``x = !cmd`` regular expression backtrack
in cubic time (2,000 blanks: 6 s; 4,000: 39 s), blocking the server's engine thread. Each 1 MB
adversarial cell below (then a cell with a call) is scanned in a subprocess with a timeout: a hang fails the test.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switcheroo_lsp.engine.notebook import _assigned_magic

MEGABYTE = 1_000_000
CALL = "model.load_state_dict(torch.load(path))\n"

ADVERSARIAL_CELLS = {
    "magic line, then a line of blanks": "%pip install x\n" + " " * MEGABYTE + "\n" + CALL,
    "magic line, then blanks and tabs": "!ls\n" + " \t" * (MEGABYTE // 2) + "x\n" + CALL,
    "magic line, then a long target with no =": "%time\n" + "a " * (MEGABYTE // 2) + "\n" + CALL,
    "an assigned shell escape after a long target": "%env A=1\nx"
    + " " * MEGABYTE
    + "= !ls\n"
    + CALL,
    "help marks and blanks": "x?\n" + "? " * (MEGABYTE // 2) + "\n" + CALL,
}


@pytest.mark.parametrize("cell", ADVERSARIAL_CELLS.values(), ids=ADVERSARIAL_CELLS.keys())
def test_a_1_mb_adversarial_cell_is_scanned_in_linear_time(cell: str) -> None:
    script = (
        "import sys\n"
        "from switcheroo_lsp.engine.notebook import NotebookCell, scan_notebook\n"
        "cells = [NotebookCell(sys.stdin.read()), NotebookCell('model.load_state_dict(sd)')]\n"
        "found = scan_notebook(cells)\n"
        "print(sum(f.cell == 1 for f in found.findings))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=cell,
        capture_output=True,
        text=True,
        timeout=60,  # the old expression needs hours for 1 MB
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"  # the next cell's call, found as usual


# The expression it replaces, as the definition of which lines are ``target = !cmd``.
BACKTRACKING_DEFINITION = re.compile(r"^([ \t]*[\w.\[\]'\", ()]+?[ \t]*=[ \t]*)([%!].*)$")


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet=" \t=%!x._[](),'\"-?é", max_size=12))
def test_assigned_magic_finds_exactly_what_the_old_expression_did(line: str) -> None:
    match = BACKTRACKING_DEFINITION.match(line)
    assert _assigned_magic(line) == (match.groups() if match else None)


@pytest.mark.parametrize(
    ("line", "parts"),
    [
        ("files = !ls", ("files = ", "!ls")),
        ("out[0], t =%time f()", ("out[0], t =", "%time f()")),
        ("\tx = %who_ls", ("\tx = ", "%who_ls")),
        ("x == !ls", None),
        ("x = y % 2", None),
        ("= !ls", None),
    ],
)
def test_assigned_magic_splits_target_and_magic(line: str, parts: tuple[str, str] | None) -> None:
    assert _assigned_magic(line) == parts
