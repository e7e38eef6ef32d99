"""One configuration: the server reads [tool.switcheroo] from the pyproject.toml governing each
document, reloads it on workspace/didChangeWatchedFiles, and lays editor settings over it as the
command line lays its flags; editor fix-all and `switcheroo fix` then write the same bytes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsp_session import Session, file_uri
from lsprotocol import types

from monorepo import TRAIN
from switcheroo_lsp import cli

IMPORT_PARAMS = '[tool.switcheroo]\npreamble = "import"\nassignment-name = "params"\n'


def project(root: Path, config: str) -> Path:
    """A folder with a pyproject.toml and one training script; returns the script's path."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(f'[project]\nname = "demo"\n\n{config}', encoding="utf-8")
    script = root / "src" / "train.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(TRAIN, encoding="utf-8")
    return script


def cli_fix(root: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The bytes `switcheroo fix` writes for src/train.py, run in ``root`` as a user would."""
    monkeypatch.chdir(root)
    code = cli.main(["fix", "-q", "src/train.py"], out=_Sink(), err=_Sink())
    assert code == 0
    return (root / "src" / "train.py").read_text(encoding="utf-8")


class _Sink:
    def write(self, text: str) -> int:
        return len(text)

    def writelines(self, lines) -> None:
        pass

    def isatty(self) -> bool:
        return False


async def editor_fix_all(session: Session, uri: str) -> str:
    """Fix-all through the source action, resolved when the client resolves, applied like an editor."""
    [action] = await session.code_actions(uri, 0, only=["source.fixAll"])
    if action.edit is None:
        action = await session.client.code_action_resolve_async(action)
    assert action.edit is not None
    assert session.apply(action.edit)
    return session.texts[uri]


async def test_editor_fix_all_writes_the_same_bytes_as_switcheroo_fix(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    editor_root, cli_root = tmp_path / "editor", tmp_path / "cli"
    script = project(editor_root, IMPORT_PARAMS)
    project(cli_root, IMPORT_PARAMS)
    await session.initialize(workspace=file_uri(editor_root))
    uri = file_uri(script)
    session.open(uri, TRAIN)

    fixed_in_editor = await editor_fix_all(session, uri)

    assert fixed_in_editor == cli_fix(cli_root, monkeypatch)
    assert "params = KeyMapper.from_torch(checkpoint['model'])" in fixed_in_editor
    assert "from switcheroo_lsp.runtime import KeyMapper" in fixed_in_editor
    assert "class KeyMapper" not in fixed_in_editor


async def test_editor_settings_override_the_config_file_like_flags(
    session: Session, tmp_path: Path
):
    script = project(tmp_path / "proj", IMPORT_PARAMS)
    session.client.set_configuration({"assignmentName": "state_tree"}, section="switcheroo")
    await session.initialize(workspace=file_uri(tmp_path / "proj"))
    uri = file_uri(script)
    session.open(uri, TRAIN)

    fixed = await editor_fix_all(session, uri)

    assert "state_tree = KeyMapper.from_torch(checkpoint['model'])" in fixed
    assert "from switcheroo_lsp.runtime import KeyMapper" in fixed  # the file's preamble stays


async def test_a_pyproject_outside_the_workspace_folder_is_not_read(
    session: Session, tmp_path: Path
):
    (tmp_path / "pyproject.toml").write_text(IMPORT_PARAMS, encoding="utf-8")
    folder = tmp_path / "checkout"
    script = folder / "train.py"
    folder.mkdir()
    script.write_text(TRAIN, encoding="utf-8")
    await session.initialize(workspace=file_uri(folder))
    uri = file_uri(script)
    session.open(uri, TRAIN)

    fixed = await editor_fix_all(session, uri)

    assert "variables = KeyMapper.from_torch(checkpoint['model'])" in fixed
    assert "class KeyMapper" in fixed


async def test_editing_pyproject_and_did_change_watched_files_changes_the_next_fix(
    session: Session, tmp_path: Path
):
    root = tmp_path / "proj"
    script = project(root, IMPORT_PARAMS)
    await session.initialize(workspace=file_uri(root))
    uri = file_uri(script)
    session.open(uri, TRAIN)
    diagnostics = await session.diagnostics(uri)
    assert [d.code for d in diagnostics] == ["checkpoint-keys", "non-model-state"]

    (root / "pyproject.toml").write_text(
        '[tool.switcheroo]\nassignment-name = "weights"\nhint-non-model = false\n',
        encoding="utf-8",
    )
    published = len(session.client.published)
    session.client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[
                types.FileEvent(
                    uri=file_uri(root / "pyproject.toml"), type=types.FileChangeType.Changed
                )
            ]
        )
    )

    if session.pull:  # the notification is handled before the next request is read
        assert [d.code for d in await session.diagnostics(uri)] == ["checkpoint-keys"]
    else:
        await session.wait_for_publish(
            uri, lambda p: [d.code for d in p.diagnostics] == ["checkpoint-keys"], after=published
        )
    fixed = await editor_fix_all(session, uri)
    assert "weights = KeyMapper.from_torch(checkpoint['model'])" in fixed
    assert "class KeyMapper" in fixed  # preamble is no longer "import"


async def test_a_watcher_for_pyproject_is_registered_when_the_client_supports_it(
    session: Session, tmp_path: Path
):
    await session.initialize(workspace=file_uri(tmp_path))
    session.open(file_uri(tmp_path / "x.py"), TRAIN)
    await session.diagnostics(file_uri(tmp_path / "x.py"))

    def watchers() -> list:
        return [
            r for r in session.client.registrations if r.method == "workspace/didChangeWatchedFiles"
        ]

    dynamic = session.capabilities.workspace.did_change_watched_files
    if dynamic is not None and dynamic.dynamic_registration:
        # registered after `initialized`, in its own round trip: it may come after diagnostics
        for _ in range(600):
            if watchers():
                break
            await asyncio.sleep(0.05)
        [registration] = watchers()
        globs = [w["globPattern"] for w in registration.register_options["watchers"]]
        assert globs == ["**/pyproject.toml"]
    else:
        assert watchers() == []
