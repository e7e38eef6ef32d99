"""Module mode's file-system side, shared by the command line and the language server: find the
project around the fixed files, gather the layout facts engine/layout.py decides from, and write
the KeyMapper module (atomically, never over a file switcheroo did not write)."""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from switcheroo_lsp import __version__
from switcheroo_lsp.engine.layout import (
    MODULE_FILE,
    KeymapperModule,
    Layout,
    ProjectFacts,
    SourceFacts,
    how_it_runs,
    import_line,
    module_named,
    plan,
)
from switcheroo_lsp.engine.module_file import (
    ModuleState,
    is_keymapper_module,
    module_state,
    module_text,
)
from switcheroo_lsp.files import SourceError, read_source, write_atomic

PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")
_KEYMAPPER_IMPORT = re.compile(rb"^[ \t]*from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+KeyMapper\b", re.M)


def project_root(start: Path, walked: Sequence[Path] = ()) -> Path:
    """The nearest directory at or above ``start`` with a pyproject.toml, setup.py, setup.cfg or
    .git; when there is none, the walked directory (a ``switcheroo fix DIR`` argument, a
    workspace folder) holding ``start``, else ``start`` itself (a directory)."""
    start = Path(os.path.abspath(start))
    directory = start if start.is_dir() else start.parent
    for candidate in [directory, *directory.parents]:
        if any((candidate / marker).exists() for marker in PROJECT_MARKERS):
            return candidate
    holding = [Path(os.path.abspath(w)) for w in walked]
    holding = [w for w in holding if w == directory or w in directory.parents]
    return max(holding, key=lambda w: len(w.parts)) if holding else directory


def keymapper_module_text() -> str:
    """What switcheroo writes as a project's KeyMapper module."""
    from switcheroo_lsp.runtime import keymapper_source

    return module_text(keymapper_source(), __version__)


def _relative(path: Path, root: Path) -> PurePosixPath:
    return PurePosixPath(Path(os.path.abspath(path)).relative_to(root).as_posix())


def source_facts(path: Path, root: Path, text: str | None = None) -> SourceFacts:
    """A file's own imports and the module names beside it (an unreadable file: none)."""
    absolute: list[str] = []
    relative = False
    try:
        tree = ast.parse(text if text is not None else read_source(path))
    except (SourceError, OSError, SyntaxError, ValueError):
        tree = ast.Module(body=[], type_ignores=[])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            absolute.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                relative = True
            elif node.module:
                absolute.append(node.module)
    try:
        beside = os.listdir(Path(path).parent)
    except OSError:
        beside = []
    names = frozenset(
        name.removesuffix(".py") for name in beside if name.isidentifier() or name.endswith(".py")
    )
    return SourceFacts(_relative(path, root), tuple(absolute), relative, names)


def project_facts(root: Path, files: Iterable[PurePosixPath], configured: str = "") -> ProjectFacts:
    """Which directories around ``files`` are packages; a src/ layout; the configured module."""
    packages: set[PurePosixPath] = set()
    directories = {parent for f in files for parent in f.parents}
    configured_path = PurePosixPath(configured) if configured else None
    if configured_path is not None:
        directories |= set(configured_path.parents)
    for directory in directories:
        if directory != PurePosixPath(".") and (root / directory / "__init__.py").is_file():
            packages.add(directory)
    roots = (PurePosixPath("src"),) if (root / "src").is_dir() else ()
    return ProjectFacts(frozenset(packages), roots, configured_path)


@dataclass
class ModuleWork:
    """One project's module-mode plan: per-file import lines, and the modules to write."""

    root: Path
    layout: Layout
    states: dict[PurePosixPath, ModuleState] = field(default_factory=dict)
    first_party: tuple[str, ...] = ()  # what isort will count as the project's own modules

    def import_for(self, path: Path) -> str:
        """The import line for a fixed file ("" when it gets the KeyMapper inlined)."""
        entry = self.layout.imports.get(_relative(path, self.root))
        if entry is None or self.states.get(entry[0].path) is ModuleState.FOREIGN:
            return ""
        return entry[1]

    def blocked(self, path: Path) -> KeymapperModule | None:
        """The module a file would import if a user's own file did not sit at its path."""
        entry = self.layout.imports.get(_relative(path, self.root))
        if entry is not None and self.states.get(entry[0].path) is ModuleState.FOREIGN:
            return entry[0]
        return None


