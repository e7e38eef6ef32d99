"""``python -m switcheroo_lsp.cli``: the ``switcheroo`` command without its console script."""

from __future__ import annotations

import sys

from switcheroo_lsp.cli.entry import main

if __name__ == "__main__":
    sys.exit(main())
