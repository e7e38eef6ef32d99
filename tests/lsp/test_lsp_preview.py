"""The checkpoint preview end to end: hover, code lens and switcheroo.checkpointTree, with VS Code's
and Neovim's capability sets, over checkpoints the tests write (safetensors, a sharded index.json,
a torch .pt). The texts are checked against the preview module run on the same files, and the
figures that matter (paths, counts) spelled out."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsp_session import CLIENTS, Session, file_uri
from lsprotocol import types
from pytest_lsp import ClientServerConfig

from checkpoint_files import SMALL_MODEL, write_safetensors, write_sharded
from clientside import RecordingClient, client_position, make_client
from switcheroo_lsp.checkpoints.flax_preview import (
    hover_markdown,
    lens_title,
    preview,
    strict_message,
    tree_text,
)
from switcheroo_lsp.checkpoints.headers import read_header

TRAIN = """\
import torch
from pathlib import Path
from safetensors.torch import load_file

model = Net()
optimizer = torch.optim.AdamW(model.parameters())
model.load_state_dict(load_file("weights/model.safetensors"))
sharded = "model.safetensors.index.json"
checkpoint = torch.load(Path("runs") / "last.pt", map_location="cpu")
model.load_state_dict(checkpoint["model"])
optimizer.load_state_dict(checkpoint["optimizer"])
model.load_state_dict(torch.load("absent/model.pt"))
"""
SINGLE_CALL = 'model.load_state_dict(load_file("weights/model.safetensors"))'
PT_CALL = 'model.load_state_dict(checkpoint["model"])'


def make_project(root: Path) -> Path:
    """workspace/src/train.py, workspace/src/weights/model.safetensors (beside the document),
    workspace/model.safetensors.index.json (at the workspace root, 3 shards) and
    workspace/src/runs/last.pt (a torch training checkpoint, written by torch)."""
    source = root / "src" / "train.py"
    source.parent.mkdir(parents=True)
    source.write_text(TRAIN)
    write_safetensors(source.parent / "weights" / "model.safetensors", SMALL_MODEL)
    write_sharded(root, SMALL_MODEL, shards=3)
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.LayerNorm(8))
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    (source.parent / "runs").mkdir()
    torch.save(
        {"model": net.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 2},
        source.parent / "runs" / "last.pt",
    )
    return source


async def open_project(session: Session, root: Path, settings: Any = None) -> tuple[str, Path]:
    source = make_project(root)
    await session.initialize(workspace=file_uri(root), settings=settings)
    uri = file_uri(source)
    session.open(uri, TRAIN)
    return uri, source


async def hover_at(session: Session, uri: str, offset: int) -> types.Hover | None:
    return await session.client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=client_position(session.texts[uri], offset, session.encoding),
        )
    )


def hover_text(hover: types.Hover | None) -> str:
    assert hover is not None
    assert isinstance(hover.contents, types.MarkupContent)
    assert hover.contents.kind == types.MarkupKind.Markdown
    return hover.contents.value


async def lenses(session: Session, uri: str) -> list[types.CodeLens]:
    found = await session.client.text_document_code_lens_async(
        types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    return list(found or [])


async def test_hover_on_a_load_call_shows_the_flax_tree_then_the_rule(
    session: Session, tmp_path: Path
) -> None:
    uri, source = await open_project(session, tmp_path)
    checkpoint = source.parent / "weights" / "model.safetensors"

    text = hover_text(await hover_at(session, uri, TRAIN.index(SINGLE_CALL) + 3))

    summary = hover_markdown(preview(read_header(checkpoint)))
    assert text.startswith(summary + "\n\n---\n\n")
    assert "10 tensors -> 9 Flax leaves (linen)" in text
    assert "- `params/encoder_0/kernel` 32×64 bf16\n" in text
    assert "`batch_stats/encoder_1/var` 64 f32" in text  # the fifth path
    assert "`params/encoder_1/scale`" not in text  # the sixth: the first five only
    assert "checkpoint-keys" in text  # the rule's documentation follows


async def test_hover_on_literals_resolves_from_the_document_then_the_workspace(
    session: Session, tmp_path: Path
) -> None:
    uri, _ = await open_project(session, tmp_path)
    literal = TRAIN.index('"weights/model.safetensors"') + 5
    index_literal = TRAIN.index('"model.safetensors.index.json"') + 5

    beside = hover_text(await hover_at(session, uri, literal))
    root = hover_text(await hover_at(session, uri, index_literal))

    assert beside.startswith("**Checkpoint** `model.safetensors` (safetensors)")
    index = tmp_path / "model.safetensors.index.json"
    assert root == hover_markdown(preview(read_header(index)))
    assert root.startswith(
        "**Checkpoint** `model.safetensors.index.json` (sharded safetensors, 3 shards)"
    )


async def test_hover_on_a_torch_load_subscript_previews_that_part_of_the_pt_file(
    session: Session, tmp_path: Path
) -> None:
    uri, source = await open_project(session, tmp_path)

    text = hover_text(await hover_at(session, uri, TRAIN.index(PT_CALL) + 2))

    header = read_header(source.parent / "runs" / "last.pt")
    assert text.startswith(hover_markdown(preview(header, ("model",))))
    assert "**Checkpoint** `last.pt`['model'] (torch zip)" in text
    assert "4 tensors -> 4 Flax leaves (linen)" in text
    assert "`params/layers_1/scale` 8 f32" in text


async def test_hover_on_a_missing_checkpoint_says_where_it_looked(
    session: Session, tmp_path: Path
) -> None:
    uri, source = await open_project(session, tmp_path)

    text = hover_text(await hover_at(session, uri, TRAIN.index('"absent/model.pt"') + 3))

    assert text.startswith(
        f"**Checkpoint** `absent/model.pt` not found (looked in `{source.parent / 'absent'}`,"
        f" `{tmp_path / 'absent'}`)\n\n---\n\n"  # then the call's own explanation
    )


async def test_code_lenses_sit_above_fixable_calls_whose_checkpoint_exists_and_open_the_tree(
    session: Session, tmp_path: Path
) -> None:
    uri, source = await open_project(session, tmp_path)
    single = preview(read_header(source.parent / "weights" / "model.safetensors"))
    part = preview(read_header(source.parent / "runs" / "last.pt"), ("model",))

    found = await lenses(session, uri)

    lines = TRAIN.splitlines()
    assert [(lens.range.start.line, lens.command.title) for lens in found if lens.command] == [
        (lines.index(SINGLE_CALL), lens_title(single)),
        (lines.index(PT_CALL), lens_title(part)),
    ]  # not the optimizer's call, nor the call whose checkpoint is absent
    assert (
        lens_title(single) == "10 tensors -> 9 Flax leaves · 13.0 kB bf16 · 1 ambiguous · 1 dropped"
    )
    command = found[1].command
    assert command is not None and command.command == "switcheroo.checkpointTree"
    assert command.arguments is not None
    assert command.arguments[0].startswith("switcheroo-preview:")

    answer = await session.client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command.command, arguments=command.arguments)
    )

    assert answer["uri"] == command.arguments[0]
    assert answer["text"] == tree_text(part)
    assert "params\n  layers_0\n    bias  8  float32  <- 0.bias\n" in answer["text"]


async def test_code_lenses_off_by_setting(session: Session, tmp_path: Path) -> None:
    uri, _ = await open_project(session, tmp_path, settings={"codeLens": False})

    assert await lenses(session, uri) == []


async def test_checkpoints_outside_the_workspace_are_read_only_when_allowed(
    session: Session, tmp_path: Path
) -> None:
    workspace = tmp_path / "ws"
    write_safetensors(tmp_path / "shared" / "model.safetensors", SMALL_MODEL)
    source_text = 'w = "../shared/model.safetensors"\n'
    (workspace).mkdir()
    (workspace / "load.py").write_text(source_text)
    session.client.set_configuration({"previewOutsideWorkspace": False}, section="switcheroo")
    await session.initialize(workspace=file_uri(workspace))
    uri = file_uri(workspace / "load.py")
    session.open(uri, source_text)

    refused = hover_text(await hover_at(session, uri, 8))
    assert refused == (
        "**Checkpoint** `../shared/model.safetensors` is outside the workspace: set "
        "`switcheroo.previewOutsideWorkspace` to preview it"
    )
    outside = tmp_path / "shared" / "model.safetensors"
    answer = await session.client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="switcheroo.checkpointTree",
            arguments=[f"switcheroo-preview:{outside}.flax-tree", uri],
        )
    )
    assert answer["text"] == f"# {outside} is outside the workspace: not read\n"

    session.client.set_configuration({"previewOutsideWorkspace": True}, section="switcheroo")
    session.client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(
            settings={"switcheroo": {"previewOutsideWorkspace": True}}
        )
    )
    for _ in range(200):
        allowed = hover_text(await hover_at(session, uri, 8))
        if allowed != refused:
            break
    assert allowed == hover_markdown(preview(read_header(outside)))


# -- a server without numpy ------------------------------------------------------------------------

WITHOUT_NUMPY = (
    "import runpy, sys; sys.modules['numpy'] = None; "
    "runpy.run_module('switcheroo_lsp', run_name='__main__')"
)


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, "-c", WITHOUT_NUMPY], client_factory=make_client
    ),
    params=CLIENTS,
    ids=CLIENTS,
)
async def bare_client(request: pytest.FixtureRequest, client: RecordingClient) -> Any:
    client.client_name = request.param
    yield
    await client.shutdown_session()


async def test_without_numpy_the_hover_is_the_header_summary_and_says_how_to_get_the_tree(
    bare_client: RecordingClient, tmp_path: Path
) -> None:
    session = Session(bare_client, bare_client.client_name)
    uri, source = await open_project(session, tmp_path)

    text = hover_text(await hover_at(session, uri, TRAIN.index(SINGLE_CALL) + 3))

    checkpoint = source.parent / "weights" / "model.safetensors"
    assert text.startswith(
        "**Checkpoint** `model.safetensors` (safetensors)\n\n"
        "10 tensors · 13.0 kB · bf16 11.9 kB, f32 1.0 kB, i64 8 B\n\n"
        "numpy is not installed where the server runs, so the Flax tree is not shown: "
        "`pip install numpy ml_dtypes` in the server's environment, or run "
        f"`switcheroo inspect {checkpoint}`"
    )
    [first, _] = await lenses(session, uri)
    assert first.command is not None
    assert first.command.title == "10 tensors · 13.0 kB bf16 · no Flax preview"


# -- diagnostics from the checkpoint -------------------------------------------------------------


async def diagnostics_until(session: Session, uri: str, code: str) -> list[types.Diagnostic]:
    """The document's diagnostics once one has ``code`` (pushed, or pulled again until then)."""
    if not session.pull:
        published = await session.wait_for_publish(
            uri, lambda p: any(d.code == code for d in p.diagnostics)
        )
        return list(published.diagnostics)
    for _ in range(300):
        found = await session.diagnostics(uri)
        if any(d.code == code for d in found):
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {code} diagnostic was pulled")


