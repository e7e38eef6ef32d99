"""How the CLI tests run `switcheroo` in-process and write their input files."""

from __future__ import annotations

import io
from pathlib import Path

from switcheroo_lsp import cli


def run(*argv: str) -> tuple[int, str, str]:
    """``switcheroo ARGV...`` in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def write(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) at ``path``, creating its folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
