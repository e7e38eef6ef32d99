"""End-to-end harness (the editor's side): the real server over stdio, driven by pytest-lsp with real client capabilities.

Every test that takes ``session`` runs twice: with VS Code's capability set (UTF-16, push
diagnostics, versioned workspace edits) and with Neovim's (UTF-8, pull diagnostics, plain
``changes``). ``Session`` plays the editor: it keeps the documents' texts and versions, applies the
server's edits the way a client does (its own position arithmetic, not the server's) and sends the
resulting changes back. The client-side pieces shared with the other suites are in
tests/clientside.py.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from lsprotocol import types
from pytest_lsp import client_capabilities

from clientside import (
    OpenDocuments,
    RecordingClient,
    apply_text_edits,
    client_offset,
    code_actions_at,
    edits_by_document,
    negotiated_encoding,
    wait_until,
)

CLIENTS = ["visual-studio-code", "neovim"]
TIMEOUT = 15.0  # seconds before a wait fails the test (never an assertion about speed)

MODEL_CALL = "model.load_state_dict(torch.load(path))"
SAMPLE = (
    "import torch\n"
    "\n"
    "model = Net()\n"
    "optimizer = torch.optim.Adam(model.parameters())\n"
    f"{MODEL_CALL}\n"
    "optimizer.load_state_dict(state['optimizer'])\n"
)


@dataclass
class Session(OpenDocuments):
    """One client (capability set) talking to one server process."""

    client: RecordingClient
    client_name: str
    capabilities: types.ClientCapabilities = field(init=False)
    pull: bool = False

    def __post_init__(self) -> None:
        self.capabilities = copy.deepcopy(client_capabilities(self.client_name))

    # -- lifecycle -------------------------------------------------------------------------------

    async def initialize(
        self,
        *,
        settings: Any = None,
        pull: bool | None = None,
        resolve: bool | None = None,
        document_changes: bool | None = None,
        configuration: bool | None = None,
        workspace: str | None = None,
    ) -> types.InitializeResult:
        """Initialize with this client's capabilities, optionally altered for one behaviour."""
        caps = self.capabilities
        if pull is not None:
            caps.text_document.diagnostic = (
                types.DiagnosticClientCapabilities(dynamic_registration=False) if pull else None
            )
        if resolve is not None:
            caps.text_document.code_action.resolve_support = (
                types.ClientCodeActionResolveOptions(properties=["edit"]) if resolve else None
            )
        if document_changes is not None:
            caps.workspace.workspace_edit.document_changes = document_changes
        if configuration is not None:
            caps.workspace.configuration = configuration
        folders = None
        if workspace is not None:
            folders = [types.WorkspaceFolder(uri=workspace, name="workspace")]
        result = await self.client.initialize_session(
            types.InitializeParams(
                capabilities=caps,
                initialization_options=settings,
                workspace_folders=folders,
                root_uri=workspace,
            )
        )
        self.encoding = negotiated_encoding(result)
        self.pull = result.capabilities.diagnostic_provider is not None
        return result

    # -- documents -------------------------------------------------------------------------------

    def set_text(self, uri: str, text: str) -> int:
        """didChange replacing the whole text with one incremental edit."""
        return self.replace(uri, 0, len(self.texts[uri]), text)

    def close(self, uri: str) -> None:
        """didClose."""
        self.texts.pop(uri, None)
        self.client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )

    def apply(self, edit: types.WorkspaceEdit) -> bool:
        """Apply a workspace edit to open documents like an editor (refusing stale versions)."""
        per_uri = edits_by_document(edit)
        for uri, version, _ in per_uri:
            if version is not None and self.versions.get(uri) != version:
                return False
        for uri, _, edits in per_uri:
            new_text = apply_text_edits(self.texts[uri], edits, self.encoding)
            self.set_text(uri, new_text)
        return True

    # -- diagnostics -----------------------------------------------------------------------------

    async def wait_for_publish(
        self,
        uri: str,
        predicate: Callable[[types.PublishDiagnosticsParams], bool] = lambda p: True,
        *,
        after: int = 0,
    ) -> types.PublishDiagnosticsParams:
        """The first recorded publish for ``uri`` that matches, counting from publish ``after``
        (publishes that arrived before this call count too)."""

        def first() -> types.PublishDiagnosticsParams | None:
            published = self.client.published[after:]
            return next((p for p in published if p.uri == uri and predicate(p)), None)

        return await wait_until(first, TIMEOUT)

    async def pull_report(
        self, uri: str, previous_result_id: str | None = None
    ) -> types.DocumentDiagnosticReport:
        """textDocument/diagnostic."""
        return await self.client.text_document_diagnostic_async(
            types.DocumentDiagnosticParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                previous_result_id=previous_result_id,
            )
        )

    async def diagnostics(self, uri: str) -> list[types.Diagnostic]:
        """The diagnostics of the document's current version, by pull or push as negotiated."""
        if self.pull:
            report = await self.pull_report(uri)
            assert isinstance(report, types.RelatedFullDocumentDiagnosticReport)
            return list(report.items)
        version = self.versions[uri]
        published = await self.wait_for_publish(uri, lambda p: p.version == version)
        return list(published.diagnostics)

    def text_at(self, uri: str, range_: types.Range) -> str:
        """The text a range covers in the current document."""
        text = self.texts[uri]
        start = client_offset(text, range_.start, self.encoding)
        return text[start : client_offset(text, range_.end, self.encoding)]

    async def raw_request(self, method: str, params: dict[str, Any]) -> Any:
        """Send a request as raw JSON (bypassing the client's own validation), like a sloppy client."""
        protocol = self.client.protocol
        msg_id = f"raw-{len(protocol._request_futures)}-{id(params)}"
        future: Future[Any] = Future()
        protocol._request_futures[msg_id] = future
        protocol._result_types[msg_id] = protocol.get_result_type(method)
        protocol._send_data({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return await asyncio.wait_for(asyncio.wrap_future(future), TIMEOUT)

    # -- actions ---------------------------------------------------------------------------------

    async def code_actions(
        self,
        uri: str,
        line: int,
        *,
        only: list[str] | None = None,
        diagnostics: list[types.Diagnostic] | None = None,
    ) -> list[types.CodeAction]:
        """textDocument/codeAction for the cursor at the start of ``line``."""
        return await code_actions_at(self.client, uri, line, only=only, diagnostics=diagnostics)


def file_uri(path) -> str:
    """A file:// uri for a path."""
    return path.resolve().as_uri()


def converting(actions: list[types.CodeAction] | None) -> list[types.CodeAction]:
    """The "Convert to KeyMapper.from_torch..." quick fixes among a line's code actions (the
    "Ignore this call (# noqa: ...)" action stands beside each of them)."""
    return [a for a in actions or [] if a.title.startswith("Convert to KeyMapper.from_torch")]
