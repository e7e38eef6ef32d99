"""Code actions end to end: quick fix, fix-all (resolved or eager), willSaveWaitUntil."""

from __future__ import annotations

from lsp_session import MODEL_CALL, SAMPLE, Session, converting
from lsprotocol import types

from clientside import apply_text_edits
from switcheroo_lsp.engine import apply_edits, fix, fix_all, scan
from switcheroo_lsp.settings import PreambleMode, Settings

URI = "file:///project/train.py"
MODEL_LINE = SAMPLE.splitlines().index(MODEL_CALL)
TWO_MODELS = (
    "import torch\n"
    "\n"
    "model = Net()\n"
    "model.load_state_dict(torch.load('a.pt'))\n"
    "encoder = Encoder()\n"
    "encoder.load_state_dict(torch.load('b.pt'))\n"
)


def quick_fix_of(actions: list[types.CodeAction]) -> types.CodeAction:
    """The quick fix of a model call's line, checking the ignore action is beside it."""
    titles = [a.title for a in actions]
    assert len(titles) == 2 and titles[0].startswith("Convert to KeyMapper.from_torch")
    assert titles[1] == "Ignore this call (# noqa: checkpoint-keys)"
    return actions[0]


def engine_quick_fix(text: str, settings: Settings | None = None) -> str:
    """What the engine itself makes of the model call in ``text``."""
    finding = next(f for f in scan(text).findings if f.code == "checkpoint-keys")
    return apply_edits(text, fix(text, finding.span.start, settings).edits)


def engine_fix_all(text: str, settings: Settings | None = None) -> str:
    return apply_edits(text, fix_all(text, settings).edits)


async def test_quick_fix_applies_exactly_the_engines_edits(session: Session):
    await session.initialize()
    session.open(URI, SAMPLE)

    action = quick_fix_of(await session.code_actions(URI, MODEL_LINE))

    assert action.title == "Convert to KeyMapper.from_torch"
    assert action.kind == types.CodeActionKind.QuickFix
    assert action.is_preferred is True
    assert action.diagnostics and action.diagnostics[0].code == "checkpoint-keys"
    assert session.apply(action.edit)
    assert session.texts[URI] == engine_quick_fix(SAMPLE)
    assert "KeyMapper.from_torch" in session.texts[URI]


async def test_quick_fix_title_says_when_the_tree_is_returned(session: Session):
    text = "def load(model, path):\n    model.load_state_dict(torch.load(path))\n"
    await session.initialize()
    session.open(URI, text)

    [action] = converting(await session.code_actions(URI, 1))

    assert action.title == "Convert to KeyMapper.from_torch and return the tree"
    assert session.apply(action.edit)
    assert "    return KeyMapper.from_torch(torch.load(path))\n" in session.texts[URI]


async def test_quick_fix_edits_are_versioned_where_the_client_supports_it(session: Session):
    await session.initialize()
    session.open(URI, SAMPLE, version=7)

    action = quick_fix_of(await session.code_actions(URI, MODEL_LINE))

    if session.client_name == "visual-studio-code":
        [change] = action.edit.document_changes
        assert change.text_document.version == 7
        assert action.edit.changes is None
    else:  # Neovim's capability set has no documentChanges
        assert action.edit.document_changes is None
        assert list(action.edit.changes) == [URI]


async def test_an_action_for_an_older_version_is_refused_by_a_versioned_client(session: Session):
    await session.initialize(document_changes=True)
    session.open(URI, SAMPLE)
    action = quick_fix_of(await session.code_actions(URI, MODEL_LINE))
    session.replace(URI, 0, 0, "# typed meanwhile\n")

    assert session.apply(action.edit) is False

    fresh = quick_fix_of(await session.code_actions(URI, MODEL_LINE + 1))
    assert session.apply(fresh.edit)
    assert session.texts[URI] == engine_quick_fix("# typed meanwhile\n" + SAMPLE)


async def test_no_quick_fix_for_optimizers_or_other_lines(session: Session):
    await session.initialize()
    session.open(URI, SAMPLE)

    assert await session.code_actions(URI, MODEL_LINE + 1) == []  # the optimizer
    assert await session.code_actions(URI, 0) == []  # import torch


async def test_quick_fix_is_on_the_call_after_emoji_on_the_same_line(session: Session):
    await session.initialize()
    text = "import torch\nmodel = Net()\nx = '😀中'; " + MODEL_CALL + "\n"
    session.open(URI, text)

    action = quick_fix_of(await session.code_actions(URI, 2))

    assert session.apply(action.edit)
    assert session.texts[URI] == engine_quick_fix(text)


async def test_quick_fix_on_a_crlf_file_with_tabs(session: Session):
    await session.initialize()
    text = "import torch\r\n\r\ndef load(model):\r\n\tmodel.load_state_dict(torch.load(p))\r\n"
    session.open(URI, text)

    action = quick_fix_of(await session.code_actions(URI, 3))

    assert session.apply(action.edit)
    assert session.texts[URI] == engine_quick_fix(text)


