"""File-system side shared by the command line and the language server's migrateWorkspace:
which files to look at, how to read them, how to write them back safely."""

from __future__ import annotations

import contextlib
import errno
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
    globs, never leaves a walked tree through a symlink, applies the exclusions to where a
    symlink leads as well as to its own name, and yields each real file once. Files given
    explicitly are always yielded (whatever their name), unless ``force_exclude`` applies the
    ``exclude`` globs to them too (as pre-commit, which names every file, needs)."""
    excluded = _Excluder((*DEFAULT_EXCLUDE, *exclude))
    seen: set[str] = set()  # real paths (plain strings: pathlib costs more than the walk)
    for given in paths:
        given = Path(given)
        if not given.is_dir():
            real = os.path.realpath(given)
            explicit = _Excluder(exclude)
            skip = force_exclude and (
                is_excluded(given, Path.cwd(), exclude)
                or explicit(str(given), given.name)
                or explicit(real, os.path.basename(real))
            )
            if real not in seen and not skip:
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
                    if is_excluded(Path(real), Path(root), exclude):
                        continue  # a link into .venv (or any excluded folder) is excluded too
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


def read_source(path: Path, max_bytes: int | None = None) -> str:
    """The text of a Python file, line endings untouched; SourceError with a readable reason.

    Looks before it reads: only a regular file is opened for reading (a FIFO, a device such as
    ``/dev/zero`` or ``/dev/stdin``, a socket is refused without blocking), and a file larger than
    ``max_bytes`` is refused from its size alone. The read itself is bounded too, so a file that
    grows while it is read cannot take the memory with it.
    """
    data = read_bytes_bounded(path, max_bytes)
    if b"\0" in data[:8192]:
        raise SourceError(path, "binary file (contains NUL bytes), skipped")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SourceError(
            path, f"not valid UTF-8 (byte 0x{data[exc.start]:02x} on line {line}), skipped"
        ) from None


def _kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_bytes_bounded(path: Path, max_bytes: int | None = None) -> bytes:
    """A regular file's bytes (at most ``max_bytes``), or SourceError: stat first, then read."""
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise SourceError(path, "is a directory")
        if not stat.S_ISREG(info.st_mode):
            raise SourceError(path, f"is {_kind(info.st_mode)}, not a regular file; skipped")
        if max_bytes is not None and info.st_size > max_bytes:
            raise SourceError(
                path, f"{info.st_size} bytes is larger than the size limit ({max_bytes} bytes)"
            )
        # O_NONBLOCK: a FIFO swapped in after the stat cannot block the open.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(descriptor, "rb") as stream:
            opened = os.fstat(stream.fileno())
            if not stat.S_ISREG(opened.st_mode):
                raise SourceError(path, f"is {_kind(opened.st_mode)}, not a regular file; skipped")
            limit = max_bytes if max_bytes is not None else opened.st_size
            data = stream.read(limit + 1)
    except FileNotFoundError:
        raise SourceError(path, "no such file") from None
    except PermissionError:
        raise SourceError(path, "permission denied") from None
    except IsADirectoryError:
        raise SourceError(path, "is a directory") from None
    except OSError as exc:
        raise SourceError(path, f"cannot read ({exc.strerror or exc})") from None
    if max_bytes is not None and len(data) > max_bytes:
        raise SourceError(path, f"larger than the size limit ({max_bytes} bytes)")
    return data


