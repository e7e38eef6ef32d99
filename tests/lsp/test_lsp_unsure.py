"""Sure and unsure receivers in the editor: fix-all, fix on save and migrateFile apply only sure
fixes (all of them with `unsafeFixes`); an unsure call keeps its diagnostic, which says so, and
its own quick fix, whose title says the receiver may not be a model."""

from __future__ import annotations

from lsp_session import Session, converting
from lsprotocol import types

from clientside import apply_text_edits

URI = "file:///project/resume.py"
# line 4: `encoder` says it is a model; line 5: `total` says nothing (a Lightning progress counter?)
MIXED = (
    "import torch\n"
    "\n"
    "state = torch.load('resume.ckpt')\n"
    "encoder = build_encoder()\n"
    "encoder.load_state_dict(state['encoder'])\n"
    "total.load_state_dict(state['total'])\n"
)
SURE_LINE, UNSURE_LINE = 4, 5
ONLY_UNSURE = "total.load_state_dict(state['total'])\n"
UNSURE_TITLE = "Convert to KeyMapper.from_torch (receiver may not be a model)"


async def test_unsure_quick_fix_says_so_and_is_not_preferred(session: Session):
    await session.initialize()
    session.open(URI, MIXED)

    [sure] = converting(await session.code_actions(URI, SURE_LINE))
    [unsure] = converting(await session.code_actions(URI, UNSURE_LINE))

    assert (sure.title, sure.is_preferred) == ("Convert to KeyMapper.from_torch", True)
    assert (unsure.title, unsure.is_preferred) == (UNSURE_TITLE, False)
    assert session.apply(unsure.edit)
    assert "variables = KeyMapper.from_torch(state['total'])" in session.texts[URI]


async def test_diagnostics_carry_the_confidence(session: Session):
    await session.initialize()
    session.open(URI, MIXED)

    diagnostics = {d.range.start.line: d for d in await session.diagnostics(URI)}

    assert diagnostics[SURE_LINE].data["confidence"] == "sure"
    assert "encoder" in diagnostics[SURE_LINE].data["evidence"]
    assert diagnostics[UNSURE_LINE].data == {"confidence": "unsure", "evidence": ""}
    assert "may not be a model" in diagnostics[UNSURE_LINE].message
    assert "may not be a model" not in diagnostics[SURE_LINE].message


async def test_fix_all_leaves_unsure_calls(session: Session):
    await session.initialize(resolve=False)
    session.open(URI, MIXED)

    [action] = await session.code_actions(URI, 0, only=["source.fixAll"])

    assert session.apply(action.edit)
    assert "variables = KeyMapper.from_torch(state['encoder'])" in session.texts[URI]
    assert "total.load_state_dict(state['total'])" in session.texts[URI]


async def test_unsafe_fixes_setting_lets_fix_all_rewrite_unsure_calls(session: Session):
    await session.initialize(resolve=False, settings={"unsafeFixes": True})
    session.open(URI, MIXED)

    [action] = await session.code_actions(URI, 0, only=["source.fixAll"])

    assert session.apply(action.edit)
    assert "load_state_dict" not in session.texts[URI]


async def test_no_fix_all_when_every_call_is_unsure(session: Session):
    await session.initialize()
    session.open(URI, ONLY_UNSURE)

    assert await session.code_actions(URI, 0, only=["source.fixAll"]) == []
    [quick_fix] = converting(await session.code_actions(URI, 0))
    assert quick_fix.title == UNSURE_TITLE


async def test_fix_on_save_leaves_unsure_calls(session: Session):
    await session.initialize(settings={"fixOnSave": True})
    session.open(URI, MIXED)

    edits = await session.client.text_document_will_save_wait_until_async(
        types.WillSaveTextDocumentParams(
            text_document=types.TextDocumentIdentifier(uri=URI),
            reason=types.TextDocumentSaveReason.Manual,
        )
    )

    saved = apply_text_edits(MIXED, edits, session.encoding)
    assert "variables = KeyMapper.from_torch(state['encoder'])" in saved
    assert "total.load_state_dict(state['total'])" in saved


async def test_migrate_file_reports_the_unsure_call_it_left(session: Session):
    await session.initialize()
    session.open(URI, MIXED)

    report = await session.client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="switcheroo.migrateFile", arguments=[URI])
    )

    assert report["changed"] == [{"uri": URI, "fixed": 1}]
    [left] = [s for s in report["skipped"] if "may not be a model" in s["reason"]]
    assert left["line"] == UNSURE_LINE + 1
