"""`switcheroo fix` and the file system: no lost update, no lost metadata, no split hard link,
no write without permission, no exclusion bypassed through a symlink, no unbounded read.

Each test reproduces one defect of issue 15 (items 3, 4, 5 and 9) on a real file system.
"""

from __future__ import annotations

import io
import os
import resource
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import switcheroo_lsp.engine
from switcheroo_lsp import cli
from switcheroo_lsp.files import SourceError, iter_python_files, read_source, write_atomic

MODEL = "import torch\n\n\ndef restore(model, ckpt):\n    model.load_state_dict(ckpt['model'])\n"
OTHER_UID = 4242  # an owner that is not the user running the tests
NOBODY = 65534

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown and to drop to nobody")


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


# -- 3. a save while fix runs ---------------------------------------------------------------------


def test_a_file_saved_while_fix_runs_is_left_as_saved_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "train.py"
    script.write_text(MODEL)
    saved_meanwhile = MODEL + "print('saved by the user while switcheroo ran')\n"
    real_fix_all = switcheroo_lsp.engine.fix_all

    def fix_all_then_user_saves(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        result = real_fix_all(*args, **kwargs)  # type: ignore[arg-type]
        script.write_text(saved_meanwhile)  # between switcheroo's read and its write
        return result

    monkeypatch.setattr(switcheroo_lsp.engine, "fix_all", fix_all_then_user_saves)
    code, _, err = run("fix", "-j", "1", str(script))
    assert script.read_text() == saved_meanwhile
    assert code == 2
    assert "changed on disk since switcheroo read it" in err
    assert "Traceback" not in err


def test_write_atomic_refuses_a_file_that_no_longer_holds_the_original(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text("newer\n")
    with pytest.raises(OSError, match="changed on disk"):
        write_atomic(script, "migrated\n", original="older\n")
    assert script.read_text() == "newer\n"


# -- 4. owner, group, mode, xattrs, hard links, permission --------------------------------------


@as_root
def test_fix_as_root_keeps_another_users_owner_group_and_mode(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(MODEL)
    os.chown(script, OTHER_UID, OTHER_UID)
    script.chmod(0o640)
    code, _, err = run("fix", str(script))
    assert code == 0, err
    info = script.stat()
    assert "KeyMapper.from_torch(" in script.read_text()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (OTHER_UID, OTHER_UID, 0o640)


def test_fix_keeps_extended_attributes(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(MODEL)
    try:
        os.setxattr(script, "user.origin", b"downloaded")
    except OSError:
        pytest.skip("this file system has no user extended attributes")
    code, _, err = run("fix", str(script))
    assert code == 0, err
    assert "KeyMapper.from_torch(" in script.read_text()
    assert os.getxattr(script, "user.origin") == b"downloaded"


def test_fix_of_a_hard_linked_file_changes_every_name(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(MODEL)
    other_name = tmp_path / "elsewhere.txt"
    os.link(script, other_name)
    inode = script.stat().st_ino
    code, _, err = run("fix", str(script))
    assert code == 0, err
    assert "KeyMapper.from_torch(" in script.read_text()
    assert other_name.read_text() == script.read_text()  # still one file
    assert script.stat().st_ino == inode
    assert not [
        p for p in tmp_path.iterdir() if "switcheroo-backup" in p.name or p.suffix == ".tmp"
    ]


@as_root
def test_a_read_only_file_is_not_rewritten_by_a_user_who_cannot_write_it() -> None:
    # The directory is writable by everyone (replacing the file would be allowed); the file is
    # 0444, so its owner may not change it. Run as `nobody` (the effective user, in this process).
    directory = Path(tempfile.mkdtemp(prefix="switcheroo-perm-"))
    try:
        directory.chmod(0o777)
        script = directory / "train.py"
        script.write_text(MODEL)
        os.chown(script, NOBODY, NOBODY)
        script.chmod(0o444)
        os.seteuid(NOBODY)
        try:
            code, _, err = run("fix", "-j", "1", str(script))
        finally:
            os.seteuid(0)
        assert script.read_text() == MODEL
        assert code == 2, err
        assert (
            "cannot write (permission denied (the file is read-only to you)); left untouched" in err
        )
        assert [p.name for p in directory.iterdir()] == ["train.py"]
    finally:
        for path in directory.iterdir():
            path.unlink()
        directory.rmdir()


# -- 5. exclusions through symlinks -----------------------------------------------------------------


def test_a_symlink_into_an_excluded_folder_is_excluded(tmp_path: Path) -> None:
    installed = tmp_path / ".venv" / "lib" / "site-packages" / "pkg"
    installed.mkdir(parents=True)
    (installed / "mod.py").write_text(MODEL)
    environment = tmp_path / "env"  # a virtual environment by its pyvenv.cfg, whatever its name
    (environment / "lib").mkdir(parents=True)
    (environment / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (environment / "lib" / "other.py").write_text(MODEL)
    (tmp_path / "generated").mkdir()
    (tmp_path / "generated" / "out.py").write_text(MODEL)
    (tmp_path / "own.py").write_text(MODEL)
    (tmp_path / "mod_link.py").symlink_to(installed / "mod.py")
    (tmp_path / "pkg_link").symlink_to(installed, target_is_directory=True)
    (tmp_path / "env_link").symlink_to(environment / "lib", target_is_directory=True)
    (tmp_path / "out_link.py").symlink_to(tmp_path / "generated" / "out.py")

    found = sorted(p.name for p in iter_python_files([tmp_path], ["generated"]))
    assert found == ["own.py"]
    code, _, err = run("fix", "--exclude", "generated", str(tmp_path))
    assert code == 0, err
    assert (installed / "mod.py").read_text() == MODEL
    assert (environment / "lib" / "other.py").read_text() == MODEL
    assert (tmp_path / "generated" / "out.py").read_text() == MODEL


# -- 9. stat first, regular files only, bounded reads -----------------------------------------------


@pytest.mark.parametrize("command", ["check", "fix"])
def test_a_fifo_given_by_name_is_refused_without_blocking(tmp_path: Path, command: str) -> None:
    fifo = tmp_path / "pipe.py"
    os.mkfifo(fifo)
    done = subprocess.run(
        [sys.executable, "-m", "switcheroo_lsp.cli", command, str(fifo)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert f"{fifo}: error: is a FIFO (named pipe), not a regular file" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/stdin", "/dev/null"])
def test_a_device_is_not_read(device: str) -> None:
    if not os.path.exists(device):
        pytest.skip(f"no {device} here")
    with pytest.raises(SourceError, match="not a regular file"):
        read_source(Path(device))


def test_a_4_gb_sparse_file_with_max_file_size_is_skipped_from_its_size(tmp_path: Path) -> None:
    (tmp_path / "small.py").write_text(MODEL)
    huge = tmp_path / "huge.py"
    with huge.open("wb") as stream:
        stream.truncate(4 * 1024**3)  # sparse: 4 GB of size, no disk used
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    done = subprocess.run(
        [sys.executable, "-m", "switcheroo_lsp.cli", "check", "--max-file-size", "1000000"]
        + [str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert "larger than --max-file-size" in done.stderr
    assert "Traceback" not in done.stderr and "MemoryError" not in done.stderr
    assert peak_kib < 300 * 1024 or peak_kib == before  # a normal run, not 4 GB
    print(f"RSS with a 4 GB file in the tree: {peak_kib / 1024:.0f} MiB")


def test_read_source_never_reads_past_the_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.py"
    big.write_bytes(b"x = 1\n" * 100_000)
    with pytest.raises(SourceError, match="larger than the size limit"):
        read_source(big, max_bytes=1000)
