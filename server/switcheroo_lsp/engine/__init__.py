"""The migration engine: pure functions over source text (no LSP, no I/O).

``scan`` finds ``load_state_dict`` calls, ``fix`` / ``fix_all`` turn model calls into
``KeyMapper.from_torch`` edits, ``apply_edits`` applies them, ``explain`` words a finding.
The rewriter (and libcst, a third of a second to import) loads on first use, so a
``switcheroo check`` or a diagnostics-only server never pays for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from switcheroo_lsp.engine.explain import explain
from switcheroo_lsp.engine.scan import scan
from switcheroo_lsp.engine.text import apply_edits

if TYPE_CHECKING:
    from switcheroo_lsp.engine.rewrite import fix, fix_all

__all__ = ["apply_edits", "explain", "fix", "fix_all", "scan"]


def __getattr__(name: str) -> Any:
    if name in ("fix", "fix_all"):
        from switcheroo_lsp.engine import rewrite

        return getattr(rewrite, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
