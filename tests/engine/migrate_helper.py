"""How the rewrite tables run a snippet through fix-all: the KeyMapper is imported in a header so
the tables show only the rewritten lines, and every result must parse."""

from __future__ import annotations

import ast

from switcheroo_lsp.engine import apply_edits, fix_all
from switcheroo_lsp.settings import Settings

HEADER = "from switcheroo_lsp.runtime import KeyMapper\n\n"


def migrate(body: str, **settings: object) -> str:
    """``body`` after fix-all with ``settings`` (editor names), the header taken off again."""
    text = HEADER + body
    result = fix_all(text, Settings.from_dict(settings)[0])
    assert result.error is None, result.error
    out = apply_edits(text, result.edits)
    ast.parse(out)
    assert out.startswith(HEADER)
    return out[len(HEADER) :]
