"""Notebook document sync: which cells the server asks clients to sync, each open notebook's cells
as the editor has them now (a snapshot: cell URIs, versions, texts, which cells are Python), and
routing requests about a cell URI to the notebook features.

pygls keeps the notebook documents and their cells' text documents (notebookDocument/did*); this
module only reads them, so every notebook feature sees the same cells in the same order.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from ..engine.notebook import NotebookCell, NotebookFix
from .edits import DocumentChange

if TYPE_CHECKING:
    from .state import SwitcherooServer

PYTHON_LANGUAGE_IDS = frozenset({"python", "ipython"})

# What the server asks the client to sync: the Python cells of any notebook.
NOTEBOOK_SYNC = types.NotebookDocumentSyncOptions(
    notebook_selector=[
        types.NotebookDocumentFilterWithNotebook(
            notebook="*", cells=[types.NotebookCellLanguage(language="python")]
        )
    ],
    save=True,
)


@dataclass(frozen=True)
class CellState:
    """One cell as the editor has it now."""

    uri: str
    version: int | None
    text: str
    is_code: bool


@dataclass(frozen=True)
class NotebookSnapshot:
    """A notebook's cells, in order, at one moment."""

    uri: str
    version: int
    cells: tuple[CellState, ...]

    @property
    def engine_cells(self) -> list[NotebookCell]:
        """The cells as the engine takes them."""
        return [NotebookCell(cell.text, cell.is_code) for cell in self.cells]

    def index_of(self, cell_uri: str) -> int | None:
        """The position of a cell, by URI."""
        return next((i for i, cell in enumerate(self.cells) if cell.uri == cell_uri), None)

    def changes(self, fix: NotebookFix) -> list[DocumentChange]:
        """The fix as one document change per edited cell."""
        return [
            DocumentChange(self.cells[i].uri, self.cells[i].version, self.cells[i].text, edits)
            for i, edits in sorted(fix.edits.items())
        ]

    def same_texts(self, other: NotebookSnapshot) -> bool:
        """True when both snapshots hold the same cells with the same texts."""
        return len(self.cells) == len(other.cells) and all(
            a.uri == b.uri and a.text == b.text
            for a, b in zip(self.cells, other.cells, strict=True)
        )


def snapshot_of(ls: SwitcherooServer, notebook_uri: str) -> NotebookSnapshot | None:
    """The notebook as the editor has it now, or None if it is not open."""
    notebook = ls.workspace.get_notebook_document(notebook_uri=notebook_uri)
    if notebook is None:
        return None
    cells = []
    for cell in notebook.cells:
        document = ls.open_document(cell.document)
        if document is None:  # a cell the client does not sync (markdown, another language)
            cells.append(CellState(cell.document, None, "", False))
            continue
        language = (document.language_id or "python").lower()
        is_code = cell.kind == types.NotebookCellKind.Code and language in PYTHON_LANGUAGE_IDS
        cells.append(CellState(cell.document, document.version, document.source, is_code))
    return NotebookSnapshot(notebook.uri, notebook.version, tuple(cells))


CellHandler = Callable[[Any, Any, str], Awaitable[Any]]


def route_cells(server: SwitcherooServer, method: str, for_cells: CellHandler) -> None:
    """Answer ``method`` for notebook cells with ``for_cells(ls, params, notebook_uri)``; every
    other document keeps the handler registered before (files)."""
    features = server.protocol.fm.features
    for_files = features.get(method)

    async def route(params: Any) -> Any:
        uri = params.text_document.uri
        notebook = server.workspace.get_notebook_document(cell_uri=uri)
        if notebook is not None:
            return await for_cells(server, params, notebook.uri)
        if for_files is None:
            return None
        answer = for_files(params)
        return await answer if inspect.isawaitable(answer) else answer

    features[method] = route


def register(server: SwitcherooServer) -> None:
    """Ask clients to sync notebooks' Python cells."""
    # pygls reads this when it answers initialize (a LanguageServer constructor argument).
    server._notebook_document_sync = NOTEBOOK_SYNC