def plan_project(root: Path, files: Sequence[Path], configured: str = "") -> ModuleWork:
    """The module-mode plan for files to fix (and files already importing a missing module)."""
    relative = [_relative(f, root) for f in files]
    project = project_facts(root, relative, configured)
    layout = plan([source_facts(f, root) for f in files], project)
    work = ModuleWork(root, layout, first_party=first_party_names(root, layout.modules))
    wanted = keymapper_module_text()
    for module in layout.modules:
        work.states[module.path] = module_state(_read_if_any(root / module.path), wanted)
    return work


def first_party_names(root: Path, modules: Iterable[KeymapperModule] = ()) -> tuple[str, ...]:
    """Top-level names ruff's isort calls first party: modules and packages at the root and in
    src/ (its default ``src = [".", "src"]``), the KeyMapper modules about to be written too."""
    names: set[str] = set()
    for directory in (root, root / "src"):
        try:
            entries = os.listdir(directory)
        except OSError:
            continue
        for entry in entries:
            stem = entry.removesuffix(".py")
            if stem.isidentifier() and (entry.endswith(".py") or (directory / entry).is_dir()):
                names.add(stem)
    for module in modules:
        if module.base in (PurePosixPath("."), PurePosixPath("src")):
            names.add(module.name.split(".")[0])
    return tuple(sorted(names))


def existing_module_import(
    path: Path, text: str, configured: str = "", walked: Sequence[Path] = ()
) -> tuple[str, tuple[str, ...]] | None:
    """For one file (an editor's quick fix): the import of a KeyMapper module its project already
    has on disk, and isort's first-party names; None when there is none it can import.

    Looked for: the configured module; ``_keymapper.py`` in the file's directory and each one
    above it up to the project root; in the top-level packages the file imports (at the root
    and in src/). Only a module switcheroo wrote counts. ``walked``: the workspace folders."""
    root = project_root(path, walked)
    try:
        relative = _relative(path, root)
    except ValueError:
        return None
    source = source_facts(path, root, text)
    candidates: list[PurePosixPath] = []
    if configured:
        candidates.append(PurePosixPath(configured))
    else:
        candidates += [d / MODULE_FILE for d in relative.parents]
        for name in dict.fromkeys(n.split(".")[0] for n in source.absolute_imports):
            candidates += [
                PurePosixPath(name, MODULE_FILE),
                PurePosixPath("src", name, MODULE_FILE),
            ]
    project = project_facts(root, [relative, *candidates], configured)
    runs = how_it_runs(source, project)
    for candidate in candidates:
        on_disk = _read_if_any(root / candidate)
        if not on_disk or not is_keymapper_module(on_disk):
            continue
        module = module_named(candidate, [source], project)
        line = import_line(source, runs, module)
        if line is not None:
            return line, first_party_names(root)
    return None


def _read_if_any(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, UnicodeDecodeError):
        return ""  # something is there and it is not ours to replace


def missing_modules(root: Path, files: Iterable[Path]) -> set[PurePosixPath]:
    """Modules that files of the project import KeyMapper from (``from ..._keymapper import
    KeyMapper``) and that no longer exist (a user deleted one): fixing again recreates them."""
    found: set[PurePosixPath] = set()
    candidates = [Path(f) for f in files]
    relative = [_relative(f, root) for f in candidates]
    project = project_facts(root, relative)
    stem = MODULE_FILE.removesuffix(".py")
    for path, rel in zip(candidates, relative, strict=True):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if b"KeyMapper" not in data:
            continue
        for match in _KEYMAPPER_IMPORT.finditer(data):
            name = match.group(1).decode()
            if name.split(".")[-1] != stem:
                continue
            if name.startswith("."):
                level = len(name) - len(name.lstrip("."))
                kept = len(rel.parent.parts) - level + 1
                if kept < 0:
                    continue
                target = PurePosixPath(*rel.parent.parts[:kept], *name.lstrip(".").split("."))
            else:
                runs = how_it_runs(source_facts(path, root), project)
                target = runs.base.joinpath(*name.split("."))
            target = target.with_suffix(".py")
            if not (root / target).exists():
                found.add(target)
    return found


