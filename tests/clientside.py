"""The editor's side of the protocol, shared by the LSP, notebook and robustness suites.

Position arithmetic here is written independently of the server's (and of the engine's), so a bug
in theirs cannot hide itself: tests turn offsets into LSP positions and apply the server's text
edits the way an editor does. The rest is the client plumbing every suite repeated: a pytest-lsp
client recording what the server sends, and the didOpen / didChange / codeAction messages.
Importable from every suite because tests/conftest.py puts this directory on ``sys.path``.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, TypeVar, Union

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import ClientServerConfig, LanguageClient
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

# encoding name on the wire -> (Python codec, bytes per code unit)
CODECS = {"utf-8": ("utf-8", 1), "utf-16": ("utf-16-le", 2), "utf-32": ("utf-32-le", 4)}
LINE_BREAK = re.compile(r"\r\n|\r|\n")  # the line breaks LSP counts

T = TypeVar("T")


# -- position arithmetic, as an editor does it -----------------------------------------------------


def line_starts(text: str) -> list[int]:
    """Code-point offset where each line starts."""
    return [0] + [m.end() for m in LINE_BREAK.finditer(text)]


def code_units(text: str, encoding: str) -> int:
    """Length of ``text`` in the code units of ``encoding`` (lone surrogates count, as in editors
    that hold UTF-16)."""
    codec, width = CODECS[encoding]
    return len(text.encode(codec, "surrogatepass")) // width


def client_offset(text: str, position: types.Position, encoding: str) -> int:
    """Code-point offset of an LSP position; asserts it is inside its line and whole characters."""
    starts = line_starts(text)
    assert position.line < len(starts), f"position {position} is past the end of the text"
    offset = starts[position.line]
    units = 0
    while units < position.character:
        assert offset < len(text) and text[offset] not in "\r\n", f"{position} is past the line"
        units += code_units(text[offset], encoding)
        offset += 1
    assert units == position.character, f"{position} splits a character"
    return offset


def client_position(text: str, offset: int, encoding: str) -> types.Position:
    """LSP position of a code-point offset."""
    starts = line_starts(text)
    line = max(i for i, start in enumerate(starts) if start <= offset)
    return types.Position(line=line, character=code_units(text[starts[line] : offset], encoding))


def client_range(text: str, start: int, end: int, encoding: str) -> types.Range:
    """LSP range of code-point offsets."""
    return types.Range(
        start=client_position(text, start, encoding), end=client_position(text, end, encoding)
    )


def end_position(text: str, encoding: str) -> types.Position:
    """LSP position of the end of ``text``."""
    return client_position(text, len(text), encoding)


def apply_text_edits(text: str, edits: Sequence[types.TextEdit], encoding: str) -> str:
    """Apply LSP text edits (all against the same original text) the way an editor does;
    asserts they do not overlap."""
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


def edits_by_document(
    edit: types.WorkspaceEdit,
) -> list[tuple[str, int | None, Sequence[types.TextEdit]]]:
    """(uri, version or None, text edits) of each document a workspace edit changes, from
    ``documentChanges`` (versioned) or plain ``changes``."""
    per_uri: list[tuple[str, int | None, Sequence[Any]]] = []
    for change in edit.document_changes or []:
        assert isinstance(change, types.TextDocumentEdit), change
        per_uri.append((change.text_document.uri, change.text_document.version, change.edits))
    for uri, edits in (edit.changes or {}).items():
        per_uri.append((uri, None, edits))
    return per_uri


# -- the client ----------------------------------------------------------------------------------


def server_command() -> list[str]:
    """The server in the form the README gives editors: like the ``switcheroo-lsp`` console
    script, it never puts the working directory on ``sys.path`` (``-P``, Python 3.11+; on 3.10 the
    package's own guard does it). tests/robustness/test_no_user_code.py starts the plain form."""
    safe_path = ["-P"] if sys.version_info >= (3, 11) else []
    return [sys.executable, *safe_path, "-m", "switcheroo_lsp"]


def negotiated_encoding(result: types.InitializeResult) -> str:
    """The position encoding the server chose (UTF-16 when it names none)."""
    negotiated = result.capabilities.position_encoding or "utf-16"
    return str(getattr(negotiated, "value", negotiated))


class RecordingClient(LanguageClient):
    """pytest-lsp's client, also recording every publish, edit request, registration, refresh
    and progress."""

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


def client_converter() -> Any:
    """pygls' converter, telling a Command from a CodeAction as LSP does (a string ``command``).
    lsprotocol reads every object with a ``command`` key as a Command, so a CodeAction that
    carries a command after its edit would arrive as a garbled Command."""
    converter = default_converter()

    def command_or_code_action(obj: Any, _: type) -> types.Command | types.CodeAction:
        if isinstance(obj.get("command"), str):
            return converter.structure(obj, types.Command)
        return converter.structure(obj, types.CodeAction)

    converter.register_structure_hook(
        Union[types.Command, types.CodeAction],  # noqa: UP007 (the hook is keyed on this type)
        command_or_code_action,
    )
    return converter


def make_client() -> RecordingClient:
    """A client with pytest-lsp's handlers plus recording ones."""
    client = RecordingClient(converter_factory=client_converter)
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


def client_fixture(clients: list[str]) -> Any:
    """A suite's ``client`` fixture: a started (not yet initialized) server process and a
    recording client, once per capability set named in ``clients`` (in ``client.client_name``)."""

    @pytest_lsp.fixture(
        config=ClientServerConfig(server_command=server_command(), client_factory=make_client),
        params=clients,
        ids=clients,
    )
    async def client(
        request: pytest.FixtureRequest, client: RecordingClient
    ) -> AsyncIterator[None]:
        client.client_name = request.param
        yield
        await client.shutdown_session()

    return client


def did_open(client: LanguageClient, uri: str, text: str, version: int = 1) -> None:
    """textDocument/didOpen of a Python file."""
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=version, text=text
            )
        )
    )


