"""textDocument/hover on a reported call: the diagnostic's message and its rule's documentation
(the same text as `switcheroo rule CODE`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from ..engine.explain import explain
from ..engine.rules import RULES, rule_markdown
from .diagnostics import diagnostic_for

if TYPE_CHECKING:
    from .server import SwitcherooServer


async def hover(ls: SwitcherooServer, params: types.HoverParams) -> types.Hover | None:
    """The hover for the reported call under the cursor and the checkpoint it reads (or a
    checkpoint literal's preview, see preview.py), or None elsewhere."""
    uri = params.text_document.uri
    document = ls.open_document(uri)
    if document is None:
        return None
    analysis = await ls.diagnostics.analysis_for(document)
    index = document.line_index
    if analysis.scan is None or index.text is not analysis.text:
        return None
    offset = index.offset(params.position, document.encoding)
    settings = ls.settings_for(uri)
    parts: list[str] = []
    where: types.Range | None = None
    for finding in analysis.scan.findings:
        if not finding.span.start <= offset <= finding.span.end:
            continue
        diagnostic = diagnostic_for(finding, index, document.encoding, settings)
        rule = RULES.get(finding.code)
        if diagnostic is None or rule is None:
            continue
        parts.append(f"{explain(finding)}\n\n---\n\n{rule_markdown(rule)}")
        where = diagnostic.range
        break
    checkpoint = await ls.previews.hover(document, offset)
    if checkpoint is not None:
        text, start, end = checkpoint
        parts.insert(0, text)  # what the checkpoint becomes first, the rule's text after
        where = where or index.range(start, end, document.encoding)
    if not parts:
        return None
    return types.Hover(
        contents=types.MarkupContent(
            kind=types.MarkupKind.Markdown, value="\n\n---\n\n".join(parts)
        ),
        range=where,
    )


def register(server: SwitcherooServer) -> None:
    """textDocument/hover."""
    server.feature(types.TEXT_DOCUMENT_HOVER)(hover)