def write_module(target: Path) -> None:
    """Write (or update) one KeyMapper module; OSError when it cannot be written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, keymapper_module_text())


@dataclass
class ProjectRun:
    """Module mode over the files of one command-line run."""

    imports: dict[str, str] = field(default_factory=dict)  # file -> its import line
    first_party: dict[str, tuple[str, ...]] = field(default_factory=dict)  # file -> isort's
    blocked: dict[str, str] = field(default_factory=dict)  # file -> why it is not fixed
    notes: list[tuple[str, str]] = field(default_factory=list)  # (path, note)
    works: list[ModuleWork] = field(default_factory=list)
    recreate: list[tuple[Path, PurePosixPath]] = field(default_factory=list)


def prepare(
    fixable: Sequence[Path],
    others: Sequence[Path],
    configured: str = "",
    walked: Sequence[Path] = (),
) -> ProjectRun:
    """Plan module mode for the files to fix, per project; ``others``: the rest of the walked
    files, read for imports of a module that was deleted; ``walked``: the directories walked."""
    run = ProjectRun()
    by_root: dict[Path, list[Path]] = {}
    roots: dict[Path, Path] = {}
    for path in [*fixable, *others]:
        directory = Path(os.path.abspath(path)).parent
        if directory not in roots:
            roots[directory] = project_root(directory, walked)
        by_root.setdefault(roots[directory], [])
    for path in fixable:
        by_root[roots[Path(os.path.abspath(path)).parent]].append(path)
    for root, files in by_root.items():
        if files:
            work = plan_project(root, files, configured)
            run.works.append(work)
            for module_note in work.layout.notes:
                run.notes.append((str(root), module_note))
            for path in files:
                line = work.import_for(path)
                blocked = work.blocked(path)
                if blocked is not None:
                    run.blocked[str(path)] = (
                        f"not fixed: {root / blocked.path} exists and was not written by "
                        "switcheroo (never overwritten); set keymapper-module in "
                        "[tool.switcheroo] to another path, or use --preamble inline"
                    )
                elif line:
                    run.imports[str(path)] = line
                    run.first_party[str(path)] = work.first_party
        same_root = [p for p in others if roots[Path(os.path.abspath(p)).parent] == root]
        planned = {m.path for w in run.works if w.root == root for m in w.layout.modules}
        for target in sorted(missing_modules(root, same_root) - planned):
            run.recreate.append((root, target))
    return run


@dataclass(frozen=True)
class ModuleToWrite:
    """A KeyMapper module that the migrated files need, as it is on disk now."""

    path: Path
    state: ModuleState
    users: int  # migrated files importing it; 0: recreated for files that imported it already


def modules_needed(run: ProjectRun, changed: Iterable[str]) -> list[ModuleToWrite]:
    """The modules imported by files that changed, and deleted modules files still import."""
    changed = {os.path.abspath(path) for path in changed}
    needed: list[ModuleToWrite] = []
    for work in run.works:
        users: dict[PurePosixPath, int] = {}
        for source, (module, _) in work.layout.imports.items():
            if str(work.root / source) in changed:
                users[module.path] = users.get(module.path, 0) + 1
        for module in work.layout.modules:
            if users.get(module.path):
                state = work.states[module.path]
                needed.append(ModuleToWrite(work.root / module.path, state, users[module.path]))
    wanted = keymapper_module_text()
    for root, target in run.recreate:
        state = module_state(_read_if_any(root / target), wanted)
        needed.append(ModuleToWrite(root / target, state, 0))
    return needed


def finish(run: ProjectRun, changed: set[str], write: bool) -> list[tuple[str, str, str]]:
    """Write the modules whose files changed (``write``; else describe them as a diff); returns
    (path, "error" | "note" | "diff", text) for the shell to show."""
    import difflib

    out: list[tuple[str, str, str]] = []
    wanted = keymapper_module_text()
    todo = [(m.path, m.state, m.users) for m in modules_needed(run, changed)]
    for path, state, count in todo:
        who = (
            f"imported by {count} migrated file{'s' if count != 1 else ''}"
            if count
            else "recreated"
        )
        if state is ModuleState.CURRENT:
            continue
        if state is ModuleState.EDITED:
            out.append(
                (
                    str(path),
                    "note",
                    " the KeyMapper module was edited since switcheroo wrote it; left as is",
                )
            )
            continue
        if state is ModuleState.FOREIGN:
            out.append(
                (str(path), "error", "exists and was not written by switcheroo; not overwritten")
            )
            continue
        verb = (
            "would write" if not write else ("wrote" if state is ModuleState.MISSING else "updated")
        )
        if not write:
            old = _read_if_any(path) or ""
            diff = "".join(
                difflib.unified_diff(
                    old.splitlines(keepends=True),
                    wanted.splitlines(keepends=True),
                    fromfile="/dev/null" if state is ModuleState.MISSING else str(path),
                    tofile=str(path),
                )
            )
            out.append((str(path), "diff", diff))
        else:
            try:
                write_module(path)
            except OSError as exc:
                out.append(
                    (
                        str(path),
                        "error",
                        f"cannot write the KeyMapper module ({exc.strerror or exc}); the files importing it will fail",
                    )
                )
                continue
        out.append((str(path), "note", f" {verb} the KeyMapper module ({who})"))
    return out
