"""textDocument/hover in notebook cells: on a reported call, the same Markdown as for the same call
in a ``.py`` file (the notebook's code as a script, opened beside it), positioned in the cell; a
call on a ``%time`` line included; nothing anywhere else in the cell.

Run with VS Code's capability set (UTF-16, push) and Neovim's (UTF-8 first, pull), each with
notebook sync: the non-ASCII text before the hovered column is counted differently by each.
"""

from __future__ import annotations

import pytest
from lsprotocol import types
from notebook_editor import NotebookEditor

from clientside import RecordingClient, client_fixture, client_position, did_open

client = client_fixture(["vscode-push", "neovim"])

MODEL_CALL = "model.load_state_dict(torch.load('modèle_🔥.pt'))"
SGD_CALL = "sgd.load_state_dict(torch.load('sgd.pt'))"  # an optimizer: a non-model hint
TIMED_CALL = "model.load_state_dict(torch.load('again.pt'))"
ENCODER_CALL = "encoder.load_state_dict(torch.load('encoder.pt'))"
SETUP = "import torch\nmodel = Net()\nsgd = torch.optim.SGD(model.parameters(), lr=0.1)"
CELLS = [
    ("markdown", "# Fine-tune\nmodel.load_state_dict(sd) here is prose."),
    SETUP,
    f"# Modèle ✓ 🔥\nnote = '🔥'; {MODEL_CALL}  # ✓",
    SGD_CALL,
    f"%time {TIMED_CALL}",
    f"%%time\nencoder = Encoder()\n{ENCODER_CALL}",
]
# The same code as a script: the magics gone, every call where the notebook runs it.
SCRIPT = "\n".join(
    [SETUP, f"note = '🔥'; {MODEL_CALL}", SGD_CALL, TIMED_CALL, "encoder = Encoder()", ENCODER_CALL]
)
SCRIPT_URI = "file:///work/project/train_as_script.py"
CALLS = [(2, MODEL_CALL), (3, SGD_CALL), (4, TIMED_CALL), (5, ENCODER_CALL)]


@pytest.fixture
async def opened(client: RecordingClient, editor: NotebookEditor) -> NotebookEditor:
    """The notebook and its script open side by side."""
    await editor.initialize()
    editor.open(CELLS)
    did_open(client, SCRIPT_URI, SCRIPT)
    return editor


async def script_hover(editor: NotebookEditor, call: str) -> types.Hover | None:
    """The hover of ``call`` in the script."""
    position = client_position(SCRIPT, SCRIPT.index(call), editor.encoding)
    return await editor.client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(SCRIPT_URI), position=position)
    )


@pytest.mark.parametrize(
    ("cell", "call"), CALLS, ids=["model", "optimizer", "time-magic", "cell-magic"]
)
async def test_hover_on_a_call_in_a_cell_is_the_hover_of_the_same_call_in_a_file(
    opened: NotebookEditor, cell: int, call: str
):
    expected = await script_hover(opened, call)
    assert expected is not None and expected.contents.kind == types.MarkupKind.Markdown
    start = opened.text(cell).index(call)

    for offset in (start, start + call.index("(") + 1, start + len(call) - 1, start + len(call)):
        hover = await opened.hover(cell, offset)

        assert hover is not None, f"no hover at {offset} in cell {cell}"
        assert hover.contents == expected.contents
        assert hover.range is not None and opened.text_at(cell, hover.range) == call


async def test_the_hover_names_the_call_and_its_rule(opened: NotebookEditor):
    [diagnostic] = await opened.diagnostics(2)

    hover = await opened.hover(2, opened.text(2).index(MODEL_CALL))

    assert hover is not None and hover.range == diagnostic.range
    # what the checkpoint becomes comes first (here: the file is not there), the call's text after
    checkpoint, call = hover.contents.value.split("\n\n---\n\n", 1)
    assert checkpoint.startswith("**Checkpoint** `modèle_🔥.pt` not found")
    assert call.startswith(diagnostic.message)
    assert "(checkpoint-keys)" in call


@pytest.mark.parametrize(
    ("cell", "where"),
    [
        (0, "model.load_state_dict"),  # a markdown cell
        (1, "model = Net()"),  # a cell without calls
        (1, "torch.optim"),
        (2, "Modèle"),  # the comment above the call
        (2, "note"),  # the statement before the call on its line
        (2, "# ✓"),  # the comment after it
        (4, "%time"),  # the magic, not its statement
        (5, "%%time"),
        (5, "Encoder()"),
    ],
)
async def test_no_hover_in_a_cell_away_from_reported_calls(
    opened: NotebookEditor, cell: int, where: str
):
    await opened.diagnostics(2)  # the notebook has been analysed

    assert await opened.hover(cell, opened.text(cell).index(where) + 1) is None
