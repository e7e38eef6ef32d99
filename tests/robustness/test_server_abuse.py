"""The language server under abuse, over stdio, with a real client (pytest-lsp).

Each test starts ``python -m switcheroo_lsp`` as editors do and pushes it hard: thousands of
rapid edits, requests about documents it never saw, stale versions, positions past the end,
malformed and invalid JSON, a 20 MB document, binary content, a document that keeps flipping
between valid and invalid Python, cancelled requests. Afterwards the server must still answer,
must never have shown or logged a traceback, and must have logged a clear line where it refused
something. Memory is read from /proc; nothing here asserts a duration (waits only time out).
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from server_harness import TIMEOUT, ServerUnderTest, running_server

from clientside import client_position, code_action_params
from switcheroo_lsp.engine import scan

pytestmark = pytest.mark.slow

CALL = "model.load_state_dict(torch.load(path))"


def large_document(lines: int = 3000) -> str:
    """A realistic big module: functions, comments, non-ASCII, a call every 60 lines."""
    out = ['"""Générateur 🚀 of a big training module."""', "import torch", ""]
    for i in range(lines // 6):
        out += [
            f"def step_{i}(model, path, 模型={i}):",
            f"    # step {i}: train, then restore (état {i})",
            f"    x = torch.zeros({i}, {i % 7 + 1})",
            f"    optimizer.load_state_dict(sd_{i})" if i % 10 == 5 else f"    y = x * {i}",
            # the load ends a function that returns nothing: its tree is returned (a fix)
            f"    {CALL}" if i % 10 == 0 else "    return x",
            "",
        ]
    return "\n".join(out) + "\n"


def expected_ranges(text: str, encoding: str) -> list[tuple[int, int, int, int, str]]:
    """What the diagnostics of ``text`` must be: ranges in the client's encoding, and codes."""
    found = []
    for finding in scan(text).findings:
        start = client_position(text, finding.span.start, encoding)
        end = client_position(text, finding.span.end, encoding)
        found.append((start.line, start.character, end.line, end.character, finding.code))
    return sorted(found)


def published_ranges(params: types.PublishDiagnosticsParams) -> list[tuple[Any, ...]]:
    return sorted(
        (d.range.start.line, d.range.start.character, d.range.end.line, d.range.end.character)
        + (d.code,)
        for d in params.diagnostics
    )


def assert_no_traceback(server: ServerUnderTest) -> None:
    shown = server.user_visible_text()
    assert "Traceback" not in shown, shown[-3000:]
    assert server.alive


async def wait_for_version(server: ServerUnderTest, uri: str) -> types.PublishDiagnosticsParams:
    version = server.versions[uri]
    return await server.wait_for_publish(uri, lambda p: p.version == version)


