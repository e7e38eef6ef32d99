"""Module mode: where a project's one KeyMapper module goes, and how each fixed file imports it.

Pure: the shell gathers the facts (which directories hold ``__init__.py``, whether the project has
a ``src/`` directory, each file's own imports and the module names beside it); paths are relative
to the project root. How a file runs decides what it can import:

- a module of a package (``pkg/train.py`` with ``pkg/__init__.py``, run as ``python -m pkg.train``,
  imported by pytest or installed) has the directory above its top package on ``sys.path``: it
  imports ``from pkg._keymapper import KeyMapper``, or ``from ._keymapper import KeyMapper`` when
  it already imports its siblings relatively;
- under ``src/`` the ``src`` directory is that entry (a ``src`` layout, installed or on the path);
  a directory without ``__init__.py`` is a namespace package when it lies under ``src/`` or when
  the file imports itself by its dotted path or relatively;
- a script (``python scripts/train.py``, or a test collected by pytest from a folder without
  ``__init__.py``) has its own directory first on ``sys.path``: it imports
  ``from _keymapper import KeyMapper`` from a module beside it, or the package module when the
  script already imports that package (then the package is importable wherever the script runs).

The default place is the nearest common package of the fixed package files; scripts it cannot
serve get one module per script folder (a script folder sees nothing else without ``sys.path``
edits). A configured ``keymapper-module`` serves every file that can import it; a file that cannot
is reported and gets the module of its own folder.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

MODULE_FILE = "_keymapper.py"
ROOT = PurePosixPath(".")


@dataclass(frozen=True)
class SourceFacts:
    """What a fixed file says about how it runs, from its own text and its directory."""

    path: PurePosixPath  # relative to the project root
    absolute_imports: tuple[str, ...] = ()  # dotted names of its absolute imports
    relative_imports: bool = False  # `from . import x` / `from .x import y`
    local_names: frozenset[str] = frozenset()  # modules and directories beside the file


@dataclass(frozen=True)
class ProjectFacts:
    """The layout around the fixed files."""

    package_dirs: frozenset[PurePosixPath]  # directories holding __init__.py
    source_roots: tuple[PurePosixPath, ...] = ()  # `src` when the project has a src/ directory
    configured: PurePosixPath | None = None  # keymapper-module, relative to the root


@dataclass(frozen=True)
class Runs:
    """How a file is run: the sys.path entry it is imported from, and its dotted package."""

    base: PurePosixPath
    package: str  # "" for a script (its own directory is `base`)


@dataclass(frozen=True)
class KeymapperModule:
    """One KeyMapper module: its file, and its dotted name from the sys.path entry ``base``."""

    path: PurePosixPath
    base: PurePosixPath
    name: str

    @property
    def package(self) -> str:
        """The dotted package holding the module ("" beside scripts)."""
        return self.name.rpartition(".")[0]


@dataclass(frozen=True)
class Layout:
    """The modules to write and, for every file they serve, its import line."""

    modules: tuple[KeymapperModule, ...]
    imports: dict[PurePosixPath, tuple[KeymapperModule, str]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def _dotted(directory: PurePosixPath, base: PurePosixPath) -> str:
    return ".".join(directory.relative_to(base).parts)


def _is_identifier_path(name: str) -> bool:
    return all(part.isidentifier() for part in name.split("."))


def how_it_runs(source: SourceFacts, project: ProjectFacts) -> Runs:
    """The sys.path entry and package of a file, read from the layout and its own imports."""
    directory = source.path.parent
    top_names = {name.split(".")[0] for name in source.absolute_imports}
    base = directory
    if directory in project.package_dirs:
        base = directory.parent
        while base in project.package_dirs and base != ROOT:
            base = base.parent
    # namespace levels (no __init__.py) above: a source root, or the file's own dotted imports
    for root in project.source_roots:
        if root in base.parents:
            base = root
    for ancestor in base.parents:
        candidate = _dotted(directory, ancestor)
        if any(n == candidate or n.startswith(candidate + ".") for n in source.absolute_imports):
            base = ancestor
            break
    if base == directory and source.relative_imports and directory != ROOT:
        base = ROOT  # relative imports only work in a package: run as `python -m a.b.c`
    own_package = _dotted(directory, base) if base != directory else ""
    # `from models import Net` where models.py lies beside the file: run from its own directory
    own_top = own_package.split(".")[0]
    if own_package and top_names & source.local_names - {own_top} and not source.relative_imports:
        return Runs(directory, "")
    if not _is_identifier_path(own_package or "_"):
        return Runs(directory, "")
    return Runs(base, own_package)


def import_line(source: SourceFacts, runs: Runs, module: KeymapperModule) -> str | None:
    """The import of ``module`` that works for ``source`` run as ``runs`` says, or None."""
    if not _is_identifier_path(module.name):
        return None
    if runs.base == module.base:
        same_top = runs.package and runs.package.split(".")[0] == module.name.split(".")[0]
        if same_top and source.relative_imports:
            here = runs.package.split(".")
            there = module.name.split(".")
            common = 0
            while common < min(len(here), len(there) - 1) and here[common] == there[common]:
                common += 1
            dots = "." * (len(here) - common + 1)
            return f"from {dots}{'.'.join(there[common:])} import KeyMapper"
        if runs.package or module.base == source.path.parent:
            return f"from {module.name} import KeyMapper"
        return None
    top = module.name.split(".")[0]
    imported = {name.split(".")[0] for name in source.absolute_imports}
    if module.package and top in imported:
        return f"from {module.name} import KeyMapper"  # importable wherever the file already runs
    return None


def _module_at(directory: PurePosixPath, base: PurePosixPath) -> KeymapperModule:
    stem = MODULE_FILE.removesuffix(".py")
    package = _dotted(directory, base) if directory != base else ""
    return KeymapperModule(directory / MODULE_FILE, base, f"{package}.{stem}" if package else stem)


def module_named(
    path: PurePosixPath, sources: Sequence[SourceFacts], project: ProjectFacts
) -> KeymapperModule:
    """The name a module at ``path`` is imported by: like a file in its directory (a fixed file
    there lends its namespace-package evidence)."""
    neighbours = [s for s in sources if s.path.parent == path.parent]
    runs = how_it_runs(neighbours[0] if neighbours else SourceFacts(path), project)
    package = runs.package
    stem = path.stem
    return KeymapperModule(path, runs.base, f"{package}.{stem}" if package else stem)


def _common_directory(directories: Sequence[PurePosixPath]) -> PurePosixPath:
    parts = [d.parts for d in directories]
    common: list[str] = []
    for names in zip(*parts, strict=False):
        if len(set(names)) != 1:
            break
        common.append(names[0])
    return PurePosixPath(*common) if common else ROOT


def _package_module(
    members: Sequence[tuple[SourceFacts, Runs]], project: ProjectFacts
) -> KeymapperModule:
    """The module for package files sharing one sys.path entry: their nearest common package;
    under a namespace directory (or the entry itself), the package holding most of them."""
    base = members[0][1].base
    directories = [s.path.parent for s, _ in members]
    common = _common_directory(directories)
    if common != base and (common in project.package_dirs or any(d == common for d in directories)):
        return _module_at(common, base)
    depth = len(common.parts) if common != ROOT else 0
    children = Counter(PurePosixPath(*d.parts[: depth + 1]) for d in directories)
    chosen = sorted(children.items(), key=lambda item: (-item[1], str(item[0])))[0][0]
    return _module_at(chosen, base)


def plan(sources: Sequence[SourceFacts], project: ProjectFacts) -> Layout:
    """Where the KeyMapper module(s) go for these files, and each file's import line."""
    runs = {s.path: how_it_runs(s, project) for s in sources}
    for current in sources:
        path = current.path
        bare = {n.split(".")[0] for n in current.absolute_imports} & current.local_names
        if not runs[path].package and not bare:  # a package member beside it tells
            for other in sources:
                if other.path.parent == path.parent and runs[other.path].package:
                    runs[path] = runs[other.path]
                    break
    modules: list[KeymapperModule] = []
    notes: list[str] = []
    if project.configured is not None:
        modules.append(module_named(project.configured, sources, project))
    else:
        by_base: dict[PurePosixPath, list[tuple[SourceFacts, Runs]]] = {}
        for source in sources:
            if runs[source.path].package:
                by_base.setdefault(runs[source.path].base, []).append((source, runs[source.path]))
        for base in sorted(by_base, key=lambda b: (-len(by_base[b]), str(b))):
            modules.append(_package_module(by_base[base], project))
    imports: dict[PurePosixPath, tuple[KeymapperModule, str]] = {}
    unserved: list[SourceFacts] = []
    for source in sources:
        for module in modules:
            line = import_line(source, runs[source.path], module)
            if line is not None:
                imports[source.path] = (module, line)
                break
        else:
            unserved.append(source)
    folders: dict[PurePosixPath, KeymapperModule] = {}
    for source in unserved:
        directory, how = source.path.parent, runs[source.path]
        if directory not in folders:
            folders[directory] = _module_at(directory, how.base)
            modules.append(folders[directory])
        module = folders[directory]
        line = import_line(source, how, module)
        if line is None:  # not importable at all (a directory name that is no identifier)
            notes.append(f"{source.path}: no module can serve it; the KeyMapper is inlined")
            continue
        if project.configured is not None:
            notes.append(
                f"{source.path}: cannot import {project.configured} when run as "
                f"{_run_command(source, how)}; it imports {module.path}"
            )
        imports[source.path] = (module, line)
    used = {module for module, _ in imports.values()}
    return Layout(tuple(m for m in modules if m in used), imports, tuple(notes))


def _run_command(source: SourceFacts, runs: Runs) -> str:
    if runs.package:
        return f"python -m {runs.package}.{source.path.stem}"
    return f"python {source.path}"
