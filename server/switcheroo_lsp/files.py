"""File-system side shared by the command line and the language server's migrateWorkspace:
which files to look at, how to read them, how to write them back safely."""

from __future__ import annotations

import contextlib
import fnmatch
import os
import re
import stat
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from switcheroo_lsp.settings import DEFAULT_EXCLUDE

PYTHON_SUFFIXES = (".py", ".pyi", ".ipynb")  # notebooks: the CLI hands them to ipynb.py


class SourceError(Exception):
    """A file that cannot be read as Python source text: unreadable, binary, not UTF-8."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class _Excluder:
    """Matches a path when its name, or its path relative to the walked root (or a parent
    directory of it), matches one of the globs; all globs compiled into one regex."""

    def __init__(self, patterns: Sequence[str]) -> None:
        cleaned = [_normalized(p) for p in patterns if _normalized(p)]
        self._names = re.compile("|".join(fnmatch.translate(p) for p in cleaned) or "(?!)")
        self._paths = re.compile(
            "|".join(fnmatch.translate(p) + "|" + fnmatch.translate(p + "/*") for p in cleaned)
            or "(?!)"
        )

    def __call__(self, relative: str, name: str) -> bool:
        return bool(self._names.match(name) or self._paths.match(relative))


def _normalized(pattern: str) -> str:
    """A glob as paths relative to the walked root are written: ``./pkg1/`` is ``pkg1``."""
    pattern = pattern.strip().replace(os.sep, "/")
    while pattern.startswith("./"):
        pattern = pattern[2:].lstrip("/")
    return pattern.rstrip("/")


def _is_environment(directory: str) -> bool:
    """A virtual environment (whatever its name) or a conda environment: installed code, not yours."""
    return os.path.exists(os.path.join(directory, "pyvenv.cfg")) or os.path.isdir(
        os.path.join(directory, "conda-meta")
    )


def iter_python_files(
    paths: Iterable[Path], exclude: Sequence[str] = (), *, force_exclude: bool = False
) -> Iterator[Path]:
    """Python files under ``paths``, sorted per directory; skips DEFAULT_EXCLUDE and ``exclude``
    globs, never leaves a walked tree through a symlink, and yields each real file once. Files
    given explicitly are always yielded (whatever their name), unless ``force_exclude`` applies
    the ``exclude`` globs to them too (as pre-commit, which names every file, needs)."""
    excluded = _Excluder((*DEFAULT_EXCLUDE, *exclude))
    seen: set[str] = set()  # real paths (plain strings: pathlib costs more than the walk)
    for given in paths:
        given = Path(given)
        if not given.is_dir():
            real = os.path.realpath(given)
            if real not in seen and not (force_exclude and is_excluded(given, Path.cwd(), exclude)):
                seen.add(real)
                yield given
            continue
        root = os.path.realpath(given)
        root_prefix = root.rstrip(os.sep) + os.sep
        seen.add(root)
        # (path as walked, its real path, its path relative to `given` with a trailing "/")
        stack: list[tuple[str, str, str]] = [(str(given), root, "")]
        while stack:
            directory, real_directory, relative_directory = stack.pop()
            try:
                with os.scandir(directory) as scanned:
                    entries = sorted(scanned, key=lambda e: e.name)
            except OSError:
                continue  # unreadable directory: nothing to yield
            subdirectories = []
            for entry in entries:
                name = entry.name
                relative = relative_directory + name
                if excluded(relative, name):
                    continue
                try:
                    is_link = entry.is_symlink()
                    is_dir = entry.is_dir()  # follows links
                    is_file = not is_dir and entry.is_file()
                except OSError:
                    continue
                if is_link:
                    real = os.path.realpath(entry.path)
                    if real != root and not real.startswith(root_prefix):
                        continue  # never out of the tree
                else:
                    real = os.path.join(real_directory, name)
                if real in seen:
                    continue
                if is_dir:
                    seen.add(real)
                    if not _is_environment(entry.path):
                        subdirectories.append((entry.path, real, relative + "/"))
                elif is_file and name.endswith(PYTHON_SUFFIXES):
                    seen.add(real)
                    yield Path(entry.path)
            stack.extend(reversed(subdirectories))


def read_source(path: Path) -> str:
    """The text of a Python file, line endings untouched; SourceError with a readable reason."""
    try:
        data = Path(path).read_bytes()
    except IsADirectoryError:
        raise SourceError(path, "is a directory") from None
    except FileNotFoundError:
        raise SourceError(path, "no such file") from None
    except PermissionError:
        raise SourceError(path, "permission denied") from None
    except OSError as exc:
        raise SourceError(path, f"cannot read ({exc.strerror or exc})") from None
    if b"\0" in data[:8192]:
        raise SourceError(path, "binary file (contains NUL bytes), skipped")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SourceError(
            path, f"not valid UTF-8 (byte 0x{data[exc.start]:02x} on line {line}), skipped"
        ) from None


def write_atomic(path: Path, text: str) -> None:
    """Replace a file's content in one step: a temp file beside it, then ``os.replace``.

    Keeps the file's permission bits, writes the text's line breaks exactly as given, and writes
    through a symlink to its target rather than replacing the link.
    """
    target = Path(os.path.realpath(path))
    try:
        mode: int | None = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = None
    handle, temp_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
    )
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(text.encode("utf-8", "surrogatepass"))
            stream.flush()
            os.fsync(stream.fileno())
        if mode is not None:
            os.chmod(temp_name, mode)
        os.replace(temp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise


def is_excluded(path: Path, root: Path | None, exclude: Sequence[str] = ()) -> bool:
    """True when ``iter_python_files([root], exclude)`` would not reach ``path``: a component
    matches DEFAULT_EXCLUDE or ``exclude``, or lies in a virtual environment. The editor asks this
    about an open document; without a root (a file outside the workspace) the whole path counts."""
    excluded = _Excluder((*DEFAULT_EXCLUDE, *exclude))
    path = Path(os.path.abspath(path))
    base = Path(os.path.abspath(root)) if root is not None else Path(path.anchor)
    try:
        parts = path.relative_to(base).parts
    except ValueError:
        base, parts = Path(path.anchor), path.relative_to(path.anchor).parts
    relative = ""
    for index, name in enumerate(parts):
        relative = f"{relative}/{name}" if relative else name
        if excluded(relative, name):
            return True
        if index < len(parts) - 1 and _is_environment(str(base / relative)):
            return True
    return False
