"""Where one new import goes in a file's import block so that isort order holds (ruff's I001 with
its defaults): sections future, standard library, third party, first party, local (relative);
within a section ``import x`` before ``from x import y``, each sorted by lowercased module name;
relative imports furthest first. One blank line between sections.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Sequence

_FUTURE, _STDLIB, _THIRD_PARTY, _FIRST_PARTY, _LOCAL = range(5)


def _order(node: ast.Import | ast.ImportFrom, first_party: frozenset[str]) -> tuple:
    """The sort key isort gives a statement: (section, straight-or-from, names)."""
    if isinstance(node, ast.ImportFrom):
        if node.level:
            return (_LOCAL, 1, -node.level, (node.module or "").lower())
        module = node.module or ""
        kind = 1
    else:
        module = node.names[0].name
        kind = 0
    top = module.split(".")[0]
    if top == "__future__":
        section = _FUTURE
    elif top in first_party:
        section = _FIRST_PARTY
    elif top in sys.stdlib_module_names:
        section = _STDLIB
    else:
        section = _THIRD_PARTY
    return (section, kind, 0, module.lower())


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


def sorted_insertion(
    text: str, block_end: int, line: str, newline: str, first_party: Sequence[str] = ()
) -> tuple[int, int, str]:
    """(start, end, new_text) inserting ``line`` into the import block that ends at
    ``block_end``, in isort order; at ``block_end`` when the block is no plain import run."""
    fallback = (block_end, block_end, line + newline)
    bom = 1 if text.startswith("\ufeff") else 0
    head = text[bom:block_end]
    try:
        body = ast.parse(head).body
        new = ast.parse(line).body[0]
    except (SyntaxError, ValueError):
        return fallback
    block: list[ast.Import | ast.ImportFrom] = []
    for node in reversed(body):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            break
        block.insert(0, node)
    if not block or not isinstance(new, ast.Import | ast.ImportFrom):
        return fallback
    lines = head.splitlines(keepends=True)
    starts = _line_starts(head)
    ends = [node.end_lineno or node.lineno for node in block]
    if any(a.lineno <= b for a, b in zip(block[1:], ends, strict=False)):
        return fallback  # two statements on one line: leave the block's shape alone
    known = frozenset(first_party)
    mine = _order(new, known)
    keys = [_order(node, known) for node in block]

    def before(i: int) -> tuple[int, str]:
        """Offset of statement i's first line, above the comments written right over it, and
        the line break that ends the new line (isort sets such comments off by a blank line)."""
        first = block[i].lineno - 1
        floor = ends[i - 1] if i else 0
        while first > floor and lines[first - 1].lstrip().startswith("#"):
            first -= 1
        commented = first < block[i].lineno - 1
        return bom + starts[first], newline * (2 if commented else 1)

    def after(i: int) -> int:
        return bom + starts[ends[i]]

    following = next((i for i, key in enumerate(keys) if key > mine), None)
    if following is not None and keys[following][0] == mine[0]:
        if following and keys[following - 1][0] == mine[0]:  # the comments stay with `following`
            at, new_text = after(following - 1), line + newline
        else:
            at, end = before(following)
            new_text = line + end
    else:
        previous = (following if following is not None else len(keys)) - 1
        if previous >= 0 and keys[previous][0] == mine[0]:
            at, new_text = after(previous), line + newline
        elif previous >= 0:  # a section of its own after the previous one
            at, new_text = after(previous), newline + line + newline
        else:  # a section of its own before the first
            at, _ = before(0)
            new_text = line + newline + newline
    return at, at, new_text
