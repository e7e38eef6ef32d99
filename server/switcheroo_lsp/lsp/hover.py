"""textDocument/hover on a reported call: the diagnostic's message and its rule's documentation
(the same text as `switcheroo rule CODE`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from ..engine.explain import explain
from ..engine.rules import RULES, rule_markdown
from .diagnostics import DocumentDiagnostics, diagnostic_for
from .notebook_sync import route_cells

if TYPE_CHECKING:
    from .state import SwitcherooServer


async def hover(ls: SwitcherooServer, params: types.HoverParams) -> types.Hover | None:
    """The hover for the reported call under the cursor, or None elsewhere."""
    uri = params.text_document.uri
    document = ls.open_document(uri)
    if document is None:
        return None
    analysis = await ls.feature_state(DocumentDiagnostics).analysis_for(document)
    index = document.line_index
    if analysis.scan is None or index.text is not analysis.text:
        return None
    offset = index.offset(params.position, document.encoding)
    settings = ls.settings_for(uri)
    for finding in analysis.scan.findings:
        if not finding.span.start <= offset <= finding.span.end:
            continue
        diagnostic = diagnostic_for(finding, index, document.encoding, settings)
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


async def cell_hover(
    ls: SwitcherooServer, params: types.HoverParams, notebook_uri: str
) -> types.Hover | None:
    """textDocument/hover in a notebook cell."""
    return None  # a cell alone is not what the notebook's diagnostics were computed from


def register(server: SwitcherooServer) -> None:
    """textDocument/hover, in files and notebook cells."""
    server.feature(types.TEXT_DOCUMENT_HOVER)(hover)
    route_cells(server, types.TEXT_DOCUMENT_HOVER, cell_hover)
