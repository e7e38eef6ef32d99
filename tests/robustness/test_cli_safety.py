"""`switcheroo fix` never corrupts a file and never leaves the tree it was given.

Writes are atomic: whatever fails (creating the temp file, writing, syncing, the final rename, an
interrupt), the original is intact byte for byte, no temp file is left behind, and the user gets
one clear line. Symlinks out of the tree are not followed; bad files (invalid UTF-8, binary,
latin-1, FIFOs) are reported and left alone while the rest of the run goes on.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from switcheroo_lsp import cli

MODEL = "import torch\n\n\ndef restore(model, ckpt):\n    model.load_state_dict(ckpt['model'])\n"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (links not followed) with its bytes."""
    return {
        str(p.relative_to(root)): (p.read_bytes() if not p.is_symlink() else b"-> link")
        for p in sorted(root.rglob("*"))
        if p.is_file() or p.is_symlink()
    }


def _fail_replace(*args: object) -> None:
    raise OSError(28, "No space left on device")


def _fail_fsync(*args: object) -> None:
    raise OSError(5, "Input/output error")


def _fail_mkstemp(*args: object, **kwargs: object) -> None:
    raise PermissionError(13, "Permission denied")


def _interrupt(*args: object) -> None:
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("target", "replacement", "message", "code"),
    [
        (os, ("replace", _fail_replace), "No space left on device", 2),
        (os, ("fsync", _fail_fsync), "Input/output error", 2),
        (tempfile, ("mkstemp", _fail_mkstemp), "Permission denied", 2),
        (os, ("replace", _interrupt), "interrupted", 130),
    ],
    ids=["rename fails", "fsync fails", "no temp file possible", "interrupted"],
)
def test_a_failed_write_leaves_the_original_intact_and_no_temp_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    target: object,
    replacement: tuple[str, object],
    message: str,
    code: int,
) -> None:
    script = tmp_path / "train.py"
    script.write_text(MODEL)
    other = tmp_path / "other.py"
    other.write_text(MODEL.replace("restore", "reload"))
    before = snapshot(tmp_path)
    monkeypatch.setattr(target, *replacement)
    exit_code, _, err = run("fix", "-j", "1", str(tmp_path))
    assert exit_code == code
    assert snapshot(tmp_path) == before  # originals intact, nothing left beside them
    assert message in err
    assert "Traceback" not in err
    if code == 2:
        assert "left untouched" in err


def test_fix_keeps_permissions_line_endings_and_symlinked_files_as_links(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    script = tree / "run.py"
    script.write_bytes(MODEL.replace("\n", "\r\n").encode())
    script.chmod(0o751)
    (tree / "alias.py").symlink_to("run.py")
    code, _, err = run("fix", str(tree))
    assert code == 0, err
    data = script.read_bytes()
    assert b"KeyMapper.from_torch(" in data
    assert data.count(b"\n") == data.count(b"\r\n")
    assert script.stat().st_mode & 0o777 == 0o751
    assert (tree / "alias.py").is_symlink()
    assert "Migrated 1 call in 1 file" in err  # the link and its target are one file


def test_symlinks_out_of_the_tree_are_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.py").write_text(MODEL)
    (outside / "pkg").mkdir()
    (outside / "pkg" / "deep.py").write_text(MODEL)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "own.py").write_text(MODEL)
    (tree / "file_link.py").symlink_to(outside / "victim.py")
    (tree / "dir_link").symlink_to(outside / "pkg", target_is_directory=True)
    (tree / "parent_link").symlink_to(tmp_path, target_is_directory=True)
    (tree / "loop").symlink_to(tree, target_is_directory=True)
    before = snapshot(outside)
    code, _, err = run("fix", str(tree))
    assert code == 0, err
    assert snapshot(outside) == before
    assert "KeyMapper.from_torch(" in (tree / "own.py").read_text()
    assert "Migrated 1 call in 1 file" in err


BAD_FILES = {
    "invalid_utf8.py": b"model.load_state_dict(sd)  # caf\xe9\n",
    "binary.py": b"\x7fELF\x02\x01\x01\x00\x00\x00model.load_state_dict(sd)\x00\xff",
    "latin1.py": "# -*- coding: latin-1 -*-\nmodel.load_state_dict(sd)  # café\n".encode("latin-1"),
    "utf16.py": "model.load_state_dict(sd)\n".encode("utf-16"),
}


def test_bad_files_are_reported_left_alone_and_do_not_stop_the_run(tmp_path: Path) -> None:
    for name, data in BAD_FILES.items():
        (tmp_path / name).write_bytes(data)
    good = tmp_path / "good.py"
    good.write_text(MODEL)
    os.mkfifo(tmp_path / "pipe.py")  # reading it would block forever
    # a subprocess, as a user runs it, with a timeout: a hang fails the test
    done = subprocess.run(
        [sys.executable, "-m", "switcheroo_lsp.cli", "fix", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    for name, data in BAD_FILES.items():
        assert (tmp_path / name).read_bytes() == data
        assert f"{tmp_path / name}: error:" in done.stderr
    assert "not valid UTF-8 (byte 0xe9 on line 1)" in done.stderr
    assert "binary file" in done.stderr
    assert "KeyMapper.from_torch(" in good.read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_check_of_a_bad_file_given_by_name(tmp_path: Path) -> None:
    bad = tmp_path / "invalid_utf8.py"
    bad.write_bytes(BAD_FILES["invalid_utf8.py"])
    code, out, err = run("check", str(bad))
    assert code == 2
    assert out == ""
    assert f"{bad}: error: not valid UTF-8" in err
