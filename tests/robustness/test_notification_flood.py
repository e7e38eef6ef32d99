"""A flood of notifications leaves nothing behind in the server (issue 15, item 7).

pygls 2.1.1 files the future of every notification it handles (didOpen, didChange, didClose...)
in the protocol's table of pending requests and never removes it: 20,000 didChange left 20,003
entries (+44 MiB). The server's protocol forgets each one when its handler is done; this test
drives the server's own protocol object with real JSON-RPC messages and counts the table.
"""

from __future__ import annotations

import asyncio
from typing import Any

from switcheroo_lsp.lsp.server import create_server

FLOOD = 20_000
URI = "file:///flood.py"


class Discard:
    """The transport: the server's answers and notifications are not read here."""

    def write(self, data: Any) -> None:
        pass

    def close(self) -> None:
        pass


def did_change(version: int) -> dict[str, Any]:
    """One keystroke: the digit on line 0 replaced."""
    change = {
        "range": {"start": {"line": 0, "character": 4}, "end": {"line": 0, "character": 5}},
        "text": str(version % 10),
    }
    return {
        "jsonrpc": "2.0",
        "method": "textDocument/didChange",
        "params": {"textDocument": {"uri": URI, "version": version}, "contentChanges": [change]},
    }


async def flood(count: int) -> tuple[int, str]:
    """(entries left in the pending table, the document's final text) after ``count`` edits."""
    server = create_server()
    protocol = server.protocol
    protocol.set_writer(Discard())

    def receive(message: dict[str, Any]) -> None:
        protocol.handle_message(protocol.structure_message(message))

    try:
        initialize = {"capabilities": {}, "processId": None, "rootUri": None}
        receive({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": initialize})
        await asyncio.sleep(0.1)
        receive({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        document = {"uri": URI, "languageId": "python", "version": 1, "text": "x = 1\n"}
        receive(
            {
                "jsonrpc": "2.0",
                "method": "textDocument/didOpen",
                "params": {"textDocument": document},
            }
        )
        for version in range(2, count + 2):
            receive(did_change(version))
            if version % 500 == 0:
                await asyncio.sleep(0)  # let the event loop run, as between real messages
        await asyncio.sleep(0.5)
        text = server.workspace.get_text_document(URI).source
        receive(
            {
                "jsonrpc": "2.0",
                "method": "textDocument/didClose",
                "params": {"textDocument": {"uri": URI}},
            }
        )
        await asyncio.sleep(0.2)
        return len(protocol._request_futures), text
    finally:
        server.engine_executor.shutdown(wait=False, cancel_futures=True)


def test_20000_did_change_leave_no_pending_entries_behind(figures: Any) -> None:
    left, text = asyncio.run(flood(FLOOD))
    assert text == f"x = {(FLOOD + 1) % 10}\n"  # every edit was applied
    assert left <= 2  # the session's own (initialize/initialized), not one per notification
    figures["notification flood: didChange handled with no entry left behind"] += FLOOD
