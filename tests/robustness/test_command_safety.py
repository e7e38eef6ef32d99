"""switcheroo.migrateFile / migrateWorkspace never lose what the editor holds (issue 15, items 1,
2, 9 and 11): every edit is computed from the text the client has, unreadable files are skipped
without blocking the server, and a closed notebook's byte order mark is never written twice.

The real server over stdio, with VS Code's capabilities (versioned edits) and Neovim's (plain
``changes``); the test plays the editor and applies the edits as it would.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import client_capabilities

from clientside import (
    OpenDocuments,
    RecordingClient,
    apply_text_edits,
    client_fixture,
    did_open,
    edits_by_document,
    negotiated_encoding,
    wait_until,
)
from switcheroo_lsp.engine import apply_edits, fix_all

client = client_fixture(["visual-studio-code", "neovim"])
TIMEOUT = 30.0
MODEL_FILE = "import torch\nmodel = Net()\nmodel.load_state_dict(torch.load('m.pt'))\n"


def notebook_json(*sources: str) -> str:
    """An .ipynb as Jupyter writes it (one-space indent... two here), one code cell per source."""
    cells = [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": f"cell{i}",
            "metadata": {},
            "outputs": [],
            "source": source.splitlines(keepends=True),
        }
        for i, source in enumerate(sources)
    ]
    notebook = {
        "cells": cells,
        "metadata": {"language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(notebook, indent=1) + "\n"


def cell_sources(text: str) -> list[str]:
    """The code cells' sources of a notebook's JSON text (fails if it is not JSON)."""
    return ["".join(cell["source"]) for cell in json.loads(text)["cells"]]


class Editor(OpenDocuments):
    """The editor's side: open buffers, and workspace edits applied the way a client does."""

    async def initialize(self, workspace: Path | None = None) -> None:
        capabilities = copy.deepcopy(client_capabilities(self.client.client_name))  # type: ignore[attr-defined]
        folders = None
        if workspace is not None:
            folders = [types.WorkspaceFolder(uri=workspace.as_uri(), name="workspace")]
        result = await self.client.initialize_session(  # type: ignore[attr-defined]
            types.InitializeParams(
                capabilities=capabilities,
                workspace_folders=folders,
                root_uri=workspace.as_uri() if workspace is not None else None,
            )
        )
        self.encoding = negotiated_encoding(result)

    @property
    def versioned(self) -> bool:
        return self.client.client_name == "visual-studio-code"  # type: ignore[attr-defined]

    def apply(self, edit: types.WorkspaceEdit, disk: dict[str, str]) -> dict[str, str]:
        """Apply an edit like an editor: open documents in their buffers (refusing a stale
        version), closed files in their disk text. Returns the new texts per uri."""
        result = {}
        for uri, version, edits in edits_by_document(edit):
            if uri in self.texts:
                assert version is None or version == self.versions[uri], "stale version sent"
                result[uri] = apply_text_edits(self.texts[uri], edits, self.encoding)
            else:
                assert version is None
                result[uri] = apply_text_edits(disk[uri], edits, self.encoding)
        return result

    async def execute(self, command: str, *arguments: Any) -> dict[str, Any]:
        return await self.client.workspace_execute_command_async(  # type: ignore[attr-defined]
            types.ExecuteCommandParams(command=command, arguments=list(arguments))
        )


@pytest.fixture
def editor(client: RecordingClient) -> Editor:
    return Editor(client)


# -- 1. a notebook open as a text document ------------------------------------------------------


async def test_migrate_file_on_a_notebook_open_as_text_keeps_its_unsaved_cell(
    editor: Editor, tmp_path: Path
) -> None:
    path = tmp_path / "train.ipynb"
    on_disk = notebook_json(MODEL_FILE)
    path.write_text(on_disk)
    await editor.initialize()
    uri = path.as_uri()
    unsaved = notebook_json(MODEL_FILE, "print('an unsaved cell')\n")
    editor.texts[uri], editor.versions[uri] = unsaved, 4
    editor.client.text_document_did_open(  # type: ignore[attr-defined]
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="json", version=4, text=unsaved
            )
        )
    )

    report = await editor.execute("switcheroo.migrateFile", uri)

    assert report["applied"] is True, report
    [request] = editor.client.edit_requests  # type: ignore[attr-defined]
    [(_, version, _)] = edits_by_document(request.edit)
    if editor.versioned:
        assert version == 4
    new_text = editor.apply(request.edit, {})[uri]
    first, second = cell_sources(new_text)
    assert "KeyMapper.from_torch(" in first
    assert second == "print('an unsaved cell')\n"


# -- 11. a closed notebook with a byte order mark --------------------------------------------------


async def test_migrate_file_on_a_closed_notebook_with_a_bom_edits_the_text_the_editor_shows(
    editor: Editor, tmp_path: Path
) -> None:
    path = tmp_path / "bom.ipynb"
    shown = notebook_json(MODEL_FILE)
    path.write_bytes(b"\xef\xbb\xbf" + shown.encode())
    await editor.initialize()
    uri = path.as_uri()

    report = await editor.execute("switcheroo.migrateFile", uri)

    assert report["applied"] is True, report
    [request] = editor.client.edit_requests  # type: ignore[attr-defined]
    new_text = editor.apply(request.edit, {uri: shown})[uri]  # editors hide the BOM
    assert not new_text.startswith("\ufeff")
    [source] = cell_sources(new_text)
    assert "KeyMapper.from_torch(" in source