async def test_two_thousand_rapid_changes_on_a_large_document(
    tmp_path: Path, figures: Counter[str]
) -> None:
    """2,000 didChange events as fast as the pipe takes them: the server keeps up (the final
    version is published), memory stays flat, and the final diagnostics match the final text."""
    async with running_server(tmp_path) as server:
        uri = (tmp_path / "big.py").as_uri()
        server.open(uri, large_document())
        first = await wait_for_version(server, uri)
        assert published_ranges(first) == expected_ranges(server.texts[uri], server.encoding)
        rng = random.Random(8)
        rss: list[int] = [server.rss()]
        lines = server.texts[uri].split("\n")
        comments = [i for i, line in enumerate(lines) if "# step" in line]
        calls = [i for i, line in enumerate(lines) if line.endswith(CALL)]
        events = 0
        for _round in range(4):
            for _ in range(500):
                roll = rng.random()
                if roll < 0.6:  # typing in a comment somewhere
                    line = rng.choice(comments)
                    column = rng.randrange(6, len(server.lines.get(uri, lines)[line]) + 1)
                    server.replace_in_line(uri, line, column, column, rng.choice("aé模🚀 "))
                elif roll < 0.9:  # break or mend a call: the text stops and starts parsing
                    line = rng.choice(calls)
                    content = server.lines.get(uri, lines)[line]
                    if content.endswith("))"):
                        server.replace_in_line(uri, line, len(content) - 1, len(content), "")
                    else:
                        server.replace_in_line(uri, line, len(content), len(content), ")")
                else:  # call-like text typed into a comment: never a finding
                    line = rng.choice(comments)
                    content = server.lines.get(uri, lines)[line]
                    server.replace_in_line(uri, line, len(content), len(content), f" 🚀 {CALL}")
                events += 1
            await wait_for_version(server, uri)
            rss.append(server.rss())
        server.sync_text(uri)
        # mend every broken call, so the final text parses and every call is checkable
        final_text = re.sub(
            r"torch\.load\(path\)$", "torch.load(path))", server.texts[uri], flags=re.M
        )
        server.replace(uri, 0, len(server.texts[uri]), final_text)
        last = await wait_for_version(server, uri)
        result = scan(final_text)
        assert result.syntax_error is None, final_text.splitlines()[result.syntax_error_line or 0]
        assert published_ranges(last) == expected_ranges(final_text, server.encoding)
        assert len([d for d in last.diagnostics if d.code == "checkpoint-keys"]) == len(calls)
        rss.append(server.rss())
        # flat: after the first round, the remaining 1,500 events add (almost) nothing
        growth = max(rss[2:]) - rss[1]
        assert growth < 40 * 2**20, [r // 2**20 for r in rss]
        await server.ping()
        assert_no_traceback(server)
    figures["server: didChange events survived"] += events + 1
    figures["server: peak RSS MiB (2,000 changes)"] = max(
        figures["server: peak RSS MiB (2,000 changes)"], max(rss) // 2**20
    )


async def test_requests_about_unknown_documents_are_answered_empty(tmp_path: Path) -> None:
    async with running_server(tmp_path) as server:
        unknown = (tmp_path / "never_opened.py").as_uri()
        assert (
            await server.request(types.TEXT_DOCUMENT_CODE_ACTION, code_action_params(unknown, 0, 3))
            is None
        )
        resolved = await server.request(
            types.CODE_ACTION_RESOLVE,
            types.CodeAction(
                title="Migrate all load_state_dict calls in this file",
                kind="source.fixAll.switcheroo",
                data={"uri": unknown, "version": 3, "action": "fixAll"},
            ),
        )
        assert resolved.edit is None
        edits = await server.request(
            types.TEXT_DOCUMENT_WILL_SAVE_WAIT_UNTIL,
            types.WillSaveTextDocumentParams(
                text_document=types.TextDocumentIdentifier(uri=unknown),
                reason=types.TextDocumentSaveReason.Manual,
            ),
        )
        assert not edits
        # notifications for it: a change, a save, a close of a document never opened
        server.change(unknown, 2, [types.TextDocumentContentChangeWholeDocument(text=CALL)])
        server.client.text_document_did_save(
            types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=unknown))
        )
        server.client.text_document_did_close(
            types.DidCloseTextDocumentParams(
                text_document=types.TextDocumentIdentifier(uri=unknown)
            )
        )
        await server.ping()
        assert_no_traceback(server)


async def test_stale_versions_and_out_of_range_positions(tmp_path: Path) -> None:
    async with running_server(tmp_path) as server:
        uri = (tmp_path / "doc.py").as_uri()
        text = f"import torch\n{CALL}\n"
        server.open(uri, text, version=10)
        await wait_for_version(server, uri)
        # a change claiming an older version than the document has
        server.change(uri, 3, [types.TextDocumentContentChangeWholeDocument(text=text + "x = 1\n")])
        # a change whose range lies far past the end, and one reversed
        far = types.Position(line=10_000, character=10_000)
        server.change(
            uri,
            11,
            [
                types.TextDocumentContentChangePartial(
                    range=types.Range(start=far, end=far), text="# tail\n"
                )
            ],
        )
        reversed_range = types.Range(
            start=types.Position(line=1, character=5), end=types.Position(line=0, character=0)
        )
        server.change(
            uri, 12, [types.TextDocumentContentChangePartial(range=reversed_range, text="")]
        )
        # requests at positions far out of range, and a resolve naming a stale version
        actions = await server.request(
            types.TEXT_DOCUMENT_CODE_ACTION,
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=types.Range(start=far, end=types.Position(line=20_000, character=0)),
                context=types.CodeActionContext(diagnostics=[]),
            ),
        )
        assert actions is None or isinstance(actions, list)
        await server.request(
            types.CODE_ACTION_RESOLVE,
            types.CodeAction(
                title="Migrate all load_state_dict calls in this file",
                kind="source.fixAll.switcheroo",
                data={"uri": uri, "version": 1, "action": "fixAll"},
            ),
        )
        # the client re-syncs with a full text: the server follows it exactly
        server.versions[uri] = 12
        server.set_text(uri, f"import torch\n\n{CALL}\n")
        last = await wait_for_version(server, uri)
        assert published_ranges(last) == expected_ranges(server.texts[uri], server.encoding)
        assert_no_traceback(server)


