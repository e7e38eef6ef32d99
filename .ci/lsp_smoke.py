"""Start a language server once over stdio: initialize, shutdown, exit; fail loudly otherwise.

Usage: python lsp_smoke.py COMMAND [ARG...]   (for example: lsp_smoke.py /venv/bin/switcheroo-lsp)
Uses only the standard library, so it runs with any Python next to any installed server.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading

TIMEOUT_S = 60


def send(stream, message: dict) -> None:
    body = json.dumps(message).encode("utf-8")
    stream.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    stream.flush()


def receive(stream) -> dict:
    length = None
    while True:
        line = stream.readline()
        if not line:
            raise SystemExit("the server closed stdout before answering")
        line = line.strip()
        if not line:
            break
        name, _, value = line.decode("ascii").partition(":")
        if name.lower() == "content-length":
            length = int(value)
    if length is None:
        raise SystemExit("the server sent a message without Content-Length")
    return json.loads(stream.read(length))


def answer_to(stream, request_id: int) -> dict:
    while True:  # skip notifications (log messages) and server requests
        message = receive(stream)
        if message.get("id") == request_id and "method" not in message:
            return message


def main(command: list[str]) -> int:
    server = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    timer = threading.Timer(TIMEOUT_S, server.kill)
    timer.start()
    try:
        send(
            server.stdin,
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {"processId": None, "rootUri": None, "capabilities": {}},
            },
        )
        initialized = answer_to(server.stdout, 1)
        if "error" in initialized:
            raise SystemExit(f"initialize failed: {initialized['error']}")
        info = initialized["result"].get("serverInfo", {})
        send(server.stdin, {"jsonrpc": "2.0", "method": "initialized", "params": {}})
        send(server.stdin, {"jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": None})
        if "error" in answer_to(server.stdout, 2):
            raise SystemExit("shutdown failed")
        send(server.stdin, {"jsonrpc": "2.0", "method": "exit", "params": None})
        code = server.wait(timeout=TIMEOUT_S)
    finally:
        timer.cancel()
        if server.poll() is None:
            server.kill()
    if code != 0:
        raise SystemExit(f"the server exited with {code} after shutdown/exit")
    print(f"initialize/shutdown/exit OK: {info.get('name', '?')} {info.get('version', '?')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
