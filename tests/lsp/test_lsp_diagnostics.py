"""Diagnostics end to end: what is shown, where, in which encoding, and when (push or pull)."""

from __future__ import annotations

import asyncio

from lsp_session import MODEL_CALL, SAMPLE, Session
from lsprotocol import types

from switcheroo_lsp.engine import explain, scan

URI = "file:///project/train.py"
CHECKPOINT_HREF = "https://github.com/switcheroo-lsp/switcheroo-lsp#checkpoint-keys"
NON_MODEL_HREF = "https://github.com/switcheroo-lsp/switcheroo-lsp#non-model-state"


def by_code(diagnostics: list[types.Diagnostic], code: str) -> list[types.Diagnostic]:
    return [d for d in diagnostics if d.code == code]


async def test_a_model_call_gets_a_checkpoint_diagnostic_explained_by_the_engine(session: Session):
    await session.initialize()
    session.open(URI, SAMPLE)

    diagnostics = await session.diagnostics(URI)

    [model] = by_code(diagnostics, "checkpoint-keys")
    assert session.text_at(URI, model.range) == MODEL_CALL
    assert model.source == "switcheroo"
    assert model.severity == types.DiagnosticSeverity.Information
    assert model.code_description == types.CodeDescription(href=CHECKPOINT_HREF)
    finding = next(f for f in scan(SAMPLE).findings if f.code == "checkpoint-keys")
    assert model.message == explain(finding)


async def test_an_optimizer_call_gets_a_hint_with_its_own_code(session: Session):
    await session.initialize()
    session.open(URI, SAMPLE)

    [hint] = by_code(await session.diagnostics(URI), "non-model-state")

    assert session.text_at(URI, hint.range) == "optimizer.load_state_dict(state['optimizer'])"
    assert hint.severity == types.DiagnosticSeverity.Hint
    assert hint.code_description == types.CodeDescription(href=NON_MODEL_HREF)


async def test_hint_non_model_false_hides_the_optimizer_hint(session: Session):
    await session.initialize(settings={"hintNonModel": False})
    session.open(URI, SAMPLE)

    diagnostics = await session.diagnostics(URI)

    assert by_code(diagnostics, "non-model-state") == []
    assert len(by_code(diagnostics, "checkpoint-keys")) == 1


async def test_severity_is_a_setting(session: Session):
    await session.initialize(settings={"severity": "error"})
    session.open(URI, SAMPLE)

    [model] = by_code(await session.diagnostics(URI), "checkpoint-keys")

    assert model.severity == types.DiagnosticSeverity.Error


async def test_ranges_are_in_the_negotiated_encoding_after_non_ascii_text(session: Session):
    await session.initialize()
    text = (
        "import torch\n"
        f'x = "😀🎉"; {MODEL_CALL}\n'  # non-BMP: 2 UTF-16 units, 4 UTF-8 bytes each
        f's = "中文字"; {MODEL_CALL}\n'  # CJK: 1 UTF-16 unit, 3 UTF-8 bytes each
        "if True:\n"
        f"\t{MODEL_CALL}\n"  # a tab is one unit everywhere
    )
    session.open(URI, text)

    models = by_code(await session.diagnostics(URI), "checkpoint-keys")

    # The client's own arithmetic in its own encoding must land exactly on each call.
    assert [session.text_at(URI, d.range) for d in models] == [MODEL_CALL] * 3
    assert [d.range.start.line for d in models] == [1, 2, 4]
    assert (
        session.encoding == {"visual-studio-code": "utf-16", "neovim": "utf-8"}[session.client_name]
    )


async def test_a_client_that_prefers_utf32_gets_code_point_columns(session: Session):
    session.capabilities.general = types.GeneralClientCapabilities(
        position_encodings=[types.PositionEncodingKind.Utf32, types.PositionEncodingKind.Utf16]
    )
    result = await session.initialize()
    assert result.capabilities.position_encoding == types.PositionEncodingKind.Utf32
    line = 'x = "😀中"; ' + MODEL_CALL
    session.open(URI, "import torch\n" + line + "\n")

    [model] = by_code(await session.diagnostics(URI), "checkpoint-keys")

    assert model.range.start.character == line.index(MODEL_CALL)
    assert session.text_at(URI, model.range) == MODEL_CALL


