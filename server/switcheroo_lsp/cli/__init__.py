"""The command line: ``switcheroo check|fix|rule [PATHS...]``, a thin shell over the engine.

Exit codes: 0 nothing to migrate (``fix``: everything fixable was fixed), 1 migration sites found
(``fix``: calls left for manual migration; ``fix --diff``: changes pending), 2 a file could not be
read or parsed, or the command line was wrong. Interrupted: 130.

One job per module: ``arguments`` (the parser), ``entry`` (settings and dispatch), ``process`` and
``notebooks`` (one file's work), ``pool`` and ``progress`` (running many), ``module_mode``,
``stdin``, ``rule``; ``output/`` renders the results, one module per format.
"""

from __future__ import annotations

from switcheroo_lsp.cli.entry import main

__all__ = ["main"]
