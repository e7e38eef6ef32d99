"""End-to-end harness (the editor's side): the real server over stdio, driven by pytest-lsp with real client capabilities.

Every test that takes ``session`` runs twice: with VS Code's capability set (UTF-16, push
diagnostics, versioned workspace edits) and with Neovim's (UTF-8, pull diagnostics, plain
``changes``). ``Session`` plays the editor: it keeps the documents' texts and versions, applies the
server's edits the way a client does (its own position arithmetic, not the server's) and sends the
resulting changes back.
"""

from __future__ import annotations

import asyncio
import copy
import re
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

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


class RecordingClient(LanguageClient):
    """pytest-lsp's client, also recording every publish, edit request and progress."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.published: list[types.PublishDiagnosticsParams] = []
        self.edit_requests: list[types.ApplyWorkspaceEditParams] = []
        self.on_apply_edit: Callable[[types.ApplyWorkspaceEditParams], Any] | None = None
        self.on_progress_create: Callable[[types.WorkDoneProgressCreateParams], Any] | None = None
        self.refresh_requests = 0
        self.registrations: list[types.Registration] = []
        # When set, answers to workspace/configuration wait for it (to hold the server mid-start).
        self.configuration_gate: asyncio.Event | None = None
        self.client_name = ""


def make_client() -> RecordingClient:
    """A client with pytest-lsp's handlers plus recording ones."""
    client = RecordingClient(converter_factory=default_converter)
    features = dict(DEFAULT_CLIENT_FEATURES)
    for method in (
        types.WORKSPACE_CONFIGURATION,
        types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS,
        types.WINDOW_WORK_DONE_PROGRESS_CREATE,
        types.WORKSPACE_DIAGNOSTIC_REFRESH,
    ):
        features.pop(method, None)
    register_lsp_features(client, features)

    @client.feature(types.WORKSPACE_CONFIGURATION)
    async def configuration(params: types.ConfigurationParams) -> list[Any]:
        if client.configuration_gate is not None:
            await client.configuration_gate.wait()
        return [
            client.get_configuration(section=item.section, scope_uri=item.scope_uri)
            for item in params.items
        ]

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def publish(params: types.PublishDiagnosticsParams) -> None:
        client.published.append(params)
        client.diagnostics[params.uri] = params.diagnostics

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    async def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        client.edit_requests.append(params)
        if client.on_apply_edit is not None:
            answer = client.on_apply_edit(params)
            if asyncio.iscoroutine(answer):
                answer = await answer
            if answer is not None:
                return answer
        return types.ApplyWorkspaceEditResult(applied=True)

    @client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
    async def progress_create(params: types.WorkDoneProgressCreateParams) -> None:
        client.progress_reports.setdefault(params.token, [])
        if client.on_progress_create is not None:
            answer = client.on_progress_create(params)
            if asyncio.iscoroutine(answer):
                await answer

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register_capability(params: types.RegistrationParams) -> None:
        client.registrations.extend(params.registrations)

    @client.feature(types.WORKSPACE_DIAGNOSTIC_REFRESH)
    def refresh(params: None) -> None:
        client.refresh_requests += 1

    return client


# -- the editor's side of position arithmetic (independent of the server's) ----------------------

_CODECS = {"utf-8": ("utf-8", 1), "utf-16": ("utf-16-le", 2), "utf-32": ("utf-32-le", 4)}


def client_offset(text: str, position: types.Position, encoding: str) -> int:
    """Code-point offset of an LSP position, as an editor computes it."""
    starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]
    assert position.line < len(starts), f"position {position} is past the end of the text"
    start = starts[position.line]
    codec, width = _CODECS[encoding]
    units = 0
    offset = start
    while units < position.character:
        assert offset < len(text) and text[offset] not in "\r\n", f"{position} is past the line"
        units += len(text[offset].encode(codec)) // width
        offset += 1
    assert units == position.character, f"{position} splits a character"
    return offset


def client_position(text: str, offset: int, encoding: str) -> types.Position:
    """LSP position of a code-point offset, as an editor computes it."""
    starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]
    line = max(i for i, start in enumerate(starts) if start <= offset)
    codec, width = _CODECS[encoding]
    return types.Position(
        line=line, character=len(text[starts[line] : offset].encode(codec)) // width
    )


def client_range(text: str, start: int, end: int, encoding: str) -> types.Range:
    """LSP range of code-point offsets."""
    return types.Range(
        start=client_position(text, start, encoding), end=client_position(text, end, encoding)
    )


def apply_text_edits(text: str, edits: Sequence[types.TextEdit], encoding: str) -> str:
    """Apply LSP text edits (all against the same original text) the way a client does."""
    spans = sorted(
        (
            client_offset(text, edit.range.start, encoding),
            client_offset(text, edit.range.end, encoding),
            edit.new_text,
        )
        for edit in edits
    )
    for (_, end, _), (start, _, _) in zip(spans, spans[1:], strict=False):
        assert end <= start, "overlapping edits"
    for start, end, new_text in reversed(spans):
        text = text[:start] + new_text + text[end:]
    return text


@dataclass
class Session:
    """One client (capability set) talking to one server process."""

    client: RecordingClient
    client_name: str
    capabilities: types.ClientCapabilities = field(init=False)
    encoding: str = "utf-16"
    pull: bool = False
    texts: dict[str, str] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)

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
        negotiated = result.capabilities.position_encoding or "utf-16"
        self.encoding = str(getattr(negotiated, "value", negotiated))
        self.pull = result.capabilities.diagnostic_provider is not None
        return result

    # -- documents -------------------------------------------------------------------------------

    def open(self, uri: str, text: str, version: int = 1) -> None:
        """didOpen."""
        self.texts[uri], self.versions[uri] = text, version
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id="python", version=version, text=text
                )
            )
        )

    def replace(self, uri: str, start: int, end: int, new_text: str) -> int:
        """didChange with one incremental edit at code-point offsets; returns the new version."""
        old = self.texts[uri]
        change = types.TextDocumentContentChangePartial(
            range=client_range(old, start, end, self.encoding), text=new_text
        )
        self.texts[uri] = old[:start] + new_text + old[end:]
        self.versions[uri] += 1
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(
                    uri=uri, version=self.versions[uri]
                ),
                content_changes=[change],
            )
        )
        return self.versions[uri]

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
        per_uri: list[tuple[str, int | None, Sequence[Any]]] = []
        for change in edit.document_changes or []:
            assert isinstance(change, types.TextDocumentEdit), change
            per_uri.append((change.text_document.uri, change.text_document.version, change.edits))
        for uri, edits in (edit.changes or {}).items():
            per_uri.append((uri, None, edits))
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

        async def poll() -> types.PublishDiagnosticsParams:
            while True:
                for params in self.client.published[after:]:
                    if params.uri == uri and predicate(params):
                        return params
                await asyncio.sleep(0.01)

        return await asyncio.wait_for(poll(), TIMEOUT)

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
        return text[
            client_offset(text, range_.start, self.encoding) : client_offset(
                text, range_.end, self.encoding
            )
        ]

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
        cursor = types.Position(line=line, character=0)
        result = await self.client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=types.Range(start=cursor, end=cursor),
                context=types.CodeActionContext(diagnostics=diagnostics or [], only=only),
            )
        )
        return [action for action in result or [] if isinstance(action, types.CodeAction)]


def server_command() -> list[str]:
    """The server as editors start it."""
    return [sys.executable, "-m", "switcheroo_lsp"]


def file_uri(path) -> str:
    """A file:// uri for a path."""
    return path.resolve().as_uri()