def did_change(
    client: LanguageClient,
    uri: str,
    version: int,
    changes: Sequence[types.TextDocumentContentChangeEvent],
) -> None:
    """textDocument/didChange."""
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=list(changes),
        )
    )


def replacement(
    text: str, start: int, end: int, new_text: str, encoding: str
) -> types.TextDocumentContentChangePartial:
    """The incremental change replacing ``text[start:end]`` (code-point offsets)."""
    return types.TextDocumentContentChangePartial(
        range=client_range(text, start, end, encoding), text=new_text
    )


@dataclass
class OpenDocuments:
    """Python files open in a client: their texts and versions as the editor holds them, kept in
    step with the didOpen / incremental didChange it sends."""

    client: LanguageClient
    _: KW_ONLY
    encoding: str = "utf-16"  # the negotiated position encoding
    texts: dict[str, str] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)

    def open(self, uri: str, text: str, version: int = 1) -> None:
        """didOpen."""
        self.texts[uri], self.versions[uri] = text, version
        did_open(self.client, uri, text, version)

    def replace(self, uri: str, start: int, end: int, new_text: str) -> int:
        """didChange with one incremental edit at code-point offsets; returns the new version."""
        old = self.texts[uri]
        change = replacement(old, start, end, new_text, self.encoding)
        self.texts[uri] = old[:start] + new_text + old[end:]
        self.versions[uri] += 1
        did_change(self.client, uri, self.versions[uri], [change])
        return self.versions[uri]


def code_action_params(
    uri: str,
    first_line: int,
    last_line: int,
    *,
    only: list[str] | None = None,
    diagnostics: list[types.Diagnostic] | None = None,
) -> types.CodeActionParams:
    """textDocument/codeAction parameters for the lines from the start of ``first_line`` to the
    start of ``last_line`` (a cursor when they are the same)."""
    return types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(
            start=types.Position(line=first_line, character=0),
            end=types.Position(line=last_line, character=0),
        ),
        context=types.CodeActionContext(diagnostics=diagnostics or [], only=only),
    )


async def code_actions_at(
    client: LanguageClient,
    uri: str,
    line: int,
    *,
    only: list[str] | None = None,
    diagnostics: list[types.Diagnostic] | None = None,
) -> list[types.CodeAction]:
    """textDocument/codeAction for the cursor at the start of ``line`` (commands left out)."""
    params = code_action_params(uri, line, line, only=only, diagnostics=diagnostics)
    result = await client.text_document_code_action_async(params)
    return [action for action in result or [] if isinstance(action, types.CodeAction)]


async def wait_until(find: Callable[[], T | None], timeout: float) -> T:
    """The first non-None answer of ``find``, polled while the client receives messages; a wait
    past ``timeout`` seconds fails as a hang (never an assertion about speed)."""

    async def poll() -> T:
        while (found := find()) is None:
            await asyncio.sleep(0.01)
        return found

    return await asyncio.wait_for(poll(), timeout)