class WriteRefused(OSError):
    """A write switcheroo will not make (the file moved on, no permission); ``strerror`` says
    why, so every caller that reports ``OSError.strerror`` tells the user."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message)


def _current_bytes(target: Path, original: str | None) -> bytes:
    """The file's bytes now; WriteRefused when they are no longer ``original``'s."""
    data = target.read_bytes()
    if original is not None and data != original.encode("utf-8", "surrogatepass"):
        raise WriteRefused(
            errno.EAGAIN,
            "changed on disk since switcheroo read it, so the newer version was kept; "
            "run switcheroo again",
        )
    return data


def _check_writable(target: Path) -> None:
    """WriteRefused unless this user may open the file itself for writing (opening without
    truncating changes nothing)."""
    try:
        os.close(os.open(target, os.O_WRONLY | getattr(os, "O_NONBLOCK", 0)))
    except PermissionError:
        raise WriteRefused(
            errno.EACCES, "permission denied (the file is read-only to you)"
        ) from None


def _copy_metadata(source: os.stat_result, target: Path, temp_name: str) -> bool:
    """Give the new file the old one's owner, group, mode and extended attributes (ACLs are
    extended attributes); False when any of it cannot be copied."""
    try:
        temp_info = os.stat(temp_name)
        if (temp_info.st_uid, temp_info.st_gid) != (source.st_uid, source.st_gid):
            os.chown(temp_name, source.st_uid, source.st_gid)
        os.chmod(temp_name, stat.S_IMODE(source.st_mode))
        if hasattr(os, "listxattr"):
            for name in os.listxattr(target):
                os.setxattr(temp_name, name, os.getxattr(target, name))
    except OSError:
        return False
    return True


def write_atomic(path: Path, text: str, original: str | None = None) -> None:
    """Replace a file's content safely, or raise OSError (WriteRefused) and leave it alone.

    * ``original``: the text the new one was computed from. If the file no longer holds it (a
      save while switcheroo ran), nothing is written: the newer file wins.
    * Write permission is the file's own: a file the user cannot open for writing is refused,
      even when the directory would allow replacing it.
    * Usually a temp file beside it, then ``os.replace`` (a reader sees the old or the new file,
      never half of one), with the old file's owner, group, mode and extended attributes.
    * When the new inode could not be identical (a hard-linked file, or an owner or attribute
      that cannot be copied), the content is written in place instead, so every name and all
      metadata stay: first a backup copy is written and read back, then the file is rewritten;
      if that fails, the backup is put back (or its name is in the error).
    * Writes through a symlink to its target; writes the text's line breaks exactly as given.
    """
    target = Path(os.path.realpath(path))
    data = text.encode("utf-8", "surrogatepass")
    try:
        before: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        if original is not None:
            raise WriteRefused(
                errno.ENOENT, "deleted since switcheroo read it; not recreated"
            ) from None
        before = None
    if before is not None:
        _check_writable(target)
    if before is not None:
        _current_bytes(target, original)
    handle, temp_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
    )
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        if before is not None and (
            before.st_nlink > 1 or not _copy_metadata(before, target, temp_name)
        ):
            os.unlink(temp_name)
            _write_in_place(target, data, original)
            return
        if before is not None:
            _current_bytes(target, original)  # the last look, just before the switch
        os.replace(temp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise


def _write_in_place(target: Path, data: bytes, original: str | None) -> None:
    """Rewrite ``target``'s content on the same inode, after a verified backup."""
    old = _current_bytes(target, original)
    handle, backup = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".switcheroo-backup", dir=target.parent
    )
    with os.fdopen(handle, "wb") as stream:
        stream.write(old)
        stream.flush()
        os.fsync(stream.fileno())
    if Path(backup).read_bytes() != old:
        os.unlink(backup)
        raise WriteRefused(errno.EIO, "could not verify a backup copy; left untouched")
    try:
        with open(target, "r+b") as stream:  # opening for writing: the file's own permission
            stream.write(data)
            stream.truncate()
            stream.flush()
            os.fsync(stream.fileno())
    except BaseException as error:
        try:
            with open(target, "r+b") as stream:
                stream.write(old)
                stream.truncate()
                stream.flush()
                os.fsync(stream.fileno())
        except OSError:
            raise WriteRefused(
                errno.EIO, f"write failed ({error}); the original is kept in {backup}"
            ) from error
        os.unlink(backup)
        raise
    os.unlink(backup)


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