async def test_client_diagnostics_are_ignored_even_when_malformed(session: Session):
    await session.initialize()
    session.open(URI, SAMPLE)
    # A diagnostic the server never published, on another line, with a bogus code.
    bogus = types.Diagnostic(
        range=types.Range(
            start=types.Position(line=0, character=0), end=types.Position(line=0, character=3)
        ),
        message="stale",
        code="checkpoint-keys",
        source="switcheroo",
    )

    action = quick_fix_of(await session.code_actions(URI, MODEL_LINE, diagnostics=[bogus]))
    assert session.apply(action.edit)
    assert session.texts[URI] == engine_quick_fix(SAMPLE)


async def test_a_code_action_request_with_unparseable_diagnostics_still_gets_an_answer(
    session: Session,
):
    await session.initialize()
    session.open(URI, SAMPLE)
    params = {
        "textDocument": {"uri": URI},
        "range": {
            "start": {"line": MODEL_LINE, "character": 0},
            "end": {"line": MODEL_LINE, "character": 0},
        },
        # Missing range/message: not a Diagnostic at all.
        "context": {"diagnostics": [{"code": "checkpoint-keys"}], "only": ["quickfix"]},
    }
    result = await session.raw_request("textDocument/codeAction", params)

    assert [action.title for action in result] == [
        "Convert to KeyMapper.from_torch",
        "Ignore this call (# noqa: checkpoint-keys)",
    ]


async def test_fix_all_is_found_by_kind_prefix(session: Session):
    await session.initialize()
    session.open(URI, TWO_MODELS)

    for only in (["source"], ["source.fixAll"], ["source.fixAll.switcheroo"]):
        actions = await session.code_actions(URI, 0, only=only)

        assert [(a.title, a.kind) for a in actions] == [
            ("Migrate all load_state_dict calls in this file", "source.fixAll.switcheroo")
        ], only


async def test_fix_all_is_not_offered_unless_source_actions_are_asked_for(session: Session):
    await session.initialize()
    session.open(URI, TWO_MODELS)

    for only in (None, ["quickfix"], ["source.organizeImports"], ["refactor"], [""]):
        actions = await session.code_actions(URI, 3, only=only)

        assert all(a.kind != "source.fixAll.switcheroo" for a in actions), only


async def test_fix_all_edit_is_computed_in_resolve_when_the_client_can_resolve(session: Session):
    await session.initialize(resolve=True)
    session.open(URI, TWO_MODELS)
    [action] = await session.code_actions(URI, 0, only=["source.fixAll"])
    assert action.edit is None

    resolved = await session.client.code_action_resolve_async(action)

    assert session.apply(resolved.edit)
    assert session.texts[URI] == engine_fix_all(TWO_MODELS)
    assert session.texts[URI].count("KeyMapper.from_torch(") == 2


async def test_fix_all_edit_is_eager_when_the_client_cannot_resolve(session: Session):
    await session.initialize(resolve=False)
    session.open(URI, TWO_MODELS)

    [action] = await session.code_actions(URI, 0, only=["source"])

    assert action.edit is not None
    assert session.apply(action.edit)
    assert session.texts[URI] == engine_fix_all(TWO_MODELS)


async def test_resolve_uses_the_document_as_it_is_now(session: Session):
    await session.initialize(resolve=True)
    session.open(URI, TWO_MODELS)
    [action] = await session.code_actions(URI, 0, only=["source.fixAll"])
    session.replace(URI, 0, 0, "# typed before resolving\n")

    resolved = await session.client.code_action_resolve_async(action)

    assert session.apply(resolved.edit)
    assert session.texts[URI] == engine_fix_all("# typed before resolving\n" + TWO_MODELS)


async def test_preamble_and_assignment_settings_reach_the_engine(session: Session):
    settings = {"preamble": "import", "assignmentName": "params_tree"}
    await session.initialize(settings=settings)
    session.open(URI, SAMPLE)

    action = quick_fix_of(await session.code_actions(URI, MODEL_LINE))
    assert session.apply(action.edit)

    expected = engine_quick_fix(
        SAMPLE, Settings(preamble=PreambleMode.IMPORT, assignment_name="params_tree")
    )
    assert session.texts[URI] == expected
    assert "from switcheroo_lsp.runtime import KeyMapper" in expected


async def test_no_actions_while_the_file_does_not_parse(session: Session):
    await session.initialize()
    session.open(URI, SAMPLE + "def broken(:\n")

    assert await session.code_actions(URI, MODEL_LINE, only=["quickfix", "source"]) == []


async def will_save(
    session: Session,
    uri: str,
    reason: types.TextDocumentSaveReason = types.TextDocumentSaveReason.Manual,
) -> list[types.TextEdit]:
    return await session.client.text_document_will_save_wait_until_async(
        types.WillSaveTextDocumentParams(
            text_document=types.TextDocumentIdentifier(uri=uri), reason=reason
        )
    )


async def test_fix_on_save_answers_will_save_wait_until_with_fix_all(session: Session):
    result = await session.initialize(settings={"fixOnSave": True})
    assert result.capabilities.text_document_sync.will_save_wait_until is True
    session.open(URI, TWO_MODELS)

    edits = await will_save(session, URI)

    migrated = apply_text_edits(TWO_MODELS, edits, session.encoding)
    assert migrated == engine_fix_all(TWO_MODELS)


