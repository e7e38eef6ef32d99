"""Notebooks in the editor: notebook document sync, per-cell diagnostics and cross-cell fixes.

A notebook is analysed as a whole (:mod:`switcheroo_lsp.engine.notebook`): its Python cells are
scanned together, so magics and broken cells do not hide the rest, and a fix in any cell puts the
KeyMapper into the first code cell once. Each cell's diagnostics go to its own cell URI
(``vscode-notebook-cell:...``); the quick fix is a workspace edit across cell URIs; the
``notebook.source.fixAll.switcheroo`` action (what VS Code's ``notebook.codeActionsOnSave`` asks
for) migrates the whole notebook. Requests about a cell URI (code actions, pulled diagnostics,
willSaveWaitUntil) are answered here; every other URI goes on to the handlers for files.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from ..engine.model import CODE_CHECKPOINT
from ..engine.notebook import (
    CellFinding,
    NotebookCell,
    NotebookFix,
    NotebookScan,
    fix_notebook,
    fix_notebook_call,
    scan_notebook,
)
from ..engine.scan import NAME
from ..engine.suppress import noqa_edit
from ..engine.text import LineIndex as EngineLineIndex
from ..engine.text import make_edit
from ..files import SourceError
from ..ipynb import NotebookError, parse_notebook
from ..settings import RunMode, Settings
from .actions import (
    QUICKFIX_KIND,
    ignore_action,
    kind_requested,
    quick_fix_action,
    reveal_call_command,
)
from .diagnostics import diagnostic_for, result_id_of
from .edits import DocumentChange, workspace_edit
from .migration import Migration, disk_text
from .positions import Encoding, LineIndex

if TYPE_CHECKING:
    from .state import SwitcherooServer

NOTEBOOK_FIX_ALL_KIND = "notebook.source.fixAll.switcheroo"
NOTEBOOK_FIX_ALL_TITLE = "Migrate all load_state_dict calls in this notebook"
PYTHON_LANGUAGE_IDS = frozenset({"python", "ipython"})
CHANGE_DEBOUNCE_SECONDS = 0.05
MAX_ATTEMPTS = 3  # recomputations when the notebook changes under a request

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


# -- code actions ---------------------------------------------------------------------------------


async def cell_code_actions(
    ls: SwitcherooServer, params: types.CodeActionParams, notebook_uri: str
) -> list[types.CodeAction] | None:
    """textDocument/codeAction in a cell: quick fixes for its calls, and the notebook's fix-all
    when ``only`` asks for ``notebook.source.fixAll`` (never unasked: no lightbulb everywhere)."""
    if not ls.settings_for(notebook_uri).enable:
        return None
    state = ls.feature_state(NotebookDiagnostics)
    only = params.context.only
    for _ in range(MAX_ATTEMPTS):
        analysis = await state.current(notebook_uri)
        if analysis is None or analysis.scan is None:
            return None
        snapshot = analysis.snapshot
        cell = snapshot.index_of(params.text_document.uri)
        if cell is None:
            return None
        actions: list[types.CodeAction] = []
        if kind_requested(only, QUICKFIX_KIND):
            actions += await _quick_fixes(ls, analysis, cell, params.range)
            actions += _ignore_actions(ls, analysis, cell, params.range)
        if only is not None and kind_requested(only, NOTEBOOK_FIX_ALL_KIND):
            result = await run_notebook_fix(
                ls, fix_notebook, snapshot.engine_cells, ls.settings_for(notebook_uri)
            )
            if result.ok:
                actions.append(
                    types.CodeAction(
                        title=NOTEBOOK_FIX_ALL_TITLE,
                        kind=NOTEBOOK_FIX_ALL_KIND,
                        edit=workspace_edit(ls.support, snapshot.changes(result)),
                    )
                )
        now = snapshot_of(ls, notebook_uri)
        if now is not None and now.same_texts(snapshot):
            return actions or None
    return None


async def _quick_fixes(
    ls: SwitcherooServer, analysis: NotebookAnalysis, cell: int, range_: types.Range
) -> list[types.CodeAction]:
    """One preferred quick fix per fixable call of the cell on the requested lines."""
    snapshot = analysis.snapshot
    text = snapshot.cells[cell].text
    first, last = sorted((range_.start.line, range_.end.line))
    line_index = LineIndex(text)
    actions = []
    for finding in analysis.fixable_in(cell):
        if finding.span.start_pos.line > last or finding.span.end_pos.line < first:
            continue
        result = await run_notebook_fix(
            ls,
            fix_notebook_call,
            snapshot.engine_cells,
            cell,
            finding.span.start,
            ls.settings_for(snapshot.uri),
        )
        if not result.ok:
            continue
        diagnostic = diagnostic_for(
            finding, line_index, ls.support.encoding, ls.settings_for(snapshot.uri)
        )
        edit = workspace_edit(ls.support, snapshot.changes(result))
        reveal = reveal_call_command(
            ls, snapshot.cells[cell].uri, result.edits.get(cell, ()), finding.span
        )
        actions.append(quick_fix_action(diagnostic, edit, finding, command=reveal))
    return actions


def _ignore_actions(
    ls: SwitcherooServer, analysis: NotebookAnalysis, cell: int, range_: types.Range
) -> list[types.CodeAction]:
    """ "Ignore this call (# noqa: checkpoint-keys)" per model call of the cell on the lines."""
    if analysis.scan is None:
        return []
    snapshot = analysis.snapshot
    document = snapshot.cells[cell]
    first, last = sorted((range_.start.line, range_.end.line))
    line_index = LineIndex(document.text)
    settings = ls.settings_for(snapshot.uri)
    actions = []
    for finding in analysis.scan.in_cell(cell):
        if finding.code != CODE_CHECKPOINT:
            continue
        if finding.span.start_pos.line > last or finding.span.end_pos.line < first:
            continue
        edit = noqa_edit(document.text, finding.line, finding.code)
        diagnostic = diagnostic_for(finding, line_index, ls.support.encoding, settings)
        if edit is None or diagnostic is None:
            continue
        change = DocumentChange(document.uri, document.version, document.text, (edit,))
        actions.append(
            ignore_action(finding.code, diagnostic, workspace_edit(ls.support, [change]))
        )
    return actions


# -- wiring ---------------------------------------------------------------------------------------

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
    """Notebook sync, per-cell diagnostics and actions; call after the file features."""
    state = NotebookDiagnostics(server)
    server.add_feature_state(state)
    # pygls reads this when it answers initialize (a LanguageServer constructor argument).
    server._notebook_document_sync = NOTEBOOK_SYNC
    server.settings_listeners.append(state.settings_changed)
    server.shutdown_listeners.append(state.cancel_all)

    options = server.protocol.fm.feature_options.get(types.TEXT_DOCUMENT_CODE_ACTION)
    if isinstance(options, types.CodeActionOptions):
        kinds = list(options.code_action_kinds or [])
        if NOTEBOOK_FIX_ALL_KIND not in kinds:
            options.code_action_kinds = [*kinds, NOTEBOOK_FIX_ALL_KIND]

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

    async def cell_will_save(
        ls: SwitcherooServer, params: types.WillSaveTextDocumentParams, notebook_uri: str
    ) -> list[types.TextEdit]:
        return []  # a cell is not saved alone: notebook.source.fixAll.switcheroo migrates it

    route_cells(server, types.TEXT_DOCUMENT_CODE_ACTION, cell_code_actions)
    route_cells(server, types.TEXT_DOCUMENT_DIAGNOSTIC, cell_diagnostic)
    route_cells(server, types.TEXT_DOCUMENT_WILL_SAVE_WAIT_UNTIL, cell_will_save)

    async def cell_hover(
        ls: SwitcherooServer, params: types.HoverParams, notebook_uri: str
    ) -> types.Hover | None:
        return None  # a cell alone is not what the notebook's diagnostics were computed from

    route_cells(server, types.TEXT_DOCUMENT_HOVER, cell_hover)


# -- migrateFile / migrateWorkspace ---------------------------------------------------------------


async def run_notebook_fix(ls: SwitcherooServer, function: Any, *args: Any) -> NotebookFix:
    """Run a notebook fix in the engine thread; an engine bug becomes an error, never a crash."""
    try:
        result: NotebookFix = await ls.run_engine(function, *args)
    except Exception as error:
        ls.log(f"switcheroo internal error: {error!r}", types.MessageType.Error)
        return NotebookFix(error=f"internal error: {error!r}")
    return result


def _fix_notebook_file(text: str, settings: Settings) -> tuple[NotebookFix, str | None]:
    """Fix-all on an ``.ipynb`` file's text: the fix and the new file text (None: no change)."""
    try:
        notebook = parse_notebook(text)
    except NotebookError as error:
        return NotebookFix(error=str(error)), None
    if not notebook.is_python:
        return NotebookFix(), None
    limit = settings.max_file_size
    if sum(len(cell.text) for cell in notebook.cells if cell.is_code) > limit:
        # the code is what counts: outputs (plots, tables) make notebooks big
        return NotebookFix(error=f"its code is larger than maxFileSize ({limit} bytes)"), None
    result = fix_notebook(notebook.cells, settings)
    if not result.ok:
        return result, None
    try:
        return result, notebook.with_sources(result.apply(notebook.cells))
    except NotebookError as error:
        return NotebookFix(error=str(error)), None