MALFORMED_REQUESTS: list[tuple[str, Any]] = [
    (types.TEXT_DOCUMENT_CODE_ACTION, {}),
    (types.TEXT_DOCUMENT_CODE_ACTION, {"textDocument": 5, "range": "everything"}),
    (types.TEXT_DOCUMENT_CODE_ACTION, [1, 2, 3]),
    (types.TEXT_DOCUMENT_CODE_ACTION, None),
    (
        types.TEXT_DOCUMENT_CODE_ACTION,
        {
            "textDocument": {"uri": "file:///x.py"},
            "range": {"start": {"line": -1, "character": -5}, "end": {"line": 0, "character": 0}},
            "context": {"diagnostics": [{"garbage": True}]},
        },
    ),
    (types.CODE_ACTION_RESOLVE, {"title": 7}),
    (types.CODE_ACTION_RESOLVE, {"title": "x", "data": "not a dict"}),
    (types.WORKSPACE_EXECUTE_COMMAND, {"command": "switcheroo.migrateFile", "arguments": [5]}),
    (types.WORKSPACE_EXECUTE_COMMAND, {"command": "switcheroo.migrateFile", "arguments": "x"}),
    (types.WORKSPACE_EXECUTE_COMMAND, {"command": "switcheroo.migrateFile"}),
    (types.WORKSPACE_EXECUTE_COMMAND, {"command": "no.such.command", "arguments": []}),
    (types.TEXT_DOCUMENT_WILL_SAVE_WAIT_UNTIL, {"textDocument": {}, "reason": 99}),
    ("switcheroo/noSuchMethod", {"a": 1}),
]


async def test_malformed_params_and_invalid_json_get_errors_not_crashes(
    tmp_path: Path, figures: Counter[str]
) -> None:
    async with running_server(tmp_path) as server:
        uri = (tmp_path / "doc.py").as_uri()
        server.open(uri, f"import torch\n{CALL}\n")
        await wait_for_version(server, uri)
        answers = []
        for number, (method, params) in enumerate(MALFORMED_REQUESTS):
            try:
                answers.append(await server.raw_request(method, params, f"bad-{number}"))
            except asyncio.TimeoutError:
                pytest.fail(f"no answer to malformed {method} {params!r}")
            except Exception as error:  # an error response is the right answer
                answers.append(error)
        # malformed notifications: no answer is possible, the server must just go on
        server.raw_notify(types.TEXT_DOCUMENT_DID_CHANGE, {"textDocument": {"uri": uri}})
        server.raw_notify(types.TEXT_DOCUMENT_DID_OPEN, {"textDocument": {"uri": 3, "text": None}})
        server.raw_notify(types.TEXT_DOCUMENT_DID_CLOSE, "nonsense")
        server.raw_notify(types.WORKSPACE_DID_CHANGE_CONFIGURATION, {"settings": [1, "x"]})
        # bytes that are not JSON at all, then a body cut short of its Content-Length
        writer = server.client.protocol.writer
        assert writer is not None
        body = b"{this is not json"
        writer.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        body = json.dumps({"jsonrpc": "2.0", "method": "initialized"}).encode()
        writer.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        await server.ping()
        server.set_text(uri, f"import torch\n\n{CALL}\n")
        last = await wait_for_version(server, uri)
        assert len(last.diagnostics) == 1
        assert_no_traceback(server)
        for answer in answers:  # errors say what was wrong, with no traceback attached
            if isinstance(answer, Exception):
                assert "Traceback" not in f"{answer} {getattr(answer, 'data', '')}"
        log = server.log_text()
        assert "invalid params for textDocument/codeAction" in log, log[-2000:]
        assert "ignored a message the server could not handle" in log
        assert not server.shown_messages  # a client's mistakes pop no error dialog up
    figures["server: malformed messages survived"] += len(MALFORMED_REQUESTS) + 6


