"""Notebook actions: quick fixes and "ignore" in a cell, the notebook's fix-all, and migrating a
notebook (switcheroo.migrateFile / migrateWorkspace), open in the editor or as an ``.ipynb`` file.

A fix in any cell puts the KeyMapper into the first code cell once; the quick fix is a workspace
edit across cell URIs; the ``notebook.source.fixAll.switcheroo`` action (what VS Code's
``notebook.codeActionsOnSave`` asks for) migrates the whole notebook.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from ..engine.model import CODE_CHECKPOINT
from ..engine.notebook import NotebookFix, fix_notebook, fix_notebook_call
from ..engine.scan import NAME
from ..engine.suppress import noqa_edit
from ..engine.text import LineIndex as EngineLineIndex
from ..engine.text import make_edit
from ..files import SourceError
from ..ipynb import NotebookError, parse_notebook
from ..settings import Settings
from .actions import (
    QUICKFIX_KIND,
    ignore_action,
    kind_requested,
    quick_fix_action,
    reveal_call_command,
)
from .diagnostics import diagnostic_for
from .edits import DocumentChange, workspace_edit
from .migration import Migration, disk_text
from .notebook_diagnostics import MAX_ATTEMPTS, NotebookAnalysis, NotebookDiagnostics
from .notebook_sync import route_cells, snapshot_of
from .positions import LineIndex

if TYPE_CHECKING:
    from .state import SwitcherooServer

NOTEBOOK_FIX_ALL_KIND = "notebook.source.fixAll.switcheroo"
NOTEBOOK_FIX_ALL_TITLE = "Migrate all load_state_dict calls in this notebook"


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


def register(server: SwitcherooServer) -> None:
    """Code actions and willSaveWaitUntil for notebook cells; call after the file features."""
    options = server.protocol.fm.feature_options.get(types.TEXT_DOCUMENT_CODE_ACTION)
    if isinstance(options, types.CodeActionOptions):
        kinds = list(options.code_action_kinds or [])
        if NOTEBOOK_FIX_ALL_KIND not in kinds:
            options.code_action_kinds = [*kinds, NOTEBOOK_FIX_ALL_KIND]

    async def cell_will_save(
        ls: SwitcherooServer, params: types.WillSaveTextDocumentParams, notebook_uri: str
    ) -> list[types.TextEdit]:
        return []  # a cell is not saved alone: notebook.source.fixAll.switcheroo migrates it

    route_cells(server, types.TEXT_DOCUMENT_CODE_ACTION, cell_code_actions)
    route_cells(server, types.TEXT_DOCUMENT_WILL_SAVE_WAIT_UNTIL, cell_will_save)


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
