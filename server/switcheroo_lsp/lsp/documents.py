"""Open documents whose lines are LSP lines.

pygls splits documents with ``str.splitlines``, which also breaks at form feeds, ``\\x1c``-``\\x1e``,
``\\x85`` and U+2028/U+2029. LSP lines end at ``\\n``, ``\\r\\n`` and ``\\r`` only, so an incremental
change after a form feed (legal, and common in old Python files) would land on the wrong line and
every later range would be off by one. These subclasses apply changes with :class:`LineIndex`.
"""

from __future__ import annotations

from collections.abc import Sequence

from lsprotocol import types
from pygls.workspace import TextDocument, Workspace

from .positions import Encoding, LineIndex, split_lines


class LspTextDocument(TextDocument):
    """A pygls text document that counts lines and applies changes the way LSP clients do."""

    _line_index: LineIndex | None = None

    @property
    def encoding(self) -> Encoding:
        """The negotiated position encoding."""
        return Encoding.parse(self.position_codec.encoding)

    @property
    def line_index(self) -> LineIndex:
        """A line index of the current text, rebuilt only when the text changed."""
        source = self.source
        index = self._line_index
        if index is None or index.text is not source:
            index = self._line_index = LineIndex(source)
        return index

    @property
    def lines(self) -> Sequence[str]:
        return tuple(split_lines(self.source))

    def _apply_incremental_change(self, change: types.TextDocumentContentChangePartial) -> None:
        index = self.line_index
        start, end = index.offset_range(change.range, self.encoding)
        source = index.text
        self._source = source[:start] + change.text + source[end:]


class LspWorkspace(Workspace):
    """A pygls workspace whose documents are :class:`LspTextDocument`."""

    @classmethod
    def replacing(cls, workspace: Workspace) -> LspWorkspace:
        """A workspace with the same root, folders and encoding as pygls' own (set at initialize)."""
        replacement = cls(
            workspace.root_uri,
            workspace._sync_kind,
            list(workspace.folders.values()),
            workspace.position_encoding,
        )
        return replacement

    def _create_text_document(
        self,
        doc_uri: str,
        source: str | None = None,
        version: int | None = None,
        language_id: str | None = None,
    ) -> TextDocument:
        return LspTextDocument(
            doc_uri,
            source=source,
            version=version,
            language_id=language_id,
            sync_kind=self._sync_kind,
            position_codec=self.position_codec,
        )
