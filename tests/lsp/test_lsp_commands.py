"""switcheroo.migrateFile and switcheroo.migrateWorkspace end to end, through workspace/applyEdit."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsp_session import SAMPLE, Session, file_uri
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from clientside import apply_text_edits
from switcheroo_lsp.engine import apply_edits, fix_all

MODEL_FILE = "import torch\nmodel = Net()\nmodel.load_state_dict(torch.load('m.pt'))\n"


def edits_by_uri(edit: types.WorkspaceEdit) -> dict[str, list[types.TextEdit]]:
    """Text edits per uri, from either shape of workspace edit."""
    result: dict[str, list[types.TextEdit]] = {}
    for change in edit.document_changes or []:
        result.setdefault(change.text_document.uri, []).extend(change.edits)
    for uri, edits in (edit.changes or {}).items():
        result.setdefault(uri, []).extend(edits)
    return result


def make_workspace(root: Path) -> None:
    (root / "pkg").mkdir()
    (root / "pkg" / "model.py").write_text(MODEL_FILE)
    (root / "train.py").write_text(SAMPLE)
    (root / "clean.py").write_text("print('nothing to migrate')\n")
    (root / "broken.py").write_text("model.load_state_dict(sd\n")
    (root / "latin1.py").write_bytes(b"# caf\xe9\nmodel.load_state_dict(sd)\n")
    (root / ".venv" / "lib").mkdir(parents=True)
    (root / ".venv" / "lib" / "vendored.py").write_text(MODEL_FILE)
    (root / "generated").mkdir()
    (root / "generated" / "out.py").write_text(MODEL_FILE)


async def execute(session: Session, command: str, *arguments) -> dict:
    return await session.client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command, arguments=list(arguments))
    )


async def test_migrate_file_applies_fix_all_through_apply_edit(session: Session):
    await session.initialize()
    uri = "file:///project/train.py"
    session.open(uri, SAMPLE)

    report = await execute(session, "switcheroo.migrateFile", uri)

    [request] = session.client.edit_requests
    assert session.apply(request.edit)
    assert session.texts[uri] == apply_edits(SAMPLE, fix_all(SAMPLE).edits)
    assert report["applied"] is True
    assert report["changed"] == [{"uri": uri, "fixed": 1}]


async def test_migrate_file_on_a_file_that_is_not_open_reads_it_from_disk(
    session: Session, tmp_path: Path
):
    await session.initialize()
    path = tmp_path / "model.py"
    path.write_text(MODEL_FILE)

    report = await execute(session, "switcheroo.migrateFile", file_uri(path))

    [request] = session.client.edit_requests
    edits = edits_by_uri(request.edit)[file_uri(path)]
    assert apply_text_edits(MODEL_FILE, edits, session.encoding) == apply_edits(
        MODEL_FILE, fix_all(MODEL_FILE).edits
    )
    assert report["applied"] is True


async def test_migrate_file_reports_a_refused_edit(session: Session):
    await session.initialize()
    uri = "file:///project/train.py"
    session.open(uri, SAMPLE)
    session.client.on_apply_edit = lambda params: types.ApplyWorkspaceEditResult(
        applied=False, failure_reason="read-only"
    )

    report = await execute(session, "switcheroo.migrateFile", uri)

    assert report["applied"] is False
    assert "read-only" in report["message"]


async def test_migrate_file_without_a_uri_is_a_clear_error(session: Session):
    await session.initialize()

    with pytest.raises(JsonRpcException, match="document uri"):
        await execute(session, "switcheroo.migrateFile")


async def test_migrate_file_with_a_syntax_error_changes_nothing_and_says_why(session: Session):
    await session.initialize()
    uri = "file:///project/broken.py"
    session.open(uri, "model.load_state_dict(sd\n")

    report = await execute(session, "switcheroo.migrateFile", uri)

    assert session.client.edit_requests == []
    assert report["applied"] is False
    assert report["skipped"] and "parse" in report["skipped"][0]["reason"]


async def test_migrate_workspace_is_one_edit_with_progress_and_a_report(
    session: Session, tmp_path: Path
):
    make_workspace(tmp_path)
    await session.initialize(workspace=file_uri(tmp_path), settings={"exclude": ["generated"]})
    open_uri = file_uri(tmp_path / "train.py")
    unsaved = "# unsaved change\n" + SAMPLE
    session.open(open_uri, unsaved, version=3)

    # copies: this test is about the one edit (module mode: tests/lsp/test_lsp_module_mode.py)
    report = await execute(session, "switcheroo.migrateWorkspace", {"preamble": "inline"})

    [request] = session.client.edit_requests  # one workspace edit for everything
    per_uri = edits_by_uri(request.edit)
    model_uri = file_uri(tmp_path / "pkg" / "model.py")
    assert set(per_uri) == {open_uri, model_uri}
    # The open document is migrated from the editor's text, unsaved changes included.
    assert apply_text_edits(unsaved, per_uri[open_uri], session.encoding) == apply_edits(
        unsaved, fix_all(unsaved).edits
    )
    assert apply_text_edits(MODEL_FILE, per_uri[model_uri], session.encoding) == apply_edits(
        MODEL_FILE, fix_all(MODEL_FILE).edits
    )
    if session.client_name == "visual-studio-code":
        versions = {
            c.text_document.uri: c.text_document.version for c in request.edit.document_changes
        }
        assert versions == {open_uri: 3, model_uri: None}

    assert report["applied"] is True
    assert sorted(item["uri"] for item in report["changed"]) == sorted([open_uri, model_uri])
    skipped = {item["uri"] for item in report["skipped"]}
    assert file_uri(tmp_path / "broken.py") in skipped
    assert file_uri(tmp_path / "latin1.py") in skipped
    # Excluded by default (.venv) and by the exclude setting: neither changed nor reported.
    touched = set(per_uri) | skipped
    assert not any(".venv" in uri or "generated" in uri for uri in touched)

    [(token, reports)] = session.client.progress_reports.items()
    kinds = [type(r).__name__ for r in reports]
    assert kinds[0] == "WorkDoneProgressBegin" and kinds[-1] == "WorkDoneProgressEnd"
    assert reports[0].cancellable is True


async def test_migrate_workspace_cancelled_from_the_progress_changes_nothing(
    session: Session, tmp_path: Path
):
    make_workspace(tmp_path)
    await session.initialize(workspace=file_uri(tmp_path))

    def cancel_right_away(params: types.WorkDoneProgressCreateParams) -> None:
        session.client.window_work_done_progress_cancel(
            types.WorkDoneProgressCancelParams(token=params.token)
        )

    session.client.on_progress_create = cancel_right_away

    report = await execute(session, "switcheroo.migrateWorkspace")

    assert report["cancelled"] is True
    assert report["applied"] is False
    assert session.client.edit_requests == []
    [(_, reports)] = session.client.progress_reports.items()
    assert isinstance(reports[-1], types.WorkDoneProgressEnd)


async def test_migrate_workspace_honours_cancel_request(session: Session, tmp_path: Path):
    make_workspace(tmp_path)
    await session.initialize(workspace=file_uri(tmp_path))
    created = asyncio.Event()
    release = asyncio.Event()

    async def hold_progress_create(params: types.WorkDoneProgressCreateParams) -> None:
        created.set()
        await release.wait()

    session.client.on_progress_create = hold_progress_create
    request_id = "migrate-workspace-1"
    pending = asyncio.ensure_future(
        session.client.protocol.send_request_async(
            types.WORKSPACE_EXECUTE_COMMAND,
            types.ExecuteCommandParams(command="switcheroo.migrateWorkspace", arguments=[]),
            msg_id=request_id,
        )
    )
    await asyncio.wait_for(created.wait(), 15)
    session.client.cancel_request(types.CancelParams(id=request_id))
    try:
        # Answered while the server still waits for the progress: the cancel was honoured.
        with pytest.raises(JsonRpcException, match="cancel"):
            await asyncio.wait_for(pending, 15)
    finally:
        release.set()
    assert session.client.edit_requests == []


async def test_migrate_workspace_with_nothing_to_do_sends_no_edit(session: Session, tmp_path: Path):
    (tmp_path / "clean.py").write_text("print(1)\n")
    await session.initialize(workspace=file_uri(tmp_path))

    report = await execute(session, "switcheroo.migrateWorkspace")

    assert session.client.edit_requests == []
    assert report["applied"] is False
    assert report["changed"] == []
