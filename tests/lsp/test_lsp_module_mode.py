"""Module mode in the editor: a quick fix in a file whose project already has switcheroo's
KeyMapper module imports it; without one (a lone file) the quick fix stays self-contained."""

from __future__ import annotations

from pathlib import Path

from lsp_session import Session, file_uri

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
    [action] = await session.code_actions(uri, CALL_LINE)
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
