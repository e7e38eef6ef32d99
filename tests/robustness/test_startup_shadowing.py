"""Started from a project folder that shadows the standard library, the server and the CLI run
none of the project's files (issue 15, item 13), in the forms the README documents.

``python -m`` puts the working directory first on ``sys.path`` before the interpreter imports
``runpy`` and, through it, ``importlib.util``, ``types``, ``functools``, ``collections``,
``contextlib``, ``warnings``, ``operator``, ``keyword`` and ``reprlib``: no code of this package
runs before those imports, so only the interpreter can keep them out. ``python -P -m`` (Python
3.11+, or ``PYTHONSAFEPATH=1``) and the console scripts never put the folder on the path.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SHADOWING = [
    "warnings",
    "types",
    "collections",
    "functools",
    "contextlib",
    "operator",
    "keyword",
    "reprlib",
    "enum",
    "re",
    "logging",
    "argparse",
]


def shadowing_project(root: Path) -> None:
    """Modules (and an ``importlib/`` package) that leave a marker file when executed."""
    for name in SHADOWING:
        (root / f"{name}.py").write_text(f"open({str(root / ('RAN_' + name))!r}, 'w').close()\n")
    (root / "importlib").mkdir()
    (root / "importlib" / "__init__.py").write_text(
        f"open({str(root / 'RAN_importlib')!r}, 'w').close()\n"
    )
    (root / "train.py").write_text("model.load_state_dict(sd)\n")


@pytest.mark.skipif(sys.version_info < (3, 11), reason="-P is new in Python 3.11")
@pytest.mark.parametrize(
    "argv",
    [
        ["-P", "-m", "switcheroo_lsp", "--version"],
        ["-P", "-m", "switcheroo_lsp.cli", "check", "train.py"],
    ],
    ids=["server", "cli"],
)
def test_the_safe_form_runs_no_file_of_the_folder_it_starts_in(
    tmp_path: Path, argv: list[str]
) -> None:
    shadowing_project(tmp_path)
    done = subprocess.run(
        [sys.executable, *argv],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONSAFEPATH": ""},
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode in (0, 1), done.stderr
    assert sorted(p.name for p in tmp_path.glob("RAN_*")) == []
