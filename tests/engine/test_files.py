"""Walking, reading and writing files for the command line and migrateWorkspace."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from switcheroo_lsp.files import SourceError, iter_python_files, read_source, write_atomic


def touch(path: Path, text: str = "x = 1\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def names(root: Path, exclude: tuple[str, ...] = ()) -> list[str]:
    return [p.relative_to(root).as_posix() for p in iter_python_files([root], exclude)]


def test_walks_python_files_in_sorted_order(tmp_path: Path) -> None:
    touch(tmp_path / "b.py")
    touch(tmp_path / "a.py")
    touch(tmp_path / "pkg" / "c.py")
    touch(tmp_path / "notes.txt")
    assert names(tmp_path) == ["a.py", "b.py", "pkg/c.py"]


@pytest.mark.parametrize(
    "skipped", [".git", ".venv", "venv", "node_modules", "__pycache__", ".tox", "site-packages"]
)
def test_skips_default_excluded_directories(tmp_path: Path, skipped: str) -> None:
    touch(tmp_path / skipped / "x.py")
    touch(tmp_path / "kept.py")
    assert names(tmp_path) == ["kept.py"]


def test_exclude_globs_match_names_and_relative_paths(tmp_path: Path) -> None:
    touch(tmp_path / "src" / "gen_1.py")
    touch(tmp_path / "src" / "keep.py")
    touch(tmp_path / "third_party" / "lib.py")
    assert names(tmp_path, ("gen_*.py", "third_party")) == ["src/keep.py"]
    assert names(tmp_path, ("src/*",)) == ["third_party/lib.py"]


def test_symlinks_out_of_the_tree_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    touch(outside / "secret.py")
    root = tmp_path / "root"
    touch(root / "a.py")
    (root / "linked_dir").symlink_to(outside, target_is_directory=True)
    (root / "linked_file.py").symlink_to(outside / "secret.py")
    assert names(root) == ["a.py"]


def test_symlinks_inside_the_tree_and_loops_yield_each_file_once(tmp_path: Path) -> None:
    touch(tmp_path / "pkg" / "a.py")
    (tmp_path / "pkg" / "loop").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "alias.py").symlink_to(tmp_path / "pkg" / "a.py")
    found = list(iter_python_files([tmp_path]))
    assert len({p.resolve() for p in found}) == len(found) == 1


def test_explicit_files_are_yielded_as_given(tmp_path: Path) -> None:
    script = touch(tmp_path / "script")
    assert list(iter_python_files([script])) == [script]


def test_read_source_keeps_line_endings(tmp_path: Path) -> None:
    path = tmp_path / "crlf.py"
    path.write_bytes(b"x = 1\r\ny = 2\r\n")
    assert read_source(path) == "x = 1\r\ny = 2\r\n"


def test_read_source_rejects_binary_files(tmp_path: Path) -> None:
    path = tmp_path / "blob.py"
    path.write_bytes(b"\x00\x01\x02load_state_dict")
    with pytest.raises(SourceError, match="binary"):
        read_source(path)


def test_read_source_rejects_non_utf8_with_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin.py"
    path.write_bytes(b"x = 1\ny = '\xe9'\n")
    with pytest.raises(SourceError, match=r"not valid UTF-8 .*line 2"):
        read_source(path)


def test_read_source_reports_missing_and_directories(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        read_source(tmp_path / "gone.py")
    with pytest.raises(SourceError, match="directory"):
        read_source(tmp_path)


def test_write_atomic_keeps_mode_and_bytes(tmp_path: Path) -> None:
    path = tmp_path / "run.py"
    path.write_text("old\n")
    os.chmod(path, 0o751)
    write_atomic(path, "new\r\nline é\r\n")
    assert path.read_bytes() == "new\r\nline é\r\n".encode()
    assert stat.S_IMODE(path.stat().st_mode) == 0o751
    assert [p.name for p in tmp_path.iterdir()] == ["run.py"]  # no temp file left


def test_write_atomic_writes_through_a_symlink(tmp_path: Path) -> None:
    target = touch(tmp_path / "real.py", "old\n")
    link = tmp_path / "link.py"
    link.symlink_to(target)
    write_atomic(link, "new\n")
    assert link.is_symlink() and target.read_text() == "new\n"


def test_write_atomic_failure_leaves_the_file_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = touch(tmp_path / "a.py", "old\n")

    def failing_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError):
        write_atomic(path, "new\n")
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.py"]


def test_skips_virtual_environments_whatever_their_name(tmp_path: Path) -> None:
    touch(tmp_path / "py311" / "lib" / "x.py")
    (tmp_path / "py311" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    touch(tmp_path / "conda_env" / "lib" / "y.py")
    (tmp_path / "conda_env" / "conda-meta").mkdir()
    touch(tmp_path / "kept.py")
    assert names(tmp_path) == ["kept.py"]
