"""Code actions: the quick fix, fix-all (eager or via codeAction/resolve), and fix on save.

Every action is recomputed from the current document; the diagnostics a client sends back in
``context.diagnostics`` are never read (clients send partial ones: Neovim only the cursor line's).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from .. import engine  # engine.fix / fix_all load libcst on first use, not at start-up
from ..engine.model import Edit, Finding, FixResult, Span
from ..engine.rules import FIX_TITLE, UNSURE_SUFFIX
from ..engine.suppress import noqa_edit
from ..engine.text import line_after_edits
from .capabilities import REVEAL_CALL_COMMAND
from .diagnostics import Analysis, DocumentDiagnostics, diagnostic_for
from .documents import LspTextDocument
from .edits import DocumentChange, text_edits, workspace_edit
from .module_mode import fix_settings

if TYPE_CHECKING:
    from .state import SwitcherooServer

QUICKFIX_TITLE = FIX_TITLE
IGNORE_TITLE = "Ignore this call (# noqa: {code})"
FIX_ALL_TITLE = "Migrate all load_state_dict calls in this file"
FIX_ALL_KIND = "source.fixAll.switcheroo"
QUICKFIX_KIND = types.CodeActionKind.QuickFix.value

# How often a request recomputes when the document changes under it before giving up.
MAX_ATTEMPTS = 3


def kind_requested(only: Sequence[str] | None, kind: str) -> bool:
    """True when ``kind`` is asked for by ``only``, matched by prefix (``source`` finds
    ``source.fixAll.switcheroo``). No ``only`` asks for everything but source actions."""
    if only is None:
        return not kind.startswith("source")
    return any(kind == asked or (asked and kind.startswith(asked + ".")) for asked in only)


async def current_analysis(ls: SwitcherooServer, uri: str) -> Analysis | None:
    """The analysis of the document's text as it is now (recomputed if it changed meanwhile)."""
    for _ in range(MAX_ATTEMPTS):
        document = ls.open_document(uri)
        if document is None or not ls.settings_for(uri).enable:
            return None
        analysis = await ls.feature_state(DocumentDiagnostics).analysis_for(document)
        current = ls.open_document(uri)
        if current is not None and current.source is analysis.text:
            return analysis
    return None


def is_current(ls: SwitcherooServer, document: LspTextDocument, text: str) -> bool:
    """True when ``document`` still holds ``text`` (no change arrived while computing)."""
    current = ls.open_document(document.uri)
    return current is not None and current.source is text


async def quick_fixes(
    ls: SwitcherooServer, analysis: Analysis, first_line: int, last_line: int
) -> list[types.CodeAction]:
    """One preferred quick fix per fixable call on the requested lines."""
    document = ls.open_document(analysis.uri)
    if document is None:
        return []
    index = document.line_index
    if index.text is not analysis.text:
        return []
    actions: list[types.CodeAction] = []
    settings = await fix_settings(ls, analysis.uri, analysis.text)
    for finding in analysis.fixable:
        if (
            index.line_of(finding.span.start) > last_line
            or index.line_of(finding.span.end) < first_line
        ):
            continue
        result: FixResult = await ls.run_fix(
            engine.fix, analysis.text, finding.span.start, settings
        )
        if not result.ok:
            continue
        diagnostic = diagnostic_for(
            finding, index, document.encoding, ls.settings_for(analysis.uri)
        )
        change = DocumentChange(analysis.uri, analysis.version, analysis.text, result.edits, index)
        edit = workspace_edit(ls.support, [change])
        reveal = reveal_call_command(ls, analysis.uri, result.edits, finding.span)
        actions.append(quick_fix_action(diagnostic, edit, finding, result.title, reveal))
    return actions


def ignore_actions(
    ls: SwitcherooServer, analysis: Analysis, first_line: int, last_line: int
) -> list[types.CodeAction]:
    """One "Ignore this call (# noqa: checkpoint-keys)" per model call on the requested lines
    (fixable or not): adds the suppression comment to the call's first line; never preferred."""
    document = ls.open_document(analysis.uri)
    if document is None or analysis.scan is None or analysis.scan.syntax_error is not None:
        return []
    index = document.line_index
    if index.text is not analysis.text:
        return []
    settings = ls.settings_for(analysis.uri)
    actions: list[types.CodeAction] = []
    for finding in analysis.scan.findings:
        if not finding.kind.is_model or (
            index.line_of(finding.span.start) > last_line
            or index.line_of(finding.span.end) < first_line
        ):
            continue
        diagnostic = diagnostic_for(finding, index, document.encoding, settings)
        edit = noqa_edit(analysis.text, finding.line, finding.code)
        if diagnostic is None or edit is None:
            continue
        change = DocumentChange(analysis.uri, analysis.version, analysis.text, (edit,), index)
        actions.append(
            ignore_action(finding.code, diagnostic, workspace_edit(ls.support, [change]))
        )
    return actions


def ignore_action(
    code: str, diagnostic: types.Diagnostic, edit: types.WorkspaceEdit
) -> types.CodeAction:
    """ "Ignore this call (# noqa: code)", in a file or a notebook cell: never preferred."""
    return types.CodeAction(
        title=IGNORE_TITLE.format(code=code),
        kind=types.CodeActionKind.QuickFix,
        is_preferred=False,
        diagnostics=[diagnostic],
        edit=edit,
    )


def reveal_call_command(
    ls: SwitcherooServer, uri: str, edits: Sequence[Edit], call: Span
) -> types.Command | None:
    """The command that shows the rewritten call once ``edits`` are applied to ``uri`` (the
    inserted KeyMapper class above it would push it out of view), for a client that runs it
    itself; else None. ``call`` is the call's span in the text before the edits."""
    if not ls.support.reveal_call:
        return None
    line = line_after_edits(edits, call.start, call.start_pos.line)
    return types.Command(
        title="Show the rewritten call", command=REVEAL_CALL_COMMAND, arguments=[uri, line]
    )


