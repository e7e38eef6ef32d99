"""The editor's side of the notebook tests: a notebook open in a client that syncs it with
notebookDocument/* messages, as VS Code does, and applies the server's workspace edits to cells
with its own position arithmetic (tests/clientside.py, shared with the other suites)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lsprotocol import types
from pytest_lsp import client_capabilities

from clientside import (
    RecordingClient,
    apply_text_edits,
    client_offset,
    client_position,
    code_actions_at,
    edits_by_document,
    end_position,
    negotiated_encoding,
    wait_until,
)

TIMEOUT = 15.0  # seconds before a wait fails the test (never an assertion about speed)
NOTEBOOK_URI = "file:///work/project/train.ipynb"
# Two ways an editor can be set up: VS Code's (push, UTF-16, versioned edits) and a pulling
# UTF-8 client with plain `changes` edits. "neovim" (Neovim's own capability set) is a third, for
# suites that name it: Neovim has no notebooks of its own, a notebook plugin's client would be it.
CLIENTS = ["vscode-push", "pull-utf8"]


def cell_uri(number: int) -> str:
    """A cell URI as VS Code makes them (percent-encoded fragment included)."""
    return f"vscode-notebook-cell:/work/project/train.ipynb#W{number}sZmlsZQ%3D%3D"


@dataclass
class Cell:
    """One cell as the editor holds it."""

    uri: str
    text: str
    kind: types.NotebookCellKind = types.NotebookCellKind.Code
    language: str = "python"
    version: int = 1


@dataclass
class NotebookEditor:
    """One client (capability set) with one notebook open in it."""

    client: RecordingClient
    client_name: str
    encoding: str = "utf-16"
    pull: bool = False
    cells: list[Cell] = field(default_factory=list)
    version: int = 1
    capabilities: types.ClientCapabilities = field(init=False)
    result: types.InitializeResult | None = None

    def __post_init__(self) -> None:
        recorded = "neovim" if self.client_name == "neovim" else "visual-studio-code"
        caps = copy.deepcopy(client_capabilities(recorded))
        # Neither recorded set syncs notebooks: VS Code 1.65's predates LSP 3.17 (today's VS Code
        # sends these), and Neovim has none of its own (a notebook plugin's client would send them).
        caps.notebook_document = types.NotebookDocumentClientCapabilities(
            synchronization=types.NotebookDocumentSyncClientCapabilities(
                dynamic_registration=True, execution_summary_support=True
            )
        )
        if self.client_name == "neovim":  # as recorded: UTF-8 first, pull, plain `changes`
            self.capabilities = caps
            return
        caps.general = caps.general or types.GeneralClientCapabilities()
        if self.client_name == "pull-utf8":
            caps.general.position_encodings = [types.PositionEncodingKind.Utf8]
            caps.text_document.diagnostic = types.DiagnosticClientCapabilities(
                dynamic_registration=False
            )
            caps.workspace.diagnostics = types.DiagnosticWorkspaceClientCapabilities(
                refresh_support=True
            )
            caps.workspace.workspace_edit.document_changes = False
        else:
            caps.workspace.workspace_edit.document_changes = True
        self.capabilities = caps

    async def initialize(
        self, settings: Any = None, workspace: str | None = None
    ) -> types.InitializeResult:
        """initialize + initialized with this client's capabilities."""
        folders = [types.WorkspaceFolder(uri=workspace, name="project")] if workspace else None
        self.result = await self.client.initialize_session(
            types.InitializeParams(
                capabilities=self.capabilities,
                initialization_options=settings,
                workspace_folders=folders,
                root_uri=workspace,
            )
        )
        self.encoding = negotiated_encoding(self.result)
        self.pull = self.result.capabilities.diagnostic_provider is not None
        return self.result

    # -- the notebook ----------------------------------------------------------------------------

    def _synced(self) -> list[Cell]:
        return [cell for cell in self.cells if cell.language == "python"]

    def open(self, sources: Sequence[str | tuple[str, str]]) -> None:
        """notebookDocument/didOpen; a ``("markdown", text)`` item is a markdown cell."""
        self.cells = []
        for number, source in enumerate(sources):
            if isinstance(source, tuple):
                self.cells.append(
                    Cell(cell_uri(number), source[1], types.NotebookCellKind.Markup, source[0])
                )
            else:
                self.cells.append(Cell(cell_uri(number), source))
        self.client.notebook_document_did_open(
            types.DidOpenNotebookDocumentParams(
                notebook_document=types.NotebookDocument(
                    uri=NOTEBOOK_URI,
                    notebook_type="jupyter-notebook",
                    version=self.version,
                    cells=[types.NotebookCell(kind=c.kind, document=c.uri) for c in self.cells],
                ),
                cell_text_documents=[
                    types.TextDocumentItem(
                        uri=c.uri, language_id=c.language, version=c.version, text=c.text
                    )
                    for c in self.cells
                ],
            )
        )

    def text(self, index: int) -> str:
        """The text of cell ``index``."""
        return self.cells[index].text

    def set_text(self, index: int, text: str) -> None:
        """Replace a cell's whole text (notebookDocument/didChange, textContent)."""
        self.set_texts({index: text})

    def set_texts(self, texts: dict[int, str]) -> None:
        """Replace several cells' texts in one notebookDocument/didChange."""
        self.version += 1
        changes = []
        for index, text in texts.items():
            cell = self.cells[index]
            old = cell.text
            cell.text, cell.version = text, cell.version + 1
            end = end_position(old, self.encoding)
            changes.append(
                types.NotebookDocumentCellContentChanges(
                    document=types.VersionedTextDocumentIdentifier(
                        uri=cell.uri, version=cell.version
                    ),
                    changes=[
                        types.TextDocumentContentChangePartial(
                            range=types.Range(types.Position(0, 0), end), text=text
                        )
                    ],
                )
            )
        self._send_change(types.NotebookDocumentCellChanges(text_content=changes))

    def remove_cell(self, index: int) -> None:
        """Delete a cell (notebookDocument/didChange, structure)."""
        self.version += 1
        cell = self.cells.pop(index)
        self._send_change(
            types.NotebookDocumentCellChanges(
                structure=types.NotebookDocumentCellChangeStructure(
                    array=types.NotebookCellArrayChange(start=index, delete_count=1, cells=[]),
                    did_close=[types.TextDocumentIdentifier(uri=cell.uri)],
                )
            )
        )

    def _send_change(self, cells: types.NotebookDocumentCellChanges) -> None:
        self.client.notebook_document_did_change(
            types.DidChangeNotebookDocumentParams(
                notebook_document=types.VersionedNotebookDocumentIdentifier(
                    uri=NOTEBOOK_URI, version=self.version
                ),
                change=types.NotebookDocumentChangeEvent(cells=cells),
            )
        )

    def save(self) -> None:
        """notebookDocument/didSave."""
        self.client.notebook_document_did_save(
            types.DidSaveNotebookDocumentParams(
                notebook_document=types.NotebookDocumentIdentifier(uri=NOTEBOOK_URI)
            )
        )

    def close(self) -> None:
        """notebookDocument/didClose."""
        self.client.notebook_document_did_close(
            types.DidCloseNotebookDocumentParams(
                notebook_document=types.NotebookDocumentIdentifier(uri=NOTEBOOK_URI),
                cell_text_documents=[types.TextDocumentIdentifier(uri=c.uri) for c in self.cells],
            )
        )

    def apply(self, edit: types.WorkspaceEdit | None) -> bool:
        """Apply a workspace edit to the cells like an editor (refusing stale versions)."""
        assert edit is not None, "the action has no edit"
        by_uri = {cell.uri: i for i, cell in enumerate(self.cells)}
        per_cell: list[tuple[int, int | None, Sequence[Any]]] = []
        for uri, version, edits in edits_by_document(edit):
            assert uri in by_uri, f"edit for an unknown document {uri}"
            per_cell.append((by_uri[uri], version, edits))
        for index, version, _ in per_cell:
            if version is not None and self.cells[index].version != version:
                return False
        self.set_texts(
            {
                index: apply_text_edits(self.cells[index].text, edits, self.encoding)
                for index, _, edits in per_cell
            }
        )
        return True

    # -- what the server says --------------------------------------------------------------------

    async def wait_for_publish(
        self,
        uri: str,
        predicate: Callable[[types.PublishDiagnosticsParams], bool] = lambda p: True,
    ) -> types.PublishDiagnosticsParams:
        """The newest publish for ``uri`` that matches, waiting for one if none has arrived."""

        def newest() -> types.PublishDiagnosticsParams | None:
            published = reversed(self.client.published)
            return next((p for p in published if p.uri == uri and predicate(p)), None)

        return await wait_until(newest, TIMEOUT)

    async def diagnostics(self, index: int) -> list[types.Diagnostic]:
        """The diagnostics of a cell's current text, by pull or push as negotiated."""
        cell = self.cells[index]
        if self.pull:
            report = await self.client.text_document_diagnostic_async(
                types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(cell.uri))
            )
            assert isinstance(report, types.RelatedFullDocumentDiagnosticReport)
            return list(report.items)
        version = cell.version
        published = await self.wait_for_publish(cell.uri, lambda p: p.version == version)
        return list(published.diagnostics)

    def text_at(self, index: int, range_: types.Range) -> str:
        """The text a range covers in a cell."""
        text = self.cells[index].text
        start = client_offset(text, range_.start, self.encoding)
        return text[start : client_offset(text, range_.end, self.encoding)]

    async def hover(self, index: int, offset: int) -> types.Hover | None:
        """textDocument/hover in a cell, at a code-point offset of its text."""
        position = client_position(self.cells[index].text, offset, self.encoding)
        return await self.client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=self.cells[index].uri),
                position=position,
            )
        )

    async def code_actions(
        self, index: int, line: int, *, only: list[str] | None = None
    ) -> list[types.CodeAction]:
        """textDocument/codeAction in a cell, for the cursor at the start of ``line``."""
        return await code_actions_at(self.client, self.cells[index].uri, line, only=only)