async def test_a_20_mb_document(tmp_path: Path, figures: Counter[str]) -> None:
    """Over maxFileSize: skipped with one clear log line, the server stays responsive; with the
    limit raised it is analysed and the call on its last line is found at the right place."""
    blob = "WEIGHTS = (\n" + '    "QUJDRA==" "🚀"\n' * 1_100_000 + ")\n"
    big = f"import torch\n{blob}{CALL}\n"
    assert len(big.encode()) > 20 * 10**6
    async with running_server(tmp_path) as server:
        uri = (tmp_path / "huge.py").as_uri()
        server.open(uri, big)
        published = await wait_for_version(server, uri)
        assert not published.diagnostics
        line = await server.wait_for_log("over maxFileSize")
        assert f"huge.py: skipped, {len(big.encode())} bytes is over maxFileSize" in line
        await server.ping()
        assert_no_traceback(server)
    async with running_server(tmp_path, settings={"maxFileSize": 50_000_000}) as server:
        uri = (tmp_path / "huge.py").as_uri()
        server.open(uri, big)
        published = await wait_for_version(server, uri)
        assert published_ranges(published) == expected_ranges(big, server.encoding)
        figures["server: largest document analysed (MB)"] = len(big.encode()) // 10**6
        figures["server: peak RSS MiB (20 MB document)"] = server.rss() // 2**20
        assert_no_traceback(server)


async def test_binary_and_nul_content(tmp_path: Path) -> None:
    rng = random.Random(0)
    noise = bytes(rng.randrange(256) for _ in range(20_000)).decode("latin-1")
    contents = [
        noise,
        f"import torch\n{CALL}\n\x00\x00\x00",
        f"{CALL}\n\ud800 lone surrogate\n",  # JSON can carry what UTF-8 cannot
        "\ufeff\ufeff" + CALL + "\x1b[31m\x7f\x0c\n",
    ]
    async with running_server(tmp_path) as server:
        for number, text in enumerate(contents):
            uri = (tmp_path / f"binary_{number}.py").as_uri()
            server.open(uri, text)
            await wait_for_version(server, uri)
            await server.request(
                types.TEXT_DOCUMENT_CODE_ACTION, code_action_params(uri, 0, 5, only=["source"])
            )
        await server.ping()
        assert_no_traceback(server)
        log = server.log_text()
        for number in (1, 2):  # NUL bytes, a lone surrogate: one clear line each
            assert f"binary_{number}.py: not analysed, " in log, log[-2000:]


async def test_document_flipping_between_valid_and_invalid_python(
    tmp_path: Path, figures: Counter[str]
) -> None:
    """While the text does not parse, the calls that are still in place keep their diagnostics
    (never on a wrong line); the last valid version's diagnostics are exact."""
    valid = f"import torch\n\n\ndef restore(model, path):\n    {CALL}\n    return model\n"
    async with running_server(tmp_path) as server:
        uri = (tmp_path / "flip.py").as_uri()
        server.open(uri, valid)
        await wait_for_version(server, uri)
        broken_at = valid.index("return") + len("return")
        for flip in range(300):
            if flip % 2 == 0:
                server.replace(uri, broken_at, broken_at, " (")  # unbalanced: a SyntaxError
            else:
                server.replace(uri, broken_at, broken_at + 2, "")
            if flip % 50 == 0:
                published = await wait_for_version(server, uri)
                for diagnostic in published.diagnostics:  # never on a wrong line
                    assert diagnostic.range.start.line == 4
        server.replace(uri, broken_at, broken_at, " (")
        broken = await wait_for_version(server, uri)
        assert [d.range.start.line for d in broken.diagnostics] in ([], [4])
        server.set_text(uri, valid)
        last = await wait_for_version(server, uri)
        assert published_ranges(last) == expected_ranges(valid, server.encoding)
        assert_no_traceback(server)
    figures["server: didChange events survived"] += 302


