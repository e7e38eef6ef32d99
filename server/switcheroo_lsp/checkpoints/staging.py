"""All or nothing at --out: the output is made in a hidden folder beside it and renamed into
place once complete, so a failed, interrupted or killed run never leaves a checkpoint there
that looks complete. An existing --out is replaced only with --force, and only when it is an
earlier conversion (or an empty folder): other files are never deleted."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import TracebackType

from switcheroo_lsp.checkpoints.errors import CheckpointError
from switcheroo_lsp.runtime.keymapper import KeyMapper

MARKER = "SWITCHEROO-PARTIAL"  # in every staging folder: what says it is ours to remove


def staging_prefix(out: Path) -> str:
    return f".{out.name}.switcheroo-partial-"


class Staging:
    """``item`` is where the writer puts the checkpoint; ``commit()`` moves it to ``out``."""

    def __init__(self, out: Path, force: bool) -> None:
        self.out = out
        self.replaces = self._check_out(out, force)
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CheckpointError(f"{out.parent}: cannot create ({exc.strerror or exc})") from None
        self.stale = remove_stale(out)
        self.root = out.parent / f"{staging_prefix(out)}{os.getpid()}"
        try:
            self.root.mkdir()
            (self.root / MARKER).write_text(f"an unfinished `switcheroo convert` to {out}\n")
        except OSError as exc:
            raise CheckpointError(f"{out.parent}: cannot write ({exc.strerror or exc})") from None
        self.item = self.root / out.name

    @staticmethod
    def _check_out(out: Path, force: bool) -> bool:
        """Whether an existing --out is to be replaced; refuse when it may not be."""
        if not out.exists() and not out.is_symlink():
            return False
        if not force:
            raise CheckpointError(f"{out}: already exists (--force replaces an earlier conversion)")
        ours = out.is_dir() and not out.is_symlink()
        if ours and (
            KeyMapper._converted_info(os.fspath(out)) is not None or not any(out.iterdir())
        ):
            return True
        raise CheckpointError(
            f"{out}: exists and is not the output of `switcheroo convert`; not replacing it"
            " (choose another --out)"
        )

    def commit(self) -> None:
        """Move the finished checkpoint to --out (the earlier one, with --force, out of the
        way first), then remove the staging folder."""
        if self.replaces:
            os.replace(self.out, self.root / "replaced")
        os.replace(self.item, self.out)
        shutil.rmtree(self.root, ignore_errors=True)

    def discard(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Staging:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if kind is not None:
            self.discard()


def remove_stale(out: Path) -> list[Path]:
    """Staging folders a killed run left beside --out (ours: they hold the marker, and the
    process that made them is gone)."""
    removed: list[Path] = []
    if not out.parent.is_dir():
        return removed
    for folder in out.parent.glob(f"{staging_prefix(out)}*"):
        pid = folder.name.rsplit("-", 1)[-1]
        if not (folder / MARKER).is_file() or not pid.isdigit() or _alive(int(pid)):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # an earlier run of this very process (tests): finished, or it failed
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