async def test_crlf_line_endings_and_a_form_feed_keep_lines_right(session: Session):
    await session.initialize()
    text = "import torch\r\n\x0c\r\nmodel = Net()\r\n" + MODEL_CALL + "\r\n"
    session.open(URI, text)

    [model] = by_code(await session.diagnostics(URI), "checkpoint-keys")

    assert model.range.start.line == 3
    assert session.text_at(URI, model.range) == MODEL_CALL


async def test_incremental_edits_after_a_form_feed_land_on_the_right_line(session: Session):
    await session.initialize()
    text = "import torch\n\x0c# page two\nmodel = Net()\nprint(1)\n"
    session.open(URI, text)
    await session.diagnostics(URI)
    at = session.texts[URI].index("print(1)")
    session.replace(URI, at, at + len("print(1)"), MODEL_CALL)

    [model] = by_code(await session.diagnostics(URI), "checkpoint-keys")

    assert model.range.start.line == 3
    assert session.text_at(URI, model.range) == MODEL_CALL


async def test_push_or_pull_follows_the_client_and_never_both(session: Session):
    result = await session.initialize()
    session.open(URI, SAMPLE)
    await session.diagnostics(URI)
    session.replace(URI, 0, 0, "# edited\n")
    await session.diagnostics(URI)
    await asyncio.sleep(0.3)  # room for any (wrong) push to arrive

    if session.client_name == "neovim":  # Neovim 0.11 pulls
        assert result.capabilities.diagnostic_provider is not None
        assert session.client.published == []
    else:  # VS Code's capability set has no pull support
        assert result.capabilities.diagnostic_provider is None
        assert {p.version for p in session.client.published} == {1, 2}


async def test_each_client_also_works_in_the_other_mode(session: Session):
    pull = session.client_name == "visual-studio-code"  # the opposite of its default
    await session.initialize(pull=pull)
    session.open(URI, SAMPLE)

    diagnostics = await session.diagnostics(URI)

    assert len(by_code(diagnostics, "checkpoint-keys")) == 1
    assert session.pull is pull
    if pull:
        await asyncio.sleep(0.3)
        assert session.client.published == []


async def test_pull_reports_unchanged_for_the_result_id_the_client_holds(session: Session):
    await session.initialize(pull=True)
    session.open(URI, SAMPLE)
    first = await session.pull_report(URI)
    assert isinstance(first, types.RelatedFullDocumentDiagnosticReport)
    assert first.result_id

    again = await session.pull_report(URI, previous_result_id=first.result_id)
    assert isinstance(again, types.RelatedUnchangedDocumentDiagnosticReport)
    assert again.result_id == first.result_id

    session.replace(URI, 0, 0, "# a new first line moves the call\n")
    moved = await session.pull_report(URI, previous_result_id=first.result_id)
    assert isinstance(moved, types.RelatedFullDocumentDiagnosticReport)
    assert moved.result_id != first.result_id


async def test_rapid_edits_publish_only_the_newest_version_last(session: Session):
    await session.initialize(pull=False)
    session.open(URI, "import torch\n")
    await session.wait_for_publish(URI, lambda p: p.version == 1)
    for _ in range(30):
        end = len(session.texts[URI])
        session.replace(URI, end, end, "x = 1\n")
    end = len(session.texts[URI])
    final = session.replace(URI, end, end, "model = Net()\n" + MODEL_CALL + "\n")

    newest = await session.wait_for_publish(URI, lambda p: p.version == final)
    await asyncio.sleep(0.3)

    versions = [p.version for p in session.client.published if p.uri == URI]
    assert versions == sorted(versions), "an older version was published after a newer one"
    assert versions[-1] == final
    assert len(versions) < 10, f"changes were not coalesced: {versions}"
    [model] = by_code(list(newest.diagnostics), "checkpoint-keys")
    assert session.text_at(URI, model.range) == MODEL_CALL


