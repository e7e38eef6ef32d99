"""Engine edits (code-point offsets) -> LSP text edits and workspace edits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lsprotocol import types

from ..engine.model import Edit
from .capabilities import ClientSupport
from .positions import Encoding, LineIndex


@dataclass(frozen=True)
class DocumentChange:
    """Edits for one document, in offsets of ``text`` (the text they were computed from)."""

    uri: str
    version: int | None  # the open document's version; None for a file that is not open
    text: str
    edits: Sequence[Edit]
    index: LineIndex | None = None  # a line index of ``text`` if one is at hand


def text_edits(
    text: str, edits: Sequence[Edit], encoding: Encoding, index: LineIndex | None = None
) -> list[types.TextEdit]:
    """LSP text edits for engine edits made against ``text`` (``index``: a line index of it)."""
    if index is None or index.text is not text:
        index = LineIndex(text)
    return [
        types.TextEdit(range=index.range(edit.start, edit.end, encoding), new_text=edit.new_text)
        for edit in edits
    ]


def workspace_edit(
    support: ClientSupport, changes: Sequence[DocumentChange]
) -> types.WorkspaceEdit:
    """One workspace edit; versioned ``TextDocumentEdit``s when the client supports them.

    A versioned edit is refused by the client if the document moved on since it was computed,
    which is how an action computed for an older version never lands on a newer text.
    """
    if support.document_changes:
        return types.WorkspaceEdit(
            document_changes=[
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(
                        uri=change.uri, version=change.version
                    ),
                    edits=list(
                        text_edits(change.text, change.edits, support.encoding, change.index)
                    ),
                )
                for change in changes
            ]
        )
    return types.WorkspaceEdit(
        changes={
            change.uri: text_edits(change.text, change.edits, support.encoding, change.index)
            for change in changes
        }
    )
