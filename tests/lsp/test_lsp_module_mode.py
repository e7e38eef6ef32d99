"""Module mode in the editor: a quick fix in a file whose project already has switcheroo's
KeyMapper module imports it; without one (a lone file) the quick fix stays self-contained."""

from __future__ import annotations

from pathlib import Path

from lsp_session import Session, converting, file_uri
from lsprotocol import types

from clientside import apply_text_edits
from switcheroo_lsp.project import keymapper_module_text

TRAIN = (
    "import torch\n"
    "\n"
    "from pkg.models import Net\n"
    "\n"
    "model = Net()\n"
    "model.load_state_dict(torch.load('a.pt'))\n"
)
CALL_LINE = 5


def package(root: Path, module_text: str | None) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'pkg'\n")
    (root / "pkg/__init__.py").write_text("")
    (root / "pkg/models.py").write_text("")
    if module_text is not None:
        (root / "pkg/_keymapper.py").write_text(module_text)
    train = root / "pkg/train.py"
    train.write_text(TRAIN)
    return train


async def quick_fixed(session: Session, train: Path) -> str:
    uri = file_uri(train)
    await session.initialize(workspace=file_uri(train.parent.parent))
    session.open(uri, TRAIN)
    [action] = converting(await session.code_actions(uri, CALL_LINE))
    assert session.apply(action.edit)
    return session.texts[uri]


async def test_a_quick_fix_imports_the_projects_keymapper_module(session: Session, tmp_path):
    train = package(tmp_path, keymapper_module_text())
    assert await quick_fixed(session, train) == (
        "import torch\n"
        "\n"
        "from pkg._keymapper import KeyMapper\n"
        "from pkg.models import Net\n"
        "\n"
        "model = Net()\n"
        "variables = KeyMapper.from_torch(torch.load('a.pt'))\n"
    )


async def test_without_a_module_the_quick_fix_inlines_the_keymapper(session: Session, tmp_path):
    train = package(tmp_path, None)
    fixed = await quick_fixed(session, train)
    assert "class KeyMapper" in fixed
    assert "_keymapper" not in fixed


async def test_a_users_own_keymapper_file_is_not_taken_for_the_module(session: Session, tmp_path):
    train = package(tmp_path, "class KeyMapper:\n    pass\n")
    fixed = await quick_fixed(session, train)
    assert "class KeyMapper" in fixed
    assert "from pkg._keymapper" not in fixed


async def execute(session: Session, command: str, *arguments) -> dict:
    return await session.client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command, arguments=list(arguments))
    )


def edits_by_uri(edit: types.WorkspaceEdit) -> dict[str, list[types.TextEdit]]:
    """Text edits per uri, from either shape of workspace edit (resource operations left out)."""
    result: dict[str, list[types.TextEdit]] = {}
    for change in edit.document_changes or []:
        if isinstance(change, types.TextDocumentEdit):
            result.setdefault(change.text_document.uri, []).extend(change.edits)
    for uri, edits in (edit.changes or {}).items():
        result.setdefault(uri, []).extend(edits)
    return result


def two_file_package(root: Path) -> None:
    package(root, None)
    (root / "pkg/evaluate.py").write_text(TRAIN)


async def test_migrate_workspace_creates_one_module_and_imports_it(session: Session, tmp_path):
    two_file_package(tmp_path)
    await session.initialize(workspace=file_uri(tmp_path))

    report = await execute(session, "switcheroo.migrateWorkspace")

    assert report["applied"] is True, report
    [request] = session.client.edit_requests
    module = tmp_path / "pkg/_keymapper.py"
    texts = edits_by_uri(request.edit)
    for name in ("train", "evaluate"):
        fixed = apply_text_edits(TRAIN, texts[file_uri(tmp_path / f"pkg/{name}.py")], "utf-16")
        assert "from pkg._keymapper import KeyMapper\n" in fixed
        assert "class KeyMapper" not in fixed
    if session.client_name == "visual-studio-code":  # documentChanges with resource operations
        create, insert = request.edit.document_changes[:2]
        assert isinstance(create, types.CreateFile)
        assert create.uri == file_uri(module)
        assert create.options.overwrite is False
        assert insert.text_document.uri == file_uri(module)
        assert [e.new_text for e in insert.edits] == [keymapper_module_text()]
        assert not module.exists()  # the client creates it
    else:  # Neovim's capability set has no documentChanges: the server writes the module
        assert module.read_text() == keymapper_module_text()


async def test_migrate_workspace_asked_for_copies_inlines(session: Session, tmp_path):
    two_file_package(tmp_path)
    await session.initialize(workspace=file_uri(tmp_path))

    await execute(session, "switcheroo.migrateWorkspace", {"preamble": "inline"})

    [request] = session.client.edit_requests
    texts = edits_by_uri(request.edit)
    fixed = apply_text_edits(TRAIN, texts[file_uri(tmp_path / "pkg/train.py")], "utf-16")
    assert "class KeyMapper" in fixed
    assert not any(isinstance(c, types.CreateFile) for c in request.edit.document_changes or [])
    assert not (tmp_path / "pkg/_keymapper.py").exists()