async def migrate_notebook(ls: SwitcherooServer, uri: str, path: Path | None) -> Migration:
    """Fix-all on a notebook: cell edits when it is open in the editor, else one edit of the
    ``.ipynb`` file's text (only the changed cells' sources differ)."""

    def skipped_of(result: NotebookFix, cell_uri: Callable[[int], str]) -> list[dict[str, Any]]:
        return [
            {"uri": cell_uri(f.cell), "cell": f.cell + 1, "line": f.line + 1, "reason": why}
            for f, why in result.skipped
        ]

    snapshot = snapshot_of(ls, uri)
    if snapshot is not None:
        result = await run_notebook_fix(
            ls, fix_notebook, snapshot.engine_cells, ls.settings_for(uri)
        )
        skipped = skipped_of(result, lambda cell: snapshot.cells[cell].uri)
        if result.error is not None:
            return Migration(None, 0, [{"uri": uri, "reason": result.error}, *skipped])
        changes = snapshot.changes(result)
        if not changes:
            return Migration(None, 0, skipped)
        return Migration(changes[0], result.fixed, skipped, tuple(changes[1:]), uri)
    return await migrate_notebook_text(ls, uri, path)


async def migrate_notebook_text(ls: SwitcherooServer, uri: str, path: Path | None) -> Migration:
    """Fix-all on an ``.ipynb`` as JSON text: the editor's buffer when it is open as a text
    document (unsaved cells included, versioned edit), else the file on disk (without its byte
    order mark, which the editor does not show)."""
    document = ls.open_document(uri)
    version: int | None = None
    if document is not None:
        text, version = document.source, document.version
    elif path is None:
        return Migration(None, 0, [{"uri": uri, "reason": "not open in the editor and not a file"}])
    else:
        try:  # outputs make notebook files big: the code is checked against maxFileSize below
            text = await ls.run_engine(disk_text, path, 16 * ls.settings.max_file_size)
        except SourceError as error:
            return Migration(None, 0, [{"uri": uri, "reason": error.message}])
    if NAME not in text:
        return Migration(None, 0, [])
    try:
        result, new_text = await ls.run_engine(_fix_notebook_file, text, ls.settings_for(uri))
    except Exception as error:
        return Migration(None, 0, [{"uri": uri, "reason": f"internal error: {error!r}"}])
    skipped = [
        {"uri": uri, "cell": f.cell + 1, "line": f.line + 1, "reason": why}
        for f, why in result.skipped
    ]
    if result.error is not None:
        return Migration(None, 0, [{"uri": uri, "reason": result.error}, *skipped])
    if new_text is None or new_text == text:
        return Migration(None, 0, skipped)
    whole = make_edit(EngineLineIndex(text), 0, len(text), new_text)
    return Migration(DocumentChange(uri, version, text, [whole]), result.fixed, skipped)
