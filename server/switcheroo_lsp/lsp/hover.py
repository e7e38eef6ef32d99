"""textDocument/hover on a reported call: the diagnostic's message and its rule's documentation
(the same text as `switcheroo rule CODE`), in files and in notebook cells alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from lsprotocol import types

from ..engine.explain import explain
from ..engine.model import Finding
from ..engine.notebook import mask_magics
from ..engine.rules import RULES, rule_markdown
from ..settings import Settings
from .diagnostics import DocumentDiagnostics, diagnostic_for
from .notebook_diagnostics import NotebookDiagnostics
from .notebook_sync import route_cells
from .positions import Encoding, LineIndex
from .preview import CheckpointPreviews

if TYPE_CHECKING:
    from .state import SwitcherooServer


def hover_at(
    findings: Sequence[Finding],
    index: LineIndex,
    encoding: Encoding,
    settings: Settings,
    position: types.Position,
) -> types.Hover | None:
    """The hover for the reported call at ``position`` among ``findings`` (a file's, or one
    notebook cell's in that cell's offsets, ``index`` being its text), or None elsewhere."""
    offset = index.offset(position, encoding)
    for finding in findings:
        if not finding.span.start <= offset <= finding.span.end:
            continue
        diagnostic = diagnostic_for(finding, index, encoding, settings)
        rule = RULES.get(finding.code)
        if diagnostic is None or rule is None:
            continue
        return types.Hover(
            contents=types.MarkupContent(
                kind=types.MarkupKind.Markdown,
                value=f"{explain(finding)}\n\n---\n\n{rule_markdown(rule)}",
            ),
            range=diagnostic.range,
        )
    return None


async def hover(ls: SwitcherooServer, params: types.HoverParams) -> types.Hover | None:
    """textDocument/hover in a file."""
    uri = params.text_document.uri
    document = ls.open_document(uri)
    if document is None:
        return None
    analysis = await ls.feature_state(DocumentDiagnostics).analysis_for(document)
    index = document.line_index
    if analysis.scan is None or index.text is not analysis.text:
        return None
    found = hover_at(
        analysis.scan.findings, index, document.encoding, ls.settings_for(uri), params.position
    )
    return await with_checkpoint(ls, found, uri, index, document.encoding, params.position)


async def cell_hover(
    ls: SwitcherooServer, params: types.HoverParams, notebook_uri: str
) -> types.Hover | None:
    """textDocument/hover in a notebook cell: the cell's findings come from the whole notebook's
    analysis (what its diagnostics show: a receiver assigned in another cell counts)."""
    analysis = await ls.feature_state(NotebookDiagnostics).current(notebook_uri)
    if analysis is None or analysis.scan is None:
        return None
    cell = analysis.snapshot.index_of(params.text_document.uri)
    if cell is None:
        return None
    text = analysis.snapshot.cells[cell].text
    index = LineIndex(text)
    found = hover_at(
        analysis.scan.in_cell(cell),
        index,
        ls.support.encoding,
        ls.settings_for(notebook_uri),
        params.position,
    )
    return await with_checkpoint(
        ls,
        found,
        params.text_document.uri,
        index,
        ls.support.encoding,
        params.position,
        located_at=notebook_uri,
        python=mask_magics(text) or "",  # the cell as Python: magics masked, same offsets
    )


async def with_checkpoint(
    ls: SwitcherooServer,
    found: types.Hover | None,
    uri: str,
    index: LineIndex,
    encoding: Encoding,
    position: types.Position,
    *,
    located_at: str | None = None,
    python: str | None = None,
) -> types.Hover | None:
    """The hover with, first, what the checkpoint under the cursor becomes (a checkpoint
    literal's preview alone where no call is reported; see preview.py)."""
    offset = index.offset(position, encoding)
    previews = ls.feature_state(CheckpointPreviews)
    text = index.text if python is None else python
    checkpoint = await previews.hover(uri, text, offset, located_at=located_at)
    if checkpoint is None:
        return found
    text, start, end = checkpoint
    parts = [text]  # what the checkpoint becomes first, the rule's text after
    if found is not None and isinstance(found.contents, types.MarkupContent):
        parts.append(found.contents.value)
    return types.Hover(
        contents=types.MarkupContent(
            kind=types.MarkupKind.Markdown, value="\n\n---\n\n".join(parts)
        ),
        range=found.range if found is not None else index.range(start, end, encoding),
    )


def register(server: SwitcherooServer) -> None:
    """textDocument/hover, in files and notebook cells."""
    server.feature(types.TEXT_DOCUMENT_HOVER)(hover)
    route_cells(server, types.TEXT_DOCUMENT_HOVER, cell_hover)
