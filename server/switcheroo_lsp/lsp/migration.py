"""What migrating one document gives (its changes and what was skipped), for files and notebooks
alike, and the text a closed file is migrated from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..files import read_source
from .edits import DocumentChange


@dataclass(frozen=True)
class Migration:
    """A fix-all result for one document, or why there is none."""

    change: DocumentChange | None
    fixed: int
    skipped: list[dict[str, Any]]
    more: tuple[DocumentChange, ...] = ()  # a notebook's other changed cells
    notebook_uri: str | None = None  # set when the changes are a notebook's cells

    @property
    def document_uri(self) -> str:
        """The document (file or notebook) this migration is for."""
        if self.notebook_uri is not None:
            return self.notebook_uri
        return self.change.uri if self.change is not None else ""


def disk_text(path: Path, max_bytes: int | None) -> str:
    """A closed file's text as an editor would show it: bounded read (regular files only, see
    :func:`read_source`), and without a UTF-8 byte order mark, which editors hide from the
    document (positions must not count it, and an edit must not write it a second time)."""
    return read_source(path, max_bytes).removeprefix("\ufeff")
