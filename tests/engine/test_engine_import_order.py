"""The module-mode import joins the file's import block in isort order (engine/import_order.py):
before/after tables, each result checked by ruff's own isort rule (I001)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from switcheroo_lsp.engine.import_order import sorted_insertion

ABSOLUTE = "from pkg._keymapper import KeyMapper"
RELATIVE = "from ._keymapper import KeyMapper"

CASES = {
    "among the package's own imports, sorted": (
        "import torch\n\nfrom pkg.data import load\nfrom pkg.models import Net\n",
        ABSOLUTE,
        "import torch\n\nfrom pkg._keymapper import KeyMapper\nfrom pkg.data import load\n"
        "from pkg.models import Net\n",
    ),
    "after `import pkg`: straight imports come first": (
        "import pkg\nfrom pkg.models import Net\n",
        ABSOLUTE,
        "import pkg\nfrom pkg._keymapper import KeyMapper\nfrom pkg.models import Net\n",
    ),
    "a first-party section of its own after the third-party one": (
        "import os\n\nimport torch\n",
        ABSOLUTE,
        "import os\n\nimport torch\n\nfrom pkg._keymapper import KeyMapper\n",
    ),
    "a first-party section of its own before the relative imports": (
        "import torch\n\nfrom .models import Net\n",
        ABSOLUTE,
        "import torch\n\nfrom pkg._keymapper import KeyMapper\n\nfrom .models import Net\n",
    ),
    "a relative import among relative imports": (
        "import torch\n\nfrom .. import config\nfrom .models import Net\n",
        RELATIVE,
        "import torch\n\nfrom .. import config\nfrom ._keymapper import KeyMapper\n"
        "from .models import Net\n",
    ),
    "the comment over the next import stays with it": (
        "import torch\n\nfrom pkg.data import load\n\n# the network\nfrom pkg.models import Net\n",
        "from pkg.extra import KeyMapper",
        "import torch\n\nfrom pkg.data import load\nfrom pkg.extra import KeyMapper\n\n"
        "# the network\nfrom pkg.models import Net\n",
    ),
    "above the comment over the first import of the section": (
        "import torch\n\n# the network\nfrom pkg.models import Net\n",
        ABSOLUTE,
        "import torch\n\nfrom pkg._keymapper import KeyMapper\n\n# the network\n"
        "from pkg.models import Net\n",
    ),
    "a script's module is third party to isort": (
        "import sys\n\nimport torch\nfrom torchvision import models\n",
        "from _keymapper import KeyMapper",
        "import sys\n\nimport torch\nfrom _keymapper import KeyMapper\nfrom torchvision import models\n",
    ),
    "CRLF line breaks are kept": (
        "import torch\r\n\r\nfrom pkg.models import Net\r\n",
        ABSOLUTE,
        "import torch\r\n\r\nfrom pkg._keymapper import KeyMapper\r\nfrom pkg.models import Net\r\n",
    ),
}


RUFF = ["ruff", "check", "--isolated", "--select", "I"]
RUFF += ["--config", "lint.isort.known-first-party = ['pkg']"]


def insert(before: str, line: str) -> str:
    newline = "\r\n" if "\r\n" in before else "\n"
    start, end, text = sorted_insertion(before, len(before), line, newline, ("pkg",))
    return before[:start] + text + before[end:]


@pytest.mark.parametrize(("before", "line", "after"), CASES.values(), ids=CASES.keys())
def test_insertion(before: str, line: str, after: str) -> None:
    assert insert(before, line) == after


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed")
@pytest.mark.parametrize(("before", "line", "after"), CASES.values(), ids=CASES.keys())
def test_ruff_isort_accepts_the_result(before: str, line: str, after: str) -> None:
    newline = "\r\n" if "\r\n" in before else "\n"
    tail = newline + "print(Net, KeyMapper)" + newline
    original = subprocess.run(
        [*RUFF, "--stdin-filename", "pkg/mod.py", "-"],
        input=before + tail,
        capture_output=True,
        text=True,
        check=False,
    )
    assert original.returncode == 0, original.stdout  # the case starts from a sorted block
    source = insert(before, line) + tail
    done = subprocess.run(
        [*RUFF, "--stdin-filename", "pkg/mod.py", "-"],
        input=source,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout


def test_a_guarded_import_block_is_left_as_it_is() -> None:
    before = "try:\n    import apex\nexcept ImportError:\n    apex = None\n"
    assert sorted_insertion(before, len(before), ABSOLUTE, "\n") == (
        len(before),
        len(before),
        ABSOLUTE + "\n",
    )
