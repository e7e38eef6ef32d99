"""Notebook diagnostics: each open notebook analysed as a whole, its findings shown per cell.

A notebook is analysed as a whole (:mod:`switcheroo_lsp.engine.notebook`): its Python cells are
scanned together, so magics and broken cells do not hide the rest. Each cell's diagnostics go to
its own cell URI (``vscode-notebook-cell:...``), pushed after notebookDocument/didOpen, didChange
and didSave, or pulled per cell (textDocument/diagnostic on a cell URI) by a client that pulls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lsprotocol import types

from ..engine.notebook import CellFinding, NotebookScan, scan_notebook
from ..settings import RunMode, Settings
from .diagnostics import diagnostic_for, result_id_of
from .notebook_sync import NotebookSnapshot, route_cells, snapshot_of
from .positions import Encoding, LineIndex

if TYPE_CHECKING:
    from .state import SwitcherooServer

CHANGE_DEBOUNCE_SECONDS = 0.05
MAX_ATTEMPTS = 3  # recomputations when the notebook changes under a request


@dataclass(frozen=True)
class NotebookAnalysis:
    """A snapshot as the engine sees it, with the diagnostics of every code cell."""

    snapshot: NotebookSnapshot
    generation: int
    scan: NotebookScan | None  # None: not scanned (disabled, too large)
    diagnostics: dict[str, tuple[types.Diagnostic, ...]] = field(default_factory=dict)
    result_ids: dict[str, str] = field(default_factory=dict)

    def fixable_in(self, cell: int) -> tuple[CellFinding, ...]:
        """The cell's model findings that the engine can fix."""
        if self.scan is None:
            return ()
        return tuple(f for f in self.scan.in_cell(cell) if f.kind.is_model and f.fixable)


def analyse_notebook(
    snapshot: NotebookSnapshot,
    settings: Settings,
    generation: int,
    encoding: Encoding,
    last_good: dict[str, tuple[str, tuple[CellFinding, ...]]],
) -> NotebookAnalysis:
    """Scan a notebook and translate its findings per cell (runs in the engine thread).

    A cell that stopped parsing keeps the findings of its last parsing text whose call text is
    still at the same place, like a file does; every other finding of it is dropped.
    """
    result = scan_notebook(snapshot.engine_cells)
    broken = {cell.cell for cell in result.broken}
    diagnostics: dict[str, tuple[types.Diagnostic, ...]] = {}
    for index, cell in enumerate(snapshot.cells):
        if not cell.is_code:
            continue
        findings: Sequence[CellFinding] = result.in_cell(index)
        if index in broken and cell.uri in last_good:
            old_text, old_findings = last_good[cell.uri]
            findings = [
                f
                for f in old_findings
                if f.span.end <= len(cell.text)
                and cell.text[f.span.start : f.span.end] == old_text[f.span.start : f.span.end]
            ]
        line_index = LineIndex(cell.text)
        diagnostics[cell.uri] = tuple(
            diagnostic
            for finding in sorted(findings, key=lambda f: (f.span.start, f.span.end))
            if (diagnostic := diagnostic_for(finding, line_index, encoding, settings)) is not None
        )
    return NotebookAnalysis(
        snapshot,
        generation,
        result,
        diagnostics,
        {uri: result_id_of(items) for uri, items in diagnostics.items()},
    )