# These tests are about stale edits: one KeyMapper copy per file keeps every edit a text edit
# (module mode adds a CreateFile for the project's module, tested in tests/lsp).
INLINE = {"preamble": "inline"}

# -- 2. a document that moves on while migrateWorkspace runs -------------------------------------


def make_busy_workspace(root: Path, files: int = 40) -> None:
    """``a_first.py`` first, then enough files for the walk to take a while."""
    (root / "a_first.py").write_text(MODEL_FILE)
    for i in range(files):
        (root / f"m{i:03}.py").write_text(MODEL_FILE.replace("Net()", f"Net{i}()"))


async def during_the_walk(editor: Editor, action: Any) -> None:
    """Run ``action`` once the server has reported progress past the first file."""

    def past_first_file() -> bool | None:
        reports = editor.client.progress_reports  # type: ignore[attr-defined]
        return any(len(items) >= 3 for items in reports.values()) or None

    await wait_until(past_first_file, TIMEOUT)
    action()


async def test_a_file_opened_and_edited_during_migrate_workspace_gets_an_edit_for_its_buffer(
    editor: Editor, tmp_path: Path
) -> None:
    make_busy_workspace(tmp_path)
    await editor.initialize(tmp_path)
    uri = (tmp_path / "a_first.py").as_uri()
    edited = "import torch\nprint('typed in the editor')\n" + MODEL_FILE.replace(
        "import torch\n", ""
    )

    def open_and_edit() -> None:
        editor.open(uri, MODEL_FILE, version=1)
        editor.replace(uri, 0, len(MODEL_FILE), edited)

    watcher = asyncio.ensure_future(during_the_walk(editor, open_and_edit))
    report = await editor.execute("switcheroo.migrateWorkspace", INLINE)
    await watcher

    assert report["applied"] is True, report
    [request] = editor.client.edit_requests  # type: ignore[attr-defined]
    disk = {(tmp_path / p).as_uri(): (tmp_path / p).read_text() for p in os.listdir(tmp_path)}
    new_texts = editor.apply(request.edit, disk)
    assert new_texts[uri] == apply_edits(edited, fix_all(edited).edits)
    if editor.versioned:
        versions = {u: v for u, v, _ in edits_by_document(request.edit)}
        assert versions[uri] == editor.versions[uri]


async def test_a_closed_file_saved_during_migrate_workspace_gets_an_edit_for_the_new_text(
    editor: Editor, tmp_path: Path
) -> None:
    make_busy_workspace(tmp_path)
    await editor.initialize(tmp_path)
    path = tmp_path / "a_first.py"
    uri = path.as_uri()
    saved = "import torch\n\nmodel = Net()\nx = 1\nmodel.load_state_dict(torch.load('m.pt'))\n"

    watcher = asyncio.ensure_future(during_the_walk(editor, lambda: path.write_text(saved)))
    report = await editor.execute("switcheroo.migrateWorkspace", INLINE)
    await watcher

    assert report["applied"] is True, report
    [request] = editor.client.edit_requests  # type: ignore[attr-defined]
    disk = {(tmp_path / p).as_uri(): (tmp_path / p).read_text() for p in os.listdir(tmp_path)}
    new_texts = editor.apply(request.edit, disk)
    assert new_texts[uri] == apply_edits(saved, fix_all(saved).edits)


# -- 9. files that must not be read -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["pipe.py", "pipe.ipynb"])
async def test_migrate_file_on_a_fifo_is_skipped_and_diagnostics_go_on(
    editor: Editor, tmp_path: Path, name: str
) -> None:
    fifo = tmp_path / name
    os.mkfifo(fifo)
    await editor.initialize()

    report = await asyncio.wait_for(editor.execute("switcheroo.migrateFile", fifo.as_uri()), 30)

    [skip] = report["skipped"]
    assert "FIFO" in skip["reason"]
    # The server still works: a document opened now gets its diagnostics.
    uri = (tmp_path / "open.py").as_uri()
    did_open(editor.client, uri, MODEL_FILE)

    if editor.versioned:  # VS Code's capabilities: pushed diagnostics
        diagnostics = await wait_until(
            lambda: editor.client.diagnostics.get(uri) or None,  # type: ignore[attr-defined]
            TIMEOUT,
        )
    else:  # Neovim's: pulled
        pulled = await editor.client.text_document_diagnostic_async(  # type: ignore[attr-defined]
            types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
        diagnostics = pulled.items
    assert len(diagnostics) == 1  # the load_state_dict call


async def test_migrate_file_on_a_device_is_skipped(editor: Editor) -> None:
    await editor.initialize()
    report = await asyncio.wait_for(
        editor.execute("switcheroo.migrateFile", "file:///dev/zero"), 30
    )
    [skip] = report["skipped"]
    assert "not a regular file" in skip["reason"]


async def test_migrate_workspace_with_a_4_gb_file_skips_it_and_migrates_the_rest(
    editor: Editor, tmp_path: Path
) -> None:
    (tmp_path / "model.py").write_text(MODEL_FILE)
    with (tmp_path / "huge.py").open("wb") as stream:
        stream.truncate(4 * 1024**3)  # sparse
    await editor.initialize(tmp_path)

    report = await editor.execute("switcheroo.migrateWorkspace", INLINE)

    assert report["applied"] is True, report
    assert [item["uri"] for item in report["changed"]] == [(tmp_path / "model.py").as_uri()]
    [skip] = report["skipped"]
    assert skip["uri"] == (tmp_path / "huge.py").as_uri()
    assert "larger than maxFileSize" in skip["reason"]