def quick_fix_action(
    diagnostic: types.Diagnostic | None,
    edit: types.WorkspaceEdit,
    finding: Finding,
    title: str | None = None,
    command: types.Command | None = None,
) -> types.CodeAction:
    """The quick fix for one call, in a file or a notebook cell (same kind everywhere, so
    clients and keybindings find it the same way). The title says when the fix does more than
    convert the call ("... and return the tree"); a call whose receiver may not be a model says
    so in the title and is not the preferred fix (no blind auto-apply). ``command`` runs in the
    client after the edit (see reveal_call_command)."""
    sure = finding.confidence.is_sure
    title = title or QUICKFIX_TITLE
    return types.CodeAction(
        title=title if sure else title + UNSURE_SUFFIX,
        kind=types.CodeActionKind.QuickFix,
        is_preferred=sure,
        diagnostics=[diagnostic] if diagnostic is not None else None,
        edit=edit,
        command=command,
    )


async def fix_all_edit(ls: SwitcherooServer, uri: str) -> types.WorkspaceEdit | None:
    """The fix-all edit for the document as it is now, or None when there is nothing to do."""
    for _ in range(MAX_ATTEMPTS):
        document = ls.open_document(uri)
        if document is None or not ls.settings_for(uri).enable:
            return None
        text, version = document.source, document.version
        if ls.too_large(uri, text):
            return None
        settings = await fix_settings(ls, uri, text)
        result: FixResult = await ls.run_fix(engine.fix_all, text, settings)
        if not is_current(ls, document, text):
            continue
        if not result.ok:
            return None
        change = DocumentChange(uri, version, text, result.edits, document.line_index)
        return workspace_edit(ls.support, [change])
    return None


def fix_all_action(uri: str, version: int | None) -> types.CodeAction:
    """The source action without its edit (filled in eagerly or by codeAction/resolve)."""
    return types.CodeAction(
        title=FIX_ALL_TITLE,
        kind=FIX_ALL_KIND,
        data={"uri": uri, "version": version, "action": "fixAll"},
    )


async def code_actions(
    ls: SwitcherooServer, params: types.CodeActionParams
) -> list[types.CodeAction] | None:
    """textDocument/codeAction, for the text the document holds when the answer goes out."""
    uri = params.text_document.uri
    only = params.context.only
    for _ in range(MAX_ATTEMPTS):
        analysis = await current_analysis(ls, uri)
        if analysis is None or analysis.scan is None or not analysis.scan.findings:
            return None
        actions: list[types.CodeAction] = []
        if kind_requested(only, QUICKFIX_KIND):
            first, last = sorted((params.range.start.line, params.range.end.line))
            actions.extend(await quick_fixes(ls, analysis, first, last))
            actions.extend(ignore_actions(ls, analysis, first, last))
        unsafe = ls.settings_for(uri).unsafe_fixes
        in_bulk = any(f.bulk_skip_reason(unsafe) is None for f in analysis.fixable)
        if in_bulk and kind_requested(only, FIX_ALL_KIND):  # unsure calls: their quick fix only
            action = fix_all_action(uri, analysis.version)
            if not ls.support.resolve_edit:
                action.edit = await fix_all_edit(ls, uri)
            if ls.support.resolve_edit or action.edit is not None:
                actions.append(action)
        document = ls.open_document(uri)
        if document is not None and is_current(ls, document, analysis.text):
            return actions or None
        # A change arrived while computing: these edits describe an older text; start over.
    return None


async def resolve_code_action(ls: SwitcherooServer, action: types.CodeAction) -> types.CodeAction:
    """codeAction/resolve: compute fix-all's edit from the document as it is now."""
    data: Any = action.data
    if action.edit is not None or not isinstance(data, dict) or data.get("action") != "fixAll":
        return action
    uri = data.get("uri")
    if not isinstance(uri, str):
        return action
    edit = await fix_all_edit(ls, uri)
    if edit is not None:
        action.edit = edit
    return action


async def will_save_wait_until(
    ls: SwitcherooServer, params: types.WillSaveTextDocumentParams
) -> list[types.TextEdit]:
    """fixOnSave: the fix-all edits, applied by the client before it writes the file; only
    on an explicit save (reason Manual), never on auto-save (AfterDelay, FocusOut)."""
    uri = params.text_document.uri
    if params.reason != types.TextDocumentSaveReason.Manual:
        return []
    settings = ls.settings_for(uri)
    if (
        not settings.fix_on_save
        or not settings.enable
        or ls.feature_state(DocumentDiagnostics).excluded(uri)
    ):
        return []
    for _ in range(MAX_ATTEMPTS):
        document = ls.open_document(uri)
        if document is None:
            return []
        text = document.source
        if ls.too_large(uri, text):
            return []
        settings = await fix_settings(ls, uri, text)
        result: FixResult = await ls.run_fix(engine.fix_all, text, settings)
        if not is_current(ls, document, text):
            continue
        if not result.ok:
            return []
        return text_edits(text, result.edits, document.encoding, document.line_index)
    return []


def register(server: SwitcherooServer) -> None:
    """codeAction (with resolve) and willSaveWaitUntil."""
    server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL_KIND],
            resolve_provider=True,
        ),
    )(code_actions)
    server.feature(types.CODE_ACTION_RESOLVE)(resolve_code_action)
    server.feature(types.TEXT_DOCUMENT_WILL_SAVE_WAIT_UNTIL)(will_save_wait_until)