@dataclass
class NotebookDiagnostics:
    """Per-notebook analyses, the push schedule and what each cell was last shown."""

    server: SwitcherooServer
    analyses: dict[str, NotebookAnalysis] = field(default_factory=dict)
    saved: dict[str, NotebookAnalysis] = field(default_factory=dict)  # run=onSave
    # notebook -> cell -> (version, result id) of the last push
    shown: dict[str, dict[str, tuple[int | None, str]]] = field(default_factory=dict)
    last_good: dict[str, tuple[str, tuple[CellFinding, ...]]] = field(default_factory=dict)
    pending: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    # notebooks whose cells the client has pulled: from then on they are never pushed
    pulled: set[str] = field(default_factory=set)

    # -- analysis -------------------------------------------------------------------------------

    async def analysis_for(self, snapshot: NotebookSnapshot) -> NotebookAnalysis:
        """The analysis of the snapshot, from the cache when nothing changed."""
        server = self.server
        generation = server.settings_generation
        cached = self.analyses.get(snapshot.uri)
        if (
            cached is not None
            and cached.generation == generation
            and cached.snapshot.same_texts(snapshot)
        ):
            return cached
        empty: dict[str, tuple[types.Diagnostic, ...]] = {
            cell.uri: () for cell in snapshot.cells if cell.is_code
        }
        analysis = NotebookAnalysis(
            snapshot, generation, None, empty, {uri: result_id_of(()) for uri in empty}
        )
        joined = "".join(cell.text for cell in snapshot.cells if cell.is_code)
        if server.settings_for(snapshot.uri).enable and not server.too_large(snapshot.uri, joined):
            try:
                analysis = await server.run_engine(
                    analyse_notebook,
                    snapshot,
                    server.settings_for(snapshot.uri),
                    generation,
                    server.support.encoding,
                    dict(self.last_good),
                )
            except Exception as error:  # an engine bug: nothing shown, never a dead server
                server.log(f"switcheroo internal error: {error!r}", types.MessageType.Error)
        current = snapshot_of(server, snapshot.uri)
        if current is not None and current.same_texts(snapshot):
            self.analyses[snapshot.uri] = analysis
            if analysis.scan is not None:
                broken = {cell.cell for cell in analysis.scan.broken}
                for index, cell in enumerate(snapshot.cells):
                    if cell.is_code and index not in broken:
                        self.last_good[cell.uri] = (cell.text, analysis.scan.in_cell(index))
        return analysis

    async def current(self, notebook_uri: str) -> NotebookAnalysis | None:
        """The analysis of the notebook as it is now (recomputed if it changed meanwhile)."""
        for _ in range(MAX_ATTEMPTS):
            snapshot = snapshot_of(self.server, notebook_uri)
            if snapshot is None:
                return None
            analysis = await self.analysis_for(snapshot)
            now = snapshot_of(self.server, notebook_uri)
            if now is not None and now.same_texts(analysis.snapshot):
                return analysis
        return None

    # -- push -----------------------------------------------------------------------------------

    def schedule(self, notebook_uri: str, delay: float = 0.0, *, saved: bool = False) -> None:
        """(Re)start the publish task of a notebook; a newer change supersedes an older task."""
        previous = self.pending.pop(notebook_uri, None)
        if previous is not None:
            previous.cancel()
        self.pending[notebook_uri] = asyncio.ensure_future(
            self._publish_after(notebook_uri, delay, saved)
        )

    async def _publish_after(self, notebook_uri: str, delay: float, saved: bool) -> None:
        if delay:
            await asyncio.sleep(delay)
        previous = self.analyses.get(notebook_uri)
        analysis = await self.current(notebook_uri)
        if analysis is None:
            return
        if self.server.settings_for(notebook_uri).run is RunMode.ON_SAVE:
            self.saved[notebook_uri] = analysis
        # Cells are pushed even to a client that pulls until it pulls one of them: VS Code's
        # language client (9.x) pulls only for text tabs and textDocument/didOpen, never for
        # notebook cells. A client that does pull them gets pulls only (never both).
        if notebook_uri not in self.pulled:
            self.publish(analysis)
        support = self.server.support
        if not support.pull_diagnostics or not support.diagnostic_refresh:
            return
        if saved:
            self.server.workspace_diagnostic_refresh(None)  # run=onSave: what changed is shown now
        elif previous is not None:
            # a change in one cell can change what another shows (a receiver assigned elsewhere)
            old_texts = {cell.uri: cell.text for cell in previous.snapshot.cells}
            if any(
                previous.result_ids.get(cell.uri) != analysis.result_ids.get(cell.uri)
                for cell in analysis.snapshot.cells
                if cell.is_code and old_texts.get(cell.uri) == cell.text
            ):
                self.server.workspace_diagnostic_refresh(None)

    def publish(self, analysis: NotebookAnalysis) -> None:
        """Push the diagnostics of every code cell whose text or diagnostics changed since the
        last push (all of them the first time); clear cells that left the notebook."""
        notebook_uri = analysis.snapshot.uri
        before = self.shown.get(notebook_uri, {})
        now: dict[str, tuple[int | None, str]] = {}
        for cell in analysis.snapshot.cells:
            if not cell.is_code:
                continue
            items = analysis.diagnostics.get(cell.uri, ())
            now[cell.uri] = (cell.version, analysis.result_ids.get(cell.uri, ""))
            if before.get(cell.uri) != now[cell.uri]:
                self.server.text_document_publish_diagnostics(
                    types.PublishDiagnosticsParams(
                        uri=cell.uri, diagnostics=list(items), version=cell.version
                    )
                )
        for uri in sorted(set(before) - set(now)):
            self.server.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=[])
            )
        self.shown[notebook_uri] = now

    def close(self, notebook_uri: str, cell_uris: Sequence[str]) -> None:
        """Forget a closed notebook and clear what its cells were pushed."""
        task = self.pending.pop(notebook_uri, None)
        if task is not None:
            task.cancel()
        self.analyses.pop(notebook_uri, None)
        self.saved.pop(notebook_uri, None)
        shown = self.shown.pop(notebook_uri, {})
        for uri in cell_uris:
            self.last_good.pop(uri, None)
        if notebook_uri in self.pulled:
            self.pulled.discard(notebook_uri)
            return  # a pulling client drops what it pulled for closed documents itself
        for uri in sorted(set(shown) | set(cell_uris)):
            self.server.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=[])
            )

    def settings_changed(self) -> None:
        """New settings: what every open notebook shows is recomputed."""
        self.saved.clear()
        for notebook_uri in list(self.server.workspace.notebook_documents):
            self.schedule(notebook_uri)

    def cancel_all(self) -> None:
        """Stop every pending publish (shutdown)."""
        for task in self.pending.values():
            task.cancel()
        self.pending.clear()

    # -- pull -----------------------------------------------------------------------------------

    async def report(
        self, notebook_uri: str, cell_uri: str, previous_result_id: str | None
    ) -> types.DocumentDiagnosticReport:
        """The textDocument/diagnostic answer for one cell; the notebook's pushes stop here."""
        if notebook_uri not in self.pulled:
            self.pulled.add(notebook_uri)
            for uri in sorted(self.shown.pop(notebook_uri, {})):  # clear: never push and pull
                self.server.text_document_publish_diagnostics(
                    types.PublishDiagnosticsParams(uri=uri, diagnostics=[])
                )
        analysis = None
        if self.server.settings_for(notebook_uri).run is RunMode.ON_SAVE:
            analysis = self.saved.get(notebook_uri)
        if analysis is None:
            analysis = await self.current(notebook_uri)
            if (
                analysis is not None
                and self.server.settings_for(notebook_uri).run is RunMode.ON_SAVE
            ):
                self.saved[notebook_uri] = analysis
        items = list(analysis.diagnostics.get(cell_uri, ())) if analysis is not None else []
        result_id = result_id_of(items)
        if previous_result_id is not None and previous_result_id == result_id:
            return types.RelatedUnchangedDocumentDiagnosticReport(result_id=result_id)
        return types.RelatedFullDocumentDiagnosticReport(items=items, result_id=result_id)


