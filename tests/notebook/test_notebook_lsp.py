"""The language server with notebooks: notebook document sync, per-cell diagnostics, quick fixes
that write the KeyMapper into the first code cell, and notebook.source.fixAll.switcheroo."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from lsprotocol import types
from notebook_editor import NOTEBOOK_URI, NotebookEditor

MODEL_CALL = "model.load_state_dict(torch.load('modèle_🔥.pt'))"  # non-ASCII: positions in UTF-8 and UTF-16 differ
IMPORTS = "import torch\nimport numpy as np"
NOTEBOOK = [
    ("markdown", "# Fine-tune\nLoad the weights."),
    "%pip install -q torch flax\n" + IMPORTS,
    "!nvidia-smi\nmodel = Net()\nsgd = torch.optim.SGD(model.parameters(), lr=0.1)",
    f"# Modèle ✓\n{MODEL_CALL}",
    "def broken(:\n    pass",
    "%%time\nencoder = Encoder()\nencoder.load_state_dict(torch.load('encoder.pt'))",
    "sgd.load_state_dict(torch.load('sgd.pt'))",
]
MODEL_CELL, ENCODER_CELL, SGD_CELL, PIP_CELL = 3, 5, 6, 1
FINETUNE = Path(__file__).parent / "data" / "finetune.ipynb.json"


async def test_notebook_sync_is_advertised_for_python_cells(editor: NotebookEditor):
    result = await editor.initialize()

    sync = result.capabilities.notebook_document_sync
    assert isinstance(sync, types.NotebookDocumentSyncOptions)
    [selector] = sync.notebook_selector
    assert [cell.language for cell in selector.cells] == ["python"]
    actions = result.capabilities.code_action_provider
    assert "notebook.source.fixAll.switcheroo" in actions.code_action_kinds


async def test_each_code_cell_gets_its_diagnostics_on_its_own_uri(editor: NotebookEditor):
    await editor.initialize()
    editor.open(NOTEBOOK)

    [model] = await editor.diagnostics(MODEL_CELL)
    assert model.code == "checkpoint-keys"
    assert editor.text_at(MODEL_CELL, model.range) == MODEL_CALL
    assert model.range.start.line == 1
    [sgd] = await editor.diagnostics(SGD_CELL)
    assert sgd.code == "non-model-state"  # `sgd` was assigned an optimizer in another cell
    assert sgd.severity == types.DiagnosticSeverity.Hint
    assert await editor.diagnostics(PIP_CELL) == []


async def test_magics_and_a_broken_cell_do_not_hide_the_others(editor: NotebookEditor):
    await editor.initialize()
    editor.open(NOTEBOOK)

    [encoder] = await editor.diagnostics(ENCODER_CELL)  # a %%time cell
    assert editor.text_at(ENCODER_CELL, encoder.range).startswith("encoder.load_state_dict(")
    assert encoder.range.start.line == 2
    assert await editor.diagnostics(4) == []  # the broken cell
    assert len(await editor.diagnostics(MODEL_CELL)) == 1


async def test_quick_fix_in_a_cell_puts_the_keymapper_in_the_first_code_cell(
    editor: NotebookEditor,
):
    await editor.initialize()
    editor.open(NOTEBOOK)
    before = [cell.text for cell in editor.cells]

    action, ignore = await editor.code_actions(MODEL_CELL, 1)

    assert ignore.title == "Ignore this call (# noqa: checkpoint-keys)"
    assert action.title == "Convert to KeyMapper.from_torch"
    assert action.kind == types.CodeActionKind.QuickFix
    assert action.is_preferred
    assert editor.apply(action.edit)
    assert (
        editor.text(MODEL_CELL)
        == "# Modèle ✓\nmodel_variables = KeyMapper.from_torch(torch.load('modèle_🔥.pt'))"
    )
    first = editor.text(PIP_CELL)
    assert first.startswith("%pip install -q torch flax\n" + IMPORTS + "\n")
    assert first.count("class KeyMapper") == 1
    assert first.index("class KeyMapper") > first.index("import numpy as np")
    unchanged = [i for i in range(len(before)) if i not in (PIP_CELL, MODEL_CELL)]
    assert [editor.text(i) for i in unchanged] == [before[i] for i in unchanged]


async def test_ignore_in_a_cell_adds_noqa_to_the_cell_and_silences_the_call(
    editor: NotebookEditor,
):
    await editor.initialize()
    editor.open(NOTEBOOK)
    before = editor.text(MODEL_CELL)

    _, ignore = await editor.code_actions(MODEL_CELL, 1)

    assert ignore.is_preferred is False
    assert editor.apply(ignore.edit)
    assert editor.text(MODEL_CELL) == before.replace(
        "torch.load('modèle_🔥.pt'))", "torch.load('modèle_🔥.pt'))  # noqa: checkpoint-keys"
    )
    assert await editor.code_actions(MODEL_CELL, 1) == []


async def test_the_keymapper_is_written_once_per_notebook_whatever_cell_fixes(
    editor: NotebookEditor,
):
    await editor.initialize()
    editor.open(NOTEBOOK)
    first_fix, _ = await editor.code_actions(ENCODER_CELL, 2)
    assert editor.apply(first_fix.edit)

    second_fix, _ = await editor.code_actions(MODEL_CELL, 1)
    changed = {change.text_document.uri for change in second_fix.edit.document_changes or []}
    changed |= set(second_fix.edit.changes or {})
    assert changed == {editor.cells[MODEL_CELL].uri}
    assert editor.apply(second_fix.edit)

    joined = "\n".join(cell.text for cell in editor.cells)
    assert joined.count("class KeyMapper") == 1
    assert joined.count("KeyMapper.from_torch(") == 2


async def test_notebook_fix_all_migrates_every_cell_in_one_edit(editor: NotebookEditor):
    await editor.initialize()
    editor.open(NOTEBOOK)

    [action] = await editor.code_actions(PIP_CELL, 0, only=["notebook.source.fixAll"])

    assert action.kind == "notebook.source.fixAll.switcheroo"
    assert editor.apply(action.edit)
    assert "KeyMapper.from_torch(torch.load('modèle_🔥.pt'))" in editor.text(MODEL_CELL)
    assert "KeyMapper.from_torch(torch.load('encoder.pt'))" in editor.text(ENCODER_CELL)
    assert editor.text(SGD_CELL) == NOTEBOOK[SGD_CELL]  # an optimizer: left alone
    assert editor.text(4) == NOTEBOOK[4]
    for cell in (MODEL_CELL, ENCODER_CELL):
        assert [d for d in await editor.diagnostics(cell) if d.code == "checkpoint-keys"] == []
    again = await editor.code_actions(PIP_CELL, 0, only=["notebook.source.fixAll"])
    assert again == []  # nothing left to do


async def test_notebook_fix_all_is_offered_only_when_asked_for(editor: NotebookEditor):
    await editor.initialize()
    editor.open(NOTEBOOK)

    kinds = [action.kind for action in await editor.code_actions(MODEL_CELL, 1)]
    assert kinds == [types.CodeActionKind.QuickFix] * 2  # the fix and "Ignore this call"
    assert await editor.code_actions(MODEL_CELL, 0, only=["source.fixAll"]) == []
    [action] = await editor.code_actions(MODEL_CELL, 0, only=["notebook"])
    assert action.kind == "notebook.source.fixAll.switcheroo"


async def test_editing_a_cell_updates_its_diagnostics(editor: NotebookEditor):
    await editor.initialize()
    editor.open(NOTEBOOK)
    assert len(await editor.diagnostics(MODEL_CELL)) == 1

    editor.set_text(MODEL_CELL, "print('no checkpoint here')")
    assert await editor.diagnostics(MODEL_CELL) == []
    editor.set_text(PIP_CELL, f"import torch\n{MODEL_CALL}")
    [diagnostic] = await editor.diagnostics(PIP_CELL)
    assert editor.text_at(PIP_CELL, diagnostic.range) == MODEL_CALL


async def test_a_cell_that_stops_parsing_keeps_its_unchanged_calls(editor: NotebookEditor):
    await editor.initialize()
    editor.open(NOTEBOOK)
    assert len(await editor.diagnostics(MODEL_CELL)) == 1

    editor.set_text(MODEL_CELL, editor.text(MODEL_CELL) + "\nx = (")  # typing, not done yet
    [diagnostic] = await editor.diagnostics(MODEL_CELL)
    assert editor.text_at(MODEL_CELL, diagnostic.range) == MODEL_CALL


async def test_removing_or_closing_clears_what_cells_showed(editor: NotebookEditor):
    await editor.initialize()
    editor.open(NOTEBOOK)
    if editor.pull:
        return  # a pulling client drops closed documents itself
    model_uri, encoder_uri = editor.cells[MODEL_CELL].uri, editor.cells[ENCODER_CELL].uri
    await editor.wait_for_publish(model_uri, lambda p: bool(p.diagnostics))
    await editor.wait_for_publish(encoder_uri, lambda p: bool(p.diagnostics))

    editor.remove_cell(MODEL_CELL)
    await editor.wait_for_publish(model_uri, lambda p: not p.diagnostics)
    editor.close()
    await editor.wait_for_publish(encoder_uri, lambda p: not p.diagnostics)


async def test_notebooks_and_files_are_served_side_by_side(editor: NotebookEditor):
    await editor.initialize()
    editor.open(NOTEBOOK)
    uri = "file:///work/project/train.py"
    text = f"import torch\nmodel = Net()\n{MODEL_CALL}\n"
    editor.client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, text))
    )

    result = await editor.client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri),
            range=types.Range(types.Position(2, 0), types.Position(2, 0)),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    action, ignore = result  # the quick fix, then "Ignore this call (# noqa: checkpoint-keys)"
    assert (action.title, ignore.is_preferred) == ("Convert to KeyMapper.from_torch", False)
    edits = (action.edit.changes or {}).get(uri) or action.edit.document_changes[0].edits
    assert any("KeyMapper.from_torch" in edit.new_text for edit in edits)
    cell_fix, _ = await editor.code_actions(MODEL_CELL, 1)
    assert editor.apply(cell_fix.edit)


async def test_migrate_file_on_an_open_notebook_edits_its_cells(editor: NotebookEditor):
    await editor.initialize()
    editor.open(NOTEBOOK)

    answer = await editor.client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="switcheroo.migrateFile", arguments=[NOTEBOOK_URI])
    )

    assert answer["applied"] is True
    [request] = editor.client.edit_requests
    assert editor.apply(request.edit)
    assert "KeyMapper.from_torch(torch.load('modèle_🔥.pt'))" in editor.text(MODEL_CELL)
    assert "KeyMapper.from_torch(torch.load('encoder.pt'))" in editor.text(ENCODER_CELL)
    assert editor.text(PIP_CELL).count("class KeyMapper") == 1


async def test_migrate_workspace_rewrites_notebook_files_sources_only(
    editor: NotebookEditor, tmp_path: Path
):
    original = FINETUNE.read_text(encoding="utf-8")
    target = tmp_path / "finetune.ipynb"
    target.write_text(original, encoding="utf-8")
    (tmp_path / "broken.ipynb").write_text("{model.load_state_dict")
    await editor.initialize(workspace=tmp_path.as_uri())

    answer = await editor.client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="switcheroo.migrateWorkspace")
    )

    assert answer["applied"] is True
    assert [item["uri"] for item in answer["changed"]] == [target.as_uri()]
    assert any("not valid JSON" in item["reason"] for item in answer["skipped"])
    [request] = editor.client.edit_requests
    changes = request.edit.document_changes or []
    edits = changes[0].edits if changes else request.edit.changes[target.as_uri()]
    [whole] = edits
    new_text = whole.new_text
    before, after = json.loads(original), json.loads(new_text)
    changed = [
        i for i, (a, b) in enumerate(zip(before["cells"], after["cells"], strict=True)) if a != b
    ]
    assert changed == [1, 3, 5]
    assert new_text.startswith(original[: original.index('"source"', original.index("5d1e7f3a"))])


async def test_run_on_save_updates_cells_when_the_notebook_is_saved(editor: NotebookEditor):
    await editor.initialize(settings={"run": "onSave"})
    editor.open(NOTEBOOK)
    assert len(await editor.diagnostics(MODEL_CELL)) == 1

    editor.set_text(MODEL_CELL, "print('no checkpoint here')")
    if editor.pull:
        assert len(await editor.diagnostics(MODEL_CELL)) == 1  # what was saved, until the next save
    editor.save()
    assert await editor.diagnostics(MODEL_CELL) == []


async def test_nothing_is_shown_or_offered_when_disabled(editor: NotebookEditor):
    await editor.initialize(settings={"enable": False})
    editor.open(NOTEBOOK)

    assert await editor.diagnostics(MODEL_CELL) == []
    assert await editor.code_actions(MODEL_CELL, 1) == []
    assert await editor.code_actions(MODEL_CELL, 1, only=["notebook.source.fixAll"]) == []


async def test_max_file_size_counts_a_notebooks_code_not_its_outputs(
    editor: NotebookEditor, tmp_path: Path
):
    data = json.loads(FINETUNE.read_text(encoding="utf-8"))
    data["cells"][3]["outputs"][0]["data"]["text/plain"] = ["x" * 100 + "\n"] * 1000  # 100 kB
    (tmp_path / "plots.ipynb").write_text(json.dumps(data, indent=1), encoding="utf-8")
    await editor.initialize(settings={"maxFileSize": 20_000}, workspace=tmp_path.as_uri())

    answer = await editor.client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="switcheroo.migrateWorkspace")
    )

    assert [item["fixed"] for item in answer["changed"]] == [2]


async def test_cells_are_pushed_to_a_pulling_client_until_it_pulls_one(editor: NotebookEditor):
    await editor.initialize()
    if not editor.pull:
        return  # a pushing client gets pushes anyway (the other tests)
    editor.open(NOTEBOOK)
    uri = editor.cells[MODEL_CELL].uri

    def newest() -> types.PublishDiagnosticsParams | None:
        return next((p for p in reversed(editor.client.published) if p.uri == uri), None)

    # VS Code's language client never pulls notebook cells: they must arrive by push too.
    pushed = await editor.wait_for_publish(uri, lambda p: len(p.diagnostics) == 1)
    assert pushed.diagnostics[0].code == "checkpoint-keys"
    # Once the client pulls a cell, what was pushed is cleared and pushing stops: never both.
    assert len(await editor.diagnostics(MODEL_CELL)) == 1
    assert (last := newest()) is not None and list(last.diagnostics) == []
    publishes = len(editor.client.published)
    editor.set_text(MODEL_CELL, f"{MODEL_CALL}\n{MODEL_CALL}")
    assert len(await editor.diagnostics(MODEL_CELL)) == 2
    await asyncio.sleep(0.5)  # time for a (wrong) push to arrive
    assert len(editor.client.published) == publishes


async def test_quick_fix_reveals_the_call_below_the_keymapper_in_its_own_cell(
    editor: NotebookEditor,
):
    await editor.initialize(settings={"revealCommand": True})
    editor.open([f"import torch\nmodel = Net()\n{MODEL_CALL}"])

    action, _ = await editor.code_actions(0, 2)

    assert action.command is not None and action.command.command == "switcheroo.revealCall"
    assert editor.apply(action.edit)
    uri, line = action.command.arguments or []
    assert uri == editor.cells[0].uri
    assert line > 100  # below the KeyMapper class the fix put into this cell
    assert editor.text(0).splitlines()[line].startswith("variables = KeyMapper.from_torch(")


async def test_cell_quick_fix_carries_no_command_unless_the_client_asks_for_it(
    editor: NotebookEditor,
):
    await editor.initialize()
    editor.open(NOTEBOOK)

    action, _ = await editor.code_actions(MODEL_CELL, 1)

    assert action.command is None