async def test_a_syntax_error_keeps_exact_diagnostics_and_drops_moved_ones(session: Session):
    await session.initialize()
    text = "import torch\nmodel = Net()\n" + MODEL_CALL + "\nnet = Net()\nnet.load_state_dict(sd)\n"
    session.open(URI, text)
    assert len(by_code(await session.diagnostics(URI), "checkpoint-keys")) == 2

    # Break the file between the two calls, adding a line: the second call moves down.
    at = session.texts[URI].index("net = Net()")
    session.replace(URI, at, at, "def broken(:\n")
    diagnostics = by_code(await session.diagnostics(URI), "checkpoint-keys")

    # The first call did not move: still shown, exactly on it; the moved one is not shown stale.
    assert [session.text_at(URI, d.range) for d in diagnostics] == [MODEL_CALL]
    assert diagnostics[0].range.start.line == 2

    fixed_at = session.texts[URI].index("def broken(:\n")
    session.replace(URI, fixed_at, fixed_at + len("def broken(:\n"), "")
    assert len(by_code(await session.diagnostics(URI), "checkpoint-keys")) == 2


async def test_a_file_that_never_parsed_has_no_diagnostics_and_no_crash(session: Session):
    await session.initialize()
    session.open(URI, "model.load_state_dict(sd\n")

    assert await session.diagnostics(URI) == []
    assert await session.code_actions(URI, 0, only=["quickfix", "source"]) == []


async def test_closing_a_document_clears_its_diagnostics(session: Session):
    await session.initialize()
    session.open(URI, SAMPLE)
    assert await session.diagnostics(URI) != []

    session.close(URI)

    if session.pull:
        report = await session.pull_report(URI)
        assert isinstance(report, types.RelatedFullDocumentDiagnosticReport)
        assert list(report.items) == []
    else:
        cleared = await session.wait_for_publish(URI, lambda p: p.version is None)
        assert list(cleared.diagnostics) == []


async def test_files_over_max_file_size_are_skipped_with_one_log_message(session: Session):
    await session.initialize(settings={"maxFileSize": 200})
    big = SAMPLE + "# padding\n" * 30
    session.open(URI, big)
    assert await session.diagnostics(URI) == []
    session.replace(URI, 0, 0, "# more\n")
    assert await session.diagnostics(URI) == []

    messages = [m.message for m in session.client.log_messages if "maxFileSize" in m.message]
    assert len(messages) == 1
    assert URI in messages[0]


async def test_excluded_paths_get_no_diagnostics_like_the_workspace_walk(session: Session):
    await session.initialize(workspace="file:///project", settings={"exclude": ["legacy"]})
    skipped = [
        "file:///project/.venv/lib/python3.11/site-packages/torch/nn/module.py",  # default
        "file:///usr/lib/python3/site-packages/torch/serialization.py",  # outside, default
        "file:///project/legacy/old_train.py",  # the exclude setting
    ]
    for uri in skipped:
        session.open(uri, SAMPLE)
    session.open(URI, SAMPLE)

    assert by_code(await session.diagnostics(URI), "checkpoint-keys") != []
    for uri in skipped:
        assert await session.diagnostics(uri) == [], uri
        assert await session.code_actions(uri, 4, only=["quickfix", "source"]) == [], uri


async def test_untitled_documents_get_diagnostics(session: Session):
    await session.initialize()
    uri = "untitled:Untitled-1"
    session.open(uri, SAMPLE)

    [model] = by_code(await session.diagnostics(uri), "checkpoint-keys")

    assert session.text_at(uri, model.range) == MODEL_CALL


async def test_run_on_save_computes_diagnostics_at_save_only(session: Session):
    await session.initialize(pull=False, settings={"run": "onSave"})
    session.open(URI, "import torch\n")
    await session.wait_for_publish(URI, lambda p: p.version == 1)
    version = session.replace(URI, 13, 13, "model = Net()\n" + MODEL_CALL + "\n")
    await asyncio.sleep(0.3)
    assert [p.version for p in session.client.published] == [1]

    session.client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=URI))
    )
    saved = await session.wait_for_publish(URI, lambda p: p.version == version)

    assert len(by_code(list(saved.diagnostics), "checkpoint-keys")) == 1


async def test_enable_false_shows_nothing(session: Session):
    await session.initialize(settings={"enable": False})
    session.open(URI, SAMPLE)

    assert await session.diagnostics(URI) == []
    assert await session.code_actions(URI, 4, only=["quickfix", "source"]) == []
