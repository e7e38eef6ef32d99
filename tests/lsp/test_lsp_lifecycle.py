"""Starting and stopping: the console entry point, stdio and TCP, shutdown/exit."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys

import pytest
from lsp_session import CLIENTS, SAMPLE, Session
from lsprotocol import types
from lsprotocol.converters import get_converter
from pygls.exceptions import JsonRpcException
from pytest_lsp import client_capabilities

from clientside import code_action_params
from switcheroo_lsp import __version__


def test_version_flag_prints_the_version():
    done = subprocess.run(
        [sys.executable, "-m", "switcheroo_lsp", "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0
    assert done.stdout.strip() == f"switcheroo-lsp {__version__}"


def test_a_bad_tcp_address_is_a_clear_usage_error():
    done = subprocess.run(
        [sys.executable, "-m", "switcheroo_lsp", "--tcp", "localhost:notaport"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "HOST:PORT" in done.stderr


async def test_shutdown_then_exit_ends_the_process_cleanly(session: Session):
    await session.initialize()
    session.open("file:///project/train.py", SAMPLE)
    await session.diagnostics("file:///project/train.py")

    await session.client.shutdown_async(None)
    session.client.exit(None)
    assert session.client._server is not None
    returncode = await asyncio.wait_for(session.client._server.wait(), 15)

    assert returncode == 0
    session.client.capabilities = None  # already shut down: the fixture must not do it again


async def test_cancel_request_cancels_a_code_action_in_progress(session: Session):
    # Hold the server in its wait for the client's settings: the request is then deterministically
    # still running when the cancellation arrives.
    gate = session.client.configuration_gate = asyncio.Event()
    await session.initialize()
    uri = "file:///project/train.py"
    session.open(uri, SAMPLE)
    pending = asyncio.ensure_future(
        session.client.protocol.send_request_async(
            types.TEXT_DOCUMENT_CODE_ACTION,
            code_action_params(uri, 4, 4),
            msg_id="held-code-action",
        )
    )
    await asyncio.sleep(0)  # let the request task write the request before the cancel
    session.client.cancel_request(types.CancelParams(id="held-code-action"))
    try:
        with pytest.raises(JsonRpcException, match="cancel"):
            await asyncio.wait_for(pending, 15)
    finally:
        gate.set()
    # The server goes on: the same request, not cancelled, is answered.
    action, *_ = await session.code_actions(uri, 4)
    assert action.title == "Convert to KeyMapper.from_torch"


def _frame(message: dict) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


async def _read_message(reader: asyncio.StreamReader) -> dict:
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return json.loads(await reader.readexactly(length))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("client_name", CLIENTS)
async def test_tcp_transport_serves_lsp(client_name: str):
    port = _free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "switcheroo_lsp", "--tcp", f"127.0.0.1:{port}"
    )
    try:
        for _ in range(200):
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                await asyncio.sleep(0.05)
        else:
            pytest.fail("the server never listened")
        capabilities = get_converter().unstructure(client_capabilities(client_name))
        writer.write(
            _frame(
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "initialize",
                    "params": {"processId": None, "rootUri": None, "capabilities": capabilities},
                }
            )
        )
        await writer.drain()
        while (answer := await asyncio.wait_for(_read_message(reader), 15)).get("id") != 1:
            pass
        result = answer["result"]
        assert result["serverInfo"] == {"name": "switcheroo-lsp", "version": __version__}
        assert result["capabilities"]["codeActionProvider"]["resolveProvider"] is True
        assert set(result["capabilities"]["executeCommandProvider"]["commands"]) >= {
            "switcheroo.migrateFile",
            "switcheroo.migrateWorkspace",
        }
        writer.write(_frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
        writer.write(_frame({"jsonrpc": "2.0", "method": "exit"}))
        await writer.drain()
        writer.close()
    finally:
        if server.returncode is None:
            server.terminate()
        await server.wait()


def test_capabilities_advertise_what_the_issue_asks_for():
    """The fix-all kind and the quick fix kind are advertised for clients that filter by kind."""
    from switcheroo_lsp.lsp.actions import FIX_ALL_KIND
    from switcheroo_lsp.lsp.server import create_server

    server = create_server()
    options = server.protocol.fm.feature_options[types.TEXT_DOCUMENT_CODE_ACTION]
    assert options.resolve_provider is True
    assert FIX_ALL_KIND in options.code_action_kinds
    assert types.CodeActionKind.QuickFix in options.code_action_kinds