async def test_cancelled_requests_are_answered_and_the_server_goes_on(
    tmp_path: Path, figures: Counter[str]
) -> None:
    async with running_server(tmp_path) as server:
        uri = (tmp_path / "doc.py").as_uri()
        server.open(uri, large_document(1200))
        await wait_for_version(server, uri)
        protocol = server.client.protocol
        futures = []
        for number in range(40):
            msg_id = f"cancel-me-{number}"
            params = code_action_params(uri, 0, 1200, only=["quickfix", "source.fixAll.switcheroo"])
            futures.append(
                asyncio.wrap_future(
                    protocol.send_request(types.TEXT_DOCUMENT_CODE_ACTION, params, msg_id=msg_id)
                )
            )
            protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))
        # every request gets an answer (a result or RequestCancelled): none is left hanging
        done = await asyncio.wait_for(asyncio.gather(*futures, return_exceptions=True), TIMEOUT)
        assert len(done) == 40
        command = protocol.send_request(
            types.WORKSPACE_EXECUTE_COMMAND,
            types.ExecuteCommandParams(command="switcheroo.migrateWorkspace", arguments=[]),
            msg_id="cancel-command",
        )
        protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="cancel-command"))
        await asyncio.wait_for(
            asyncio.gather(asyncio.wrap_future(command), return_exceptions=True), TIMEOUT
        )
        await server.ping()
        assert_no_traceback(server)
    figures["server: cancelled requests answered"] += 41


