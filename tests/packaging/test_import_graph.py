"""The package's modules import each other in one direction only: no import circles.

The graph is read from the source with ``ast``, not by importing: every ``import`` counts, at
module level, inside functions (deferred imports) and under ``if TYPE_CHECKING:`` alike, since a
circle that only type checkers or a late call walk is still two modules that each need the other.
An edge goes to the module an import names (``from pkg import name`` to ``pkg.name`` when that is a
module, else to ``pkg``); the parent packages Python runs on the way are not edges.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

import switcheroo_lsp

PACKAGE_DIR = Path(switcheroo_lsp.__file__).parent
PACKAGE = PACKAGE_DIR.name


def module_files(package_dir: Path) -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name, for __init__)."""
    modules = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def imported_modules(module: str, path: Path, modules: Mapping[str, Path]) -> Iterator[str]:
    """The package's modules that ``module`` imports, relative imports resolved: ``from a import
    b`` is ``a.b`` when that is a module, else ``a``; ``import a.b`` is the longest module named."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                prefixes = [alias.name.rsplit(".", n)[0] for n in range(alias.name.count(".") + 1)]
                yield next((name for name in prefixes if name in modules), "")
        elif isinstance(node, ast.ImportFrom):
            origin = node.module or ""
            if node.level:
                base = module.split(".")
                drop = node.level - 1 if is_package else node.level
                origin = ".".join(base[: len(base) - drop] + ([origin] if origin else []))
            for alias in node.names:
                if f"{origin}.{alias.name}" in modules:
                    yield f"{origin}.{alias.name}"
                elif origin in modules:
                    yield origin


def import_graph(modules: Mapping[str, Path]) -> dict[str, set[str]]:
    """Module -> the package's modules it imports."""
    return {
        module: set(imported_modules(module, path, modules)) - {module, ""}
        for module, path in modules.items()
    }


def find_cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """One import circle as a path that ends where it starts, or None when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_the_package_has_no_import_cycles():
    graph = import_graph(module_files(PACKAGE_DIR))
    assert f"{PACKAGE}.lsp.server" in graph  # the walk found the package
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize(
    ("files", "cycle"),
    [
        (
            {"pkg/__init__.py": "", "pkg/a.py": "from . import b\n", "pkg/b.py": ""},
            None,
        ),
        (
            {
                "pkg/__init__.py": "",
                "pkg/a.py": "from .b import thing\n",
                "pkg/b.py": "def f():\n    from .a import other\n",
            },
            ["pkg.a", "pkg.b", "pkg.a"],
        ),
        (
            {
                "pkg/__init__.py": "",
                "pkg/a.py": "from pkg.sub.c import x\n",
                "pkg/sub/__init__.py": "",
                "pkg/sub/c.py": (
                    "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..a import y\n"
                ),
            },
            ["pkg.a", "pkg.sub.c", "pkg.a"],
        ),
        (  # a package's __init__ re-exporting its modules is not a circle with them
            {
                "pkg/__init__.py": "from pkg.a import x\n",
                "pkg/a.py": "from pkg import b\n",
                "pkg/b.py": "",
            },
            None,
        ),
        (  # but a module taking a name from its package's __init__ that imports it is
            {
                "pkg/__init__.py": "from .a import x\nVALUE = 1\n",
                "pkg/a.py": "from . import VALUE\n",
            },
            ["pkg", "pkg.a", "pkg"],
        ),
    ],
)
def test_the_cycle_finder(tmp_path: Path, files: dict[str, str], cycle: list[str] | None):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert find_cycle(import_graph(module_files(tmp_path / "pkg"))) == cycle
