"""Lines `switcheroo fix DIR` adds to a project: inline copies vs one KeyMapper module.

Run: python benchmarks/bench_module_mode.py [--files N]. Builds two projects in a temp directory:
the tests/corpus files (realistic training scripts, one flat folder) and a generated tree of
packages (every directory has __init__.py; 5% of the modules load checkpoints), fixes each with
`--preamble inline` and with the default module mode, and prints lines added, files changed and
KeyMapper copies. No assertions.
"""

from __future__ import annotations

import argparse
import difflib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_cli import make_tree  # noqa: E402

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "corpus"


def snapshot(root: Path) -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for p in root.rglob("*.py")}


def added_lines(before: dict[Path, str], after: dict[Path, str]) -> tuple[int, int, int]:
    """(lines added, lines removed, files changed or created), as a unified diff counts them."""
    added = removed = files = 0
    for path, text in after.items():
        old = before.get(path, "")
        if old == text:
            continue
        files += 1
        for line in difflib.unified_diff(old.splitlines(), text.splitlines(), lineterm="", n=0):
            if line.startswith("+") and not line.startswith("+++"):
                added += 1
            elif line.startswith("-") and not line.startswith("---"):
                removed += 1
    return added, removed, files


def measure(source: Path, preamble: list[str]) -> str:
    with tempfile.TemporaryDirectory() as temp:
        project = Path(temp) / "project"
        shutil.copytree(source, project)
        (project / "pyproject.toml").write_text("[project]\nname = 'bench'\n")
        before = snapshot(project)
        subprocess.run(
            [sys.executable, "-m", "switcheroo_lsp.cli", "fix", "-q", *preamble, "."],
            cwd=project,
            capture_output=True,
            check=False,
        )
        after = snapshot(project)
        added, removed, files = added_lines(before, after)
        copies = sum("class KeyMapper" in text for text in after.values())
        return f"+{added} -{removed} lines in {files} files, {copies} KeyMapper source(s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=400)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        tree = Path(temp) / "tree"
        make_tree(tree, args.files, 150, 0.05)
        for directory in [tree, *(p for p in tree.rglob("*") if p.is_dir())]:
            (directory / "__init__.py").touch()
        corpus = Path(temp) / "corpus"
        shutil.copytree(CORPUS, corpus, ignore=shutil.ignore_patterns("*.json", "*.toml"))
        for name, source in (("tests/corpus", corpus), (f"{args.files}-module packages", tree)):
            print(f"{name}:")
            print(f"  --preamble inline: {measure(source, ['--preamble', 'inline'])}")
            print(f"  module (default):  {measure(source, [])}")


if __name__ == "__main__":
    main()
