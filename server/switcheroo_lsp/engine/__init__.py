"""The migration engine: pure functions over source text (no LSP, no I/O).

``scan`` finds ``load_state_dict`` calls, ``fix`` / ``fix_all`` turn model calls into
``KeyMapper.from_torch`` edits, ``apply_edits`` applies them, ``explain`` words a finding.
"""

from switcheroo_lsp.engine.explain import explain
from switcheroo_lsp.engine.rewrite import fix, fix_all
from switcheroo_lsp.engine.scan import scan
from switcheroo_lsp.engine.text import apply_edits

__all__ = ["apply_edits", "explain", "fix", "fix_all", "scan"]
