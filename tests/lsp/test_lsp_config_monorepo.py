"""One configuration per file in a monorepo: with one workspace folder at the repository root,
the server fixes each package's file with that package's `[tool.switcheroo]`, byte for byte as
`switcheroo fix pkg_a pkg_b tools` writes it."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsp_session import Session, file_uri
from test_lsp_config import _Sink, editor_fix_all

from monorepo import SCRIPTS, TRAIN, monorepo
from switcheroo_lsp import cli


async def test_editor_and_cli_write_the_same_bytes_for_each_package(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    editor_root, cli_root = monorepo(tmp_path / "editor"), monorepo(tmp_path / "cli")
    monkeypatch.chdir(cli_root)
    assert cli.main(["fix", "-q", "pkg_a", "pkg_b", "tools"], out=_Sink(), err=_Sink()) == 0
    await session.initialize(workspace=file_uri(editor_root))

    for script in SCRIPTS:
        uri = file_uri(editor_root / script)
        session.open(uri, TRAIN)
        fixed_in_editor = await editor_fix_all(session, uri)

        assert fixed_in_editor == (cli_root / script).read_text(encoding="utf-8"), script
    names = [(cli_root / s).read_text(encoding="utf-8") for s in SCRIPTS]
    assert "params = KeyMapper" in names[0] and "class KeyMapper" in names[0]
    assert "weights = KeyMapper" in names[1] and "from switcheroo_lsp.runtime" in names[1]
    assert "root_tree = KeyMapper" in names[2]
