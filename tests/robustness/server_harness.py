"""A real language-server process driven by pytest-lsp's client, for abuse tests and benchmarks.

The server is started as editors start it (``python -P -m switcheroo_lsp``, stdio) with a log file,
so tests can read what it logged, and its process id, so they can read its memory from /proc.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import LanguageClient, client_capabilities

from clientside import (
    OpenDocuments,
    code_action_params,
    code_units,
    did_change,
    negotiated_encoding,
    server_command,
    wait_until,
)

TIMEOUT = 180.0  # a wait longer than this fails the test as a hang (never a speed assertion);
# generous, because a loaded 2-core machine makes the hostile-tree migration take over a minute


def rss_bytes(pid: int) -> int:
    """Resident memory of a process, from /proc (VmRSS)."""
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    assert match, status
    return int(match.group(1)) * 1024


@dataclass
class ServerUnderTest(OpenDocuments):
    """One server process and the client talking to it."""

    log_file: Path
    published: list[types.PublishDiagnosticsParams] = field(default_factory=list)
    log_messages: list[types.LogMessageParams] = field(default_factory=list)
    shown_messages: list[types.ShowMessageParams] = field(default_factory=list)
    applied_edits: list[types.ApplyWorkspaceEditParams] = field(default_factory=list)
    configuration: list[Any] = field(default_factory=list)
    lines: dict[str, list[str]] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        server = self.client._server
        assert server is not None
        return server.pid

    @property
    def alive(self) -> bool:
        server = self.client._server
        return server is not None and server.returncode is None

    def rss(self) -> int:
        return rss_bytes(self.pid)

    def log_text(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace")

    # -- documents (open / replace: OpenDocuments) ----------------------------------------------

    def replace_in_line(self, uri: str, line: int, start: int, end: int, new_text: str) -> int:
        """One incremental didChange inside one line (code-point columns), costing O(line) on
        this side, so thousands of them measure the server, not the client. Keeps
        ``lines[uri]`` current; ``texts[uri]`` is rebuilt by :meth:`sync_text`."""
        lines = self.lines.setdefault(uri, self.texts[uri].split("\n"))
        content = lines[line]

        def units(column: int) -> int:
            return code_units(content[:column], self.encoding)

        change = types.TextDocumentContentChangePartial(
            range=types.Range(
                start=types.Position(line=line, character=units(start)),
                end=types.Position(line=line, character=units(end)),
            ),
            text=new_text,
        )
        lines[line] = content[:start] + new_text + content[end:]
        self.versions[uri] += 1
        self.change(uri, self.versions[uri], [change])
        return self.versions[uri]

    def sync_text(self, uri: str) -> str:
        """The text after :meth:`replace_in_line` edits."""
        if uri in self.lines:
            self.texts[uri] = "\n".join(self.lines.pop(uri))
        return self.texts[uri]

    def set_text(self, uri: str, text: str) -> int:
        """A full-text didChange (no range); returns the new version."""
        self.texts[uri] = text
        self.versions[uri] += 1
        self.change(
            uri, self.versions[uri], [types.TextDocumentContentChangeWholeDocument(text=text)]
        )
        return self.versions[uri]

    def change(self, uri: str, version: int, changes: list[Any]) -> None:
        did_change(self.client, uri, version, changes)

    # -- waiting -----------------------------------------------------------------------------

    async def wait_for_publish(
        self, uri: str, predicate: Callable[[types.PublishDiagnosticsParams], bool]
    ) -> types.PublishDiagnosticsParams:
        """The first publish for ``uri`` matching ``predicate`` (already received ones count)."""

        def newest() -> types.PublishDiagnosticsParams | None:
            published = reversed(self.published)
            return next((p for p in published if p.uri == uri and predicate(p)), None)

        return await wait_until(newest, TIMEOUT)

    async def wait_for_log(self, pattern: str) -> str:
        """The first window/logMessage matching a regular expression."""

        def first() -> str | None:
            logged = (p.message for p in self.log_messages)
            return next((message for message in logged if re.search(pattern, message)), None)

        return await wait_until(first, TIMEOUT)

    async def request(self, method: str, params: Any) -> Any:
        """A request through the client's own serialisation."""
        future = self.client.protocol.send_request_async(method, params)
        return await asyncio.wait_for(future, TIMEOUT)

    async def raw_request(self, method: str, params: Any, msg_id: str) -> Any:
        """A request written as raw JSON, bypassing the client's validation (a sloppy client)."""
        protocol = self.client.protocol
        future = protocol._request_futures[msg_id] = asyncio.get_running_loop().create_future()
        protocol._result_types[msg_id] = protocol.get_result_type(method)
        protocol._send_data({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return await asyncio.wait_for(future, TIMEOUT)

    def raw_notify(self, method: str, params: Any) -> None:
        self.client.protocol._send_data({"jsonrpc": "2.0", "method": method, "params": params})

    async def ping(self) -> None:
        """A round trip proving the server still answers (a codeAction on an unknown document)."""
        await self.request(
            types.TEXT_DOCUMENT_CODE_ACTION, code_action_params("file:///ping.py", 0, 0)
        )

    def user_visible_text(self) -> str:
        """Everything the server showed or logged to the user, plus its own log file."""
        parts = [p.message for p in self.log_messages] + [p.message for p in self.shown_messages]
        return "\n".join(parts) + "\n" + self.log_text()


def _client(refuse_progress: bool) -> tuple[LanguageClient, dict[str, list[Any]]]:
    client = LanguageClient(converter_factory=default_converter)
    seen: dict[str, list[Any]] = {
        "published": [],
        "log": [],
        "show": [],
        "edits": [],
        "configuration": [],  # the last one is what workspace/configuration answers
    }

    @client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
    def progress_create(params: types.WorkDoneProgressCreateParams) -> None:
        if refuse_progress:
            raise RuntimeError("this client shows no progress")

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register_capability(params: types.RegistrationParams) -> None:
        return None

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def publish(params: types.PublishDiagnosticsParams) -> None:
        seen["published"].append(params)

    @client.feature(types.WINDOW_LOG_MESSAGE)
    def log_message(params: types.LogMessageParams) -> None:
        seen["log"].append(params)

    @client.feature(types.WINDOW_SHOW_MESSAGE)
    def show_message(params: types.ShowMessageParams) -> None:
        seen["show"].append(params)

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        seen["edits"].append(params)
        return types.ApplyWorkspaceEditResult(applied=True)

    @client.feature(types.WORKSPACE_CONFIGURATION)
    def configuration(params: types.ConfigurationParams) -> list[Any]:
        return [seen["configuration"][-1] if seen["configuration"] else None for _ in params.items]

    return client, seen


@contextlib.asynccontextmanager
async def running_server(
    tmp: Path,
    *,
    client_name: str = "visual-studio-code",
    settings: dict[str, Any] | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    workspace: Path | None = None,
    refuse_progress: bool = False,
    pull: bool = False,
    command: list[str] | None = None,
) -> AsyncIterator[ServerUnderTest]:
    """Start the server (``command``, default :func:`clientside.server_command`; stdio, log level
    INFO into a file) and initialize it with a real editor's capabilities (push diagnostics unless
    ``pull``)."""
    log_file = tmp / f"server-{os.getpid()}-{id(tmp)}.log"
    client, seen = _client(refuse_progress)
    await client.start_io(
        *(command or server_command()),
        "--log-file",
        str(log_file),
        "--log-level",
        "INFO",
        cwd=str(cwd or tmp),
        env=env,
    )
    capabilities = client_capabilities(client_name)
    if capabilities.text_document is not None:
        # push (every version is published) unless the test pulls
        capabilities.text_document.diagnostic = (
            types.DiagnosticClientCapabilities(dynamic_registration=False) if pull else None
        )
    folders = None
    if workspace is not None:
        folders = [types.WorkspaceFolder(uri=workspace.as_uri(), name="workspace")]
    result = await asyncio.wait_for(
        client.initialize_session(
            types.InitializeParams(
                capabilities=capabilities,
                initialization_options=settings or {},
                workspace_folders=folders,
                root_uri=workspace.as_uri() if workspace else None,
            )
        ),
        TIMEOUT,
    )
    under_test = ServerUnderTest(
        client,
        log_file,
        encoding=negotiated_encoding(result),
        published=seen["published"],
        log_messages=seen["log"],
        shown_messages=seen["show"],
        applied_edits=seen["edits"],
        configuration=seen["configuration"],
    )
    try:
        yield under_test
    finally:
        if under_test.alive:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.shutdown_session(), TIMEOUT)
        with contextlib.suppress(Exception):
            await client.stop()