async def test_fix_on_save_ignores_auto_save_after_delay_and_focus_out(session: Session):
    await session.initialize(settings={"fixOnSave": True})
    session.open(URI, TWO_MODELS)

    after_delay = await will_save(session, URI, types.TextDocumentSaveReason.AfterDelay)
    focus_out = await will_save(session, URI, types.TextDocumentSaveReason.FocusOut)
    manual = await will_save(session, URI, types.TextDocumentSaveReason.Manual)

    assert (list(after_delay), list(focus_out)) == ([], [])
    assert apply_text_edits(TWO_MODELS, manual, session.encoding) == engine_fix_all(TWO_MODELS)


async def test_without_fix_on_save_saving_changes_nothing(session: Session):
    await session.initialize()
    session.open(URI, TWO_MODELS)

    assert list(await will_save(session, URI)) == []


async def test_ignore_action_adds_a_noqa_comment_and_the_call_is_no_longer_reported(
    session: Session,
):
    await session.initialize()
    session.open(URI, SAMPLE)

    actions = await session.code_actions(URI, MODEL_LINE)
    [ignore] = [a for a in actions if a.title.startswith("Ignore this call")]

    assert ignore.kind == types.CodeActionKind.QuickFix
    assert not ignore.is_preferred
    assert ignore.diagnostics and ignore.diagnostics[0].code == "checkpoint-keys"
    assert session.apply(ignore.edit)
    assert session.texts[URI] == SAMPLE.replace(
        MODEL_CALL, f"{MODEL_CALL}  # noqa: checkpoint-keys"
    )
    assert "checkpoint-keys" not in [d.code for d in await session.diagnostics(URI)]
    assert await session.code_actions(URI, MODEL_LINE) == []


async def test_ignore_action_keeps_an_existing_comment_and_noqa_codes(session: Session):
    await session.initialize()
    text = SAMPLE.replace(MODEL_CALL, f"{MODEL_CALL}  # noqa: E501")
    session.open(URI, text)

    [ignore] = [
        a
        for a in await session.code_actions(URI, MODEL_LINE)
        if a.title.startswith("Ignore this call")
    ]

    assert session.apply(ignore.edit)
    assert session.texts[URI] == SAMPLE.replace(
        MODEL_CALL, f"{MODEL_CALL}  # noqa: E501, checkpoint-keys"
    )


async def test_an_unfixable_model_call_can_still_be_ignored(session: Session):
    await session.initialize()
    text = "def load(model, sd, kw):\n    model.load_state_dict(sd, **kw)\n"
    session.open(URI, text)

    actions = await session.code_actions(URI, 1)

    assert [a.title for a in actions] == ["Ignore this call (# noqa: checkpoint-keys)"]


async def test_hover_on_a_reported_call_shows_its_rules_documentation(session: Session):
    await session.initialize()
    session.open(URI, SAMPLE)
    [diagnostic] = [d for d in await session.diagnostics(URI) if d.code == "checkpoint-keys"]

    hover = await session.client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=URI),
            position=types.Position(line=MODEL_LINE, character=3),
        )
    )

    assert hover is not None and hover.range == diagnostic.range
    assert hover.contents.kind == types.MarkupKind.Markdown
    assert hover.contents.value.startswith(diagnostic.message)
    assert "(checkpoint-keys)" in hover.contents.value
    assert "# noqa: checkpoint-keys" in hover.contents.value


async def test_no_hover_away_from_reported_calls(session: Session):
    await session.initialize()
    session.open(URI, SAMPLE)

    hover = await session.client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=URI),
            position=types.Position(line=0, character=2),
        )
    )

    assert hover is None


async def test_quick_fix_reveals_the_rewritten_call_for_a_client_that_runs_the_command(
    session: Session,
):
    await session.initialize(settings={"revealCommand": True})
    session.open(URI, SAMPLE)

    action = quick_fix_of(await session.code_actions(URI, MODEL_LINE))

    assert action.command is not None
    assert action.command.command == "switcheroo.revealCall"
    assert session.apply(action.edit)
    uri, line = action.command.arguments or []
    assert uri == URI
    assert line > MODEL_LINE + 100  # below the inserted KeyMapper class
    assert (
        session.texts[URI].splitlines()[line]
        == "variables = KeyMapper.from_torch(torch.load(path))"
    )


async def test_quick_fix_carries_no_command_unless_the_client_asks_for_it(session: Session):
    await session.initialize()
    session.open(URI, SAMPLE)

    action = quick_fix_of(await session.code_actions(URI, MODEL_LINE))

    assert action.command is None


async def test_reveal_command_option_is_not_a_setting_and_settings_beside_it_count(
    session: Session,
):
    await session.initialize(settings={"revealCommand": True, "severity": "error"})
    session.open(URI, SAMPLE)

    diagnostics = await session.diagnostics(URI)

    assert [d.severity for d in diagnostics if d.code == "checkpoint-keys"] == [
        types.DiagnosticSeverity.Error
    ]
    assert not any("revealCommand" in m.message for m in session.client.log_messages)