async def test_client_refusing_progress_still_gets_the_command_done(tmp_path: Path) -> None:
    """A failed window/workDoneProgress/create means: no progress (LSP), not a failed command."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "train.py").write_text(f"import torch\n{CALL}\n")
    async with running_server(tmp_path, workspace=workspace, refuse_progress=True) as server:
        answer = await server.request(
            types.WORKSPACE_EXECUTE_COMMAND,
            types.ExecuteCommandParams(command="switcheroo.migrateWorkspace", arguments=[]),
        )
        assert answer is not None
        assert_no_traceback(server)


async def test_migrate_workspace_over_a_hostile_tree(tmp_path: Path) -> None:
    """Invalid UTF-8, binary, a FIFO, symlinks out of the workspace and in loops, a file over
    maxFileSize, a file that does not parse: the command finishes, edits only the good file
    inside the workspace, and says why it skipped each of the others."""
    import os

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.py").write_text(f"import torch\n{CALL}\n")
    workspace = tmp_path / "ws"
    workspace.mkdir()
    good = workspace / "good.py"
    good.write_text(f"import torch\n{CALL}\n")
    (workspace / "latin1.py").write_bytes(f"{CALL}  # caf\xe9\n".encode("latin-1"))
    (workspace / "binary.py").write_bytes(b"\x00\x01" + CALL.encode() + b"\xff")
    (workspace / "broken.py").write_text(f"{CALL}\ndef (:\n")
    (workspace / "huge.py").write_text(f"{CALL}\n" + "x = 1\n" * 400_000)
    os.mkfifo(workspace / "pipe.py")
    (workspace / "out.py").symlink_to(outside / "victim.py")
    (workspace / "outdir").symlink_to(outside, target_is_directory=True)
    (workspace / "loop").symlink_to(workspace, target_is_directory=True)
    async with running_server(tmp_path, workspace=workspace) as server:
        answer = await server.request(
            types.WORKSPACE_EXECUTE_COMMAND,
            types.ExecuteCommandParams(command="switcheroo.migrateWorkspace", arguments=[]),
        )
        assert answer is not None
        touched, created = set(), set()
        for params in server.applied_edits:
            for change in params.edit.document_changes or []:
                if isinstance(change, types.CreateFile):  # the project's one KeyMapper module
                    created.add(change.uri)
                else:
                    touched.add(change.text_document.uri)
            touched.update((params.edit.changes or {}).keys())
        module = (workspace / "_keymapper.py").as_uri()
        assert touched - {module} == {good.as_uri()}
        assert created <= {module}
        log = server.log_text()
        for name in ("latin1.py", "binary.py", "broken.py", "huge.py"):
            assert name in log, (name, log[-3000:])
        assert_no_traceback(server)


async def test_pull_requests_interleaved_with_rapid_changes(tmp_path: Path) -> None:
    """A pulling client (Neovim) asks for diagnostics while edits keep coming: every request is
    answered, and a request sent after the last edit describes exactly the last text."""
    async with running_server(tmp_path, client_name="neovim", pull=True) as server:
        uri = (tmp_path / "pulled.py").as_uri()
        server.open(uri, large_document(1200))
        lines = server.texts[uri].split("\n")
        comments = [i for i, line in enumerate(lines) if "# step" in line]
        rng = random.Random(3)
        protocol = server.client.protocol
        pending = []
        for number in range(300):
            line = rng.choice(comments)
            content = server.lines.get(uri, lines)[line]
            # a comment line becomes a call or a comment again: the text always parses
            replacement = f"    {CALL}" if number % 3 == 0 else f"    # 🚀 edit {number}"
            server.replace_in_line(uri, line, 0, len(content), replacement)
            params = types.DocumentDiagnosticParams(
                text_document=types.TextDocumentIdentifier(uri=uri)
            )
            pending.append(
                asyncio.wrap_future(protocol.send_request(types.TEXT_DOCUMENT_DIAGNOSTIC, params))
            )
        answers = await asyncio.wait_for(asyncio.gather(*pending, return_exceptions=True), TIMEOUT)
        assert not [a for a in answers if isinstance(a, Exception)]
        final = server.sync_text(uri)
        report = await server.request(
            types.TEXT_DOCUMENT_DIAGNOSTIC,
            types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri)),
        )
        got = sorted(
            (d.range.start.line, d.range.start.character, d.range.end.line, d.range.end.character)
            + (d.code,)
            for d in report.items
        )
        assert scan(final).syntax_error is None
        assert got == expected_ranges(final, server.encoding)
        assert len(got) > 50
        assert_no_traceback(server)


def apply_lsp_edits(text: str, edits: list[Any], encoding: str) -> str:
    """Apply LSP text edits as an editor does: its own position arithmetic, from the end."""
    starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]
    codec, width = {"utf-8": ("utf-8", 1), "utf-16": ("utf-16-le", 2)}[encoding]

    def offset(position: types.Position) -> int:
        at, units = starts[position.line], 0
        while units < position.character:
            units += len(text[at].encode(codec, "surrogatepass")) // width
            at += 1
        assert units == position.character
        return at

    spans = sorted((offset(e.range.start), offset(e.range.end), e.new_text) for e in edits)
    for start, end, new_text in reversed(spans):
        text = text[:start] + new_text + text[end:]
    return text


@pytest.mark.parametrize("client_name", ["visual-studio-code", "neovim"])
async def test_fix_all_after_a_burst_applies_to_the_engines_text(
    tmp_path: Path, client_name: str
) -> None:
    """Right after a burst of non-ASCII edits, fix-all's edit carries the newest version and,
    applied in the client's encoding, gives exactly the engine's fix of the newest text."""
    from switcheroo_lsp.engine import apply_edits, fix_all

    async with running_server(tmp_path, client_name=client_name) as server:
        uri = (tmp_path / "burst.py").as_uri()
        server.open(uri, large_document(600))
        lines = server.texts[uri].split("\n")
        comments = [i for i, line in enumerate(lines) if "# step" in line]
        rng = random.Random(5)
        for _ in range(400):
            line = rng.choice(comments)
            content = server.lines.get(uri, lines)[line]
            server.replace_in_line(uri, line, len(content), len(content), rng.choice("é模🚀𝔘 "))
        final = server.sync_text(uri)
        action = await server.request(
            types.CODE_ACTION_RESOLVE,
            types.CodeAction(
                title="Migrate all load_state_dict calls in this file",
                kind="source.fixAll.switcheroo",
                data={"uri": uri, "version": server.versions[uri], "action": "fixAll"},
            ),
        )
        assert action.edit is not None
        if action.edit.document_changes:
            (change,) = action.edit.document_changes
            assert change.text_document.version == server.versions[uri]
            edits = list(change.edits)
        else:
            edits = list(action.edit.changes[uri])
        fixed = apply_lsp_edits(final, edits, server.encoding)
        assert fixed == apply_edits(final, fix_all(final).edits)
        compile(fixed, "burst.py", "exec")
        assert_no_traceback(server)


ODD_URIS = [
    "untitled:Untitled-1",
    "file:///tmp/with%20space/%C3%A9t%C3%A9%20%F0%9F%9A%80.py",
    "file:///c%3A/Users/me/train.py",
    "vscode-vfs://github/org/repo/train.py",
    "file:///tmp/a%23b/c%3Fd.py",
]


@pytest.mark.parametrize("uri", ODD_URIS)
async def test_odd_uris_get_diagnostics_and_fixes_under_the_uri_the_client_sent(
    tmp_path: Path, uri: str
) -> None:
    """Clients match diagnostics and edits to documents by the exact URI string they sent."""
    async with running_server(tmp_path) as server:
        text = f"import torch\n{CALL}\n"
        server.open(uri, text)
        published = await wait_for_version(server, uri)
        assert published.uri == uri
        assert published_ranges(published) == expected_ranges(text, server.encoding)
        actions = await server.request(
            types.TEXT_DOCUMENT_CODE_ACTION,
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=published.diagnostics[0].range,
                context=types.CodeActionContext(diagnostics=list(published.diagnostics)),
            ),
        )
        assert actions, "no quick fix"
        edit = actions[0].edit
        uris = [c.text_document.uri for c in edit.document_changes or []] + list(edit.changes or {})
        assert uris == [uri]
        answer = await server.request(
            types.WORKSPACE_EXECUTE_COMMAND,
            types.ExecuteCommandParams(command="switcheroo.migrateFile", arguments=[uri]),
        )
        assert answer is not None
        applied = [
            c.text_document.uri for p in server.applied_edits for c in p.edit.document_changes or []
        ] + [u for p in server.applied_edits for u in p.edit.changes or {}]
        assert applied == [uri]
        assert_no_traceback(server)


async def test_opening_and_closing_many_documents_leaks_nothing(
    tmp_path: Path, figures: Counter[str]
) -> None:
    """600 documents opened, edited, analysed and closed: per-document state goes with them."""
    body = large_document(1200)
    async with running_server(tmp_path) as server:
        rss = []
        for number in range(600):
            uri = (tmp_path / f"doc_{number}.py").as_uri()
            server.open(uri, body + f"# {number}\n")
            server.set_text(uri, body + f"# {number} 🚀\n{CALL}\n")
            if number % 100 == 99:
                await wait_for_version(server, uri)
                rss.append(server.rss())
            server.client.text_document_did_close(
                types.DidCloseTextDocumentParams(
                    text_document=types.TextDocumentIdentifier(uri=uri)
                )
            )
        await server.ping()
        assert max(rss[1:]) - rss[0] < 30 * 2**20, [r // 2**20 for r in rss]
        assert_no_traceback(server)
    figures["server: documents opened, analysed and closed"] += 600


def random_json(rng: random.Random, depth: int = 0) -> Any:
    """A random JSON-like value: wrong types, NaN, huge numbers, nesting."""
    roll = rng.randrange(9 if depth < 2 else 6)
    if roll == 6:
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(3))]
    if roll == 7:
        return {rng.choice(SETTING_NAMES): random_json(rng, depth + 1) for _ in range(2)}
    if roll == 8:
        return {"switcheroo": random_json(rng, depth + 1)}
    return [
        None,
        rng.random() > 0.5,
        rng.randrange(-(10**12), 10**12),
        rng.random() * 1e300,
        rng.choice(["", "error", "hint", "onSave", "import", "🚀", "x" * 300, "class"]),
        float("nan") if rng.random() > 0.5 else -0.0,
    ][roll]


SETTING_NAMES = [
    "enable",
    "severity",
    "run",
    "fixOnSave",
    "assignmentName",
    "preamble",
    "exclude",
    "maxFileSize",
    "hintNonModel",
    "unknownSetting",
]


async def test_a_flood_of_garbage_settings(tmp_path: Path, figures: Counter[str]) -> None:
    """500 didChangeConfiguration notifications with random JSON (wrong types, NaN, huge numbers,
    nesting): each problem is logged, the server goes on, and valid settings apply at the end."""
    rng = random.Random(11)
    garbage_start = {name: random_json(rng) for name in SETTING_NAMES}
    async with running_server(tmp_path, settings=garbage_start) as server:
        uri = (tmp_path / "doc.py").as_uri()
        text = f"import torch\n{CALL}\noptimizer.load_state_dict(sd)\n"
        server.open(uri, text)
        for number in range(500):
            settings = {name: random_json(rng) for name in rng.sample(SETTING_NAMES, 4)}
            if number % 2:  # what workspace/configuration answers (VS Code pulls settings)
                server.configuration.append(settings if number % 4 == 1 else random_json(rng))
            server.raw_notify(
                types.WORKSPACE_DID_CHANGE_CONFIGURATION, {"settings": {"switcheroo": settings}}
            )
        final = {"severity": "warning", "hintNonModel": False}
        server.configuration.append(final)
        server.raw_notify(
            types.WORKSPACE_DID_CHANGE_CONFIGURATION, {"settings": {"switcheroo": final}}
        )
        await server.ping()
        server.set_text(uri, text + "\n")
        wanted = [("checkpoint-keys", types.DiagnosticSeverity.Warning)]
        # the final settings win (a timeout here means they never applied)
        await server.wait_for_publish(
            uri,
            lambda p: (
                p.version == server.versions[uri]
                and [(d.code, d.severity) for d in p.diagnostics] == wanted
            ),
        )
        assert "switcheroo settings" in server.log_text()
        assert_no_traceback(server)
    figures["server: garbage settings survived"] += 501


def notebook_cell(uri: str, index: int) -> types.NotebookCell:
    return types.NotebookCell(kind=types.NotebookCellKind.Code, document=f"{uri}#cell{index}")


async def test_notebook_abuse(tmp_path: Path) -> None:
    """Structure changes past the end, text changes for cells that do not exist, a close of a
    notebook never opened: no crash, and a valid change afterwards is analysed exactly."""
    uri = (tmp_path / "train.ipynb").as_uri()
    async with running_server(tmp_path) as server:
        cells = [notebook_cell(uri, i) for i in range(3)]
        texts = ["import torch", f"{CALL}  # 🚀", "optimizer.load_state_dict(sd)"]
        server.client.notebook_document_did_open(
            types.DidOpenNotebookDocumentParams(
                notebook_document=types.NotebookDocument(
                    uri=uri, notebook_type="jupyter-notebook", version=1, cells=cells
                ),
                cell_text_documents=[
                    types.TextDocumentItem(
                        uri=cell.document, language_id="python", version=1, text=text
                    )
                    for cell, text in zip(cells, texts, strict=True)
                ],
            )
        )
        await server.wait_for_publish(cells[1].document, lambda p: len(p.diagnostics) == 1)
        bad_changes = [
            {"structure": {"array": {"start": 100, "deleteCount": 5}}},
            {"structure": {"array": {"start": 1, "deleteCount": 99}}},
            {
                "textContent": [
                    {
                        "document": {"uri": f"{uri}#nope", "version": 2},
                        "changes": [{"text": CALL}],
                    }
                ]
            },
            {"cells": {"data": [{"kind": 2, "document": f"{uri}#ghost"}]}},
        ]
        for version, change in enumerate(bad_changes, start=2):
            server.raw_notify(
                types.NOTEBOOK_DOCUMENT_DID_CHANGE,
                {"notebookDocument": {"uri": uri, "version": version}, "change": change},
            )
        server.raw_notify(
            types.NOTEBOOK_DOCUMENT_DID_CLOSE,
            {"notebookDocument": {"uri": "file:///never.ipynb"}, "cellTextDocuments": []},
        )
        await server.ping()
        # start over cleanly: close, reopen, and the analysis is exact again
        server.raw_notify(
            types.NOTEBOOK_DOCUMENT_DID_CLOSE,
            {
                "notebookDocument": {"uri": uri},
                "cellTextDocuments": [{"uri": c.document} for c in cells],
            },
        )
        server.client.notebook_document_did_open(
            types.DidOpenNotebookDocumentParams(
                notebook_document=types.NotebookDocument(
                    uri=uri, notebook_type="jupyter-notebook", version=10, cells=cells[:2]
                ),
                cell_text_documents=[
                    types.TextDocumentItem(
                        uri=cell.document, language_id="python", version=10, text=text
                    )
                    for cell, text in zip(cells[:2], texts, strict=False)
                ],
            )
        )
        published = await server.wait_for_publish(
            cells[1].document, lambda p: len(p.diagnostics) == 1 and p.version == 10
        )
        assert published.diagnostics[0].range.start.line == 0
        assert_no_traceback(server)