def register(server: SwitcherooServer) -> None:
    """Per-cell diagnostics of open notebooks (pushed, or pulled per cell); call after the file
    features, whose pulled diagnostics it routes for cell URIs."""
    state = NotebookDiagnostics(server)
    server.add_feature_state(state)
    server.settings_listeners.append(state.settings_changed)
    server.shutdown_listeners.append(state.cancel_all)

    def opened(notebook_uri: str) -> None:
        if server.settings_for(notebook_uri).run is RunMode.ON_SAVE:
            state.saved.pop(notebook_uri, None)
        state.schedule(notebook_uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)
    def did_open(ls: SwitcherooServer, params: types.DidOpenNotebookDocumentParams) -> None:
        opened(params.notebook_document.uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
    def did_change(ls: SwitcherooServer, params: types.DidChangeNotebookDocumentParams) -> None:
        if ls.settings_for(params.notebook_document.uri).run is RunMode.ON_TYPE:
            state.schedule(params.notebook_document.uri, CHANGE_DEBOUNCE_SECONDS)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_SAVE)
    def did_save(ls: SwitcherooServer, params: types.DidSaveNotebookDocumentParams) -> None:
        if ls.settings_for(params.notebook_document.uri).run is RunMode.ON_SAVE:
            state.saved.pop(params.notebook_document.uri, None)
            state.schedule(params.notebook_document.uri, saved=True)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
    def did_close(ls: SwitcherooServer, params: types.DidCloseNotebookDocumentParams) -> None:
        state.close(params.notebook_document.uri, [cell.uri for cell in params.cell_text_documents])

    async def cell_diagnostic(
        ls: SwitcherooServer, params: types.DocumentDiagnosticParams, notebook_uri: str
    ) -> types.DocumentDiagnosticReport:
        return await state.report(notebook_uri, params.text_document.uri, params.previous_result_id)

    route_cells(server, types.TEXT_DOCUMENT_DIAGNOSTIC, cell_diagnostic)