async def test_checkpoint_diagnostics_say_at_the_call_what_strict_would_raise(
    session: Session, tmp_path: Path
) -> None:
    uri, source = await open_project(session, tmp_path, settings={"checkpointDiagnostics": True})
    single = preview(read_header(source.parent / "weights" / "model.safetensors"))

    found = await diagnostics_until(session, uri, "checkpoint-strict")

    [strict] = [d for d in found if d.code == "checkpoint-strict"]
    assert strict.message == f"model.safetensors: {strict_message(single)}"
    assert (
        "ambiguous (1): embed.weight (100, 32): Linear or Embedding? (pass target=)"
        in strict.message
    )
    assert session.text_at(uri, strict.range) == SINGLE_CALL
    assert strict.severity == types.DiagnosticSeverity.Warning
    # the LayerNorm of last.pt fits: no diagnostic there, nor at calls without a checkpoint
    assert [d.code for d in found].count("checkpoint-strict") == 1


async def test_checkpoint_diagnostics_are_off_by_default(session: Session, tmp_path: Path) -> None:
    uri, _ = await open_project(session, tmp_path)
    await hover_at(session, uri, TRAIN.index(SINGLE_CALL) + 3)  # the checkpoint is read now
    session.set_text(uri, TRAIN + "# changed\n")

    found = await session.diagnostics(uri)

    codes = [d.code for d in found]
    assert codes == ["checkpoint-keys", "checkpoint-keys", "non-model-state", "checkpoint-keys"]


async def test_a_migrated_from_torch_call_keeps_its_lens_and_hover(
    session: Session, tmp_path: Path
) -> None:
    migrated = 'variables = KeyMapper.from_torch("weights/model.safetensors", strict=True)\n'
    checkpoint = write_safetensors(tmp_path / "weights" / "model.safetensors", SMALL_MODEL)
    (tmp_path / "run.py").write_text(migrated)
    await session.initialize(workspace=file_uri(tmp_path))
    uri = file_uri(tmp_path / "run.py")
    session.open(uri, migrated)
    expected = preview(read_header(checkpoint))

    [lens] = await lenses(session, uri)
    text = hover_text(await hover_at(session, uri, migrated.index("from_torch")))

    assert lens.command is not None and lens.command.title == lens_title(expected)
    assert text == hover_markdown(expected)  # no rule text: the call is migrated already
