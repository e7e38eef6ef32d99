"""Unified diffs that ``git apply`` and ``patch`` accept and that give exactly the new text.

Lines are split where a patch splits them, at ``\\n`` only: a form feed, a lone ``\\r``, U+2028
or any other character Python's ``str.splitlines`` treats as a line break stays inside its line.
A side whose last line has no line break gets the ``\\ No newline at end of file`` marker.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator

NO_NEWLINE = "\\ No newline at end of file\n"


def patch_lines(text: str) -> list[str]:
    """``text`` cut after each ``\\n`` (the last piece may have none)."""
    lines = text.split("\n")
    pieces = [line + "\n" for line in lines[:-1]]
    if lines[-1]:
        pieces.append(lines[-1])
    return pieces


def _marked(diff: Iterator[str]) -> Iterator[str]:
    for line in diff:
        if line.endswith("\n"):
            yield line
        else:  # the last line of one side, without its line break
            yield line + "\n"
            yield NO_NEWLINE


def unified_diff(old: str, new: str, old_label: str, new_label: str) -> str:
    """The unified diff turning ``old`` into ``new`` (empty when they are equal)."""
    diff = difflib.unified_diff(
        patch_lines(old), patch_lines(new), fromfile=old_label, tofile=new_label
    )
    return "".join(_marked(diff))
