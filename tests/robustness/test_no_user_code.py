"""Safety: neither the language server nor the CLI ever executes, imports or evaluates user code.

Every trap below writes a marker file when it runs. The project directory is the server's and the
CLI's working directory (VS Code starts ``python -m switcheroo_lsp`` there), it holds modules
named like the ones the tools import themselves, and the files being analysed and fixed do
harmful things at import time, in default arguments, decorators, ``__getattr__``... A single
marker means user code ran.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lsprotocol import types
from server_harness import running_server

from clientside import code_action_params

# Modules the server and CLI import (directly or through pygls, lsprotocol, libcst, the runtime)
# after start-up, plus the interpreter's customisation hooks: a project file with one of these
# names must never be picked up.
SHADOWED_MODULES = (
    "argparse",
    "logging",
    "json",
    "asyncio",
    "concurrent",
    "difflib",
    "tempfile",
    "hashlib",
    "uuid",
    "inspect",
    "dataclasses",
    "ast",
    "tokenize",
    "attrs",
    "attr",
    "cattrs",
    "pygls",
    "lsprotocol",
    "libcst",
    "typing_extensions",
    "yaml",
    "numpy",
    "jax",
    "torch",
    "flax",
    "sitecustomize",
    "usercustomize",
)

USER_FILE = '''\
"""A training script whose every line of side effects writes a marker."""
import pathlib
pathlib.Path(__file__).with_name("MARKER_import").write_text("imported")

import torch


def _trap(*args):
    pathlib.Path(__file__).with_name("MARKER_decorator").write_text("ran")
    return args[0] if args else None


class Net(torch.nn.Module):
    def __getattr__(self, name):
        pathlib.Path(__file__).with_name("MARKER_getattr").write_text(name)


@_trap
def restore(model, path=pathlib.Path(__file__).with_name("MARKER_default").write_text("x")):
    model.load_state_dict(torch.load(path))
    missing, unexpected = model.load_state_dict(eval("__import__('os').system('touch MARKER_eval')"))
    return missing, unexpected


if __name__ == "__main__":
    exec(open(__file__).read())
    net = Net()
    net.load_state_dict(torch.load(__import__("os").system("touch MARKER_main") or "w.pt"))
'''


def make_trap_project(root: Path) -> Path:
    """A project directory full of traps; returns the user's script."""
    root.mkdir(parents=True, exist_ok=True)
    for name in SHADOWED_MODULES:
        marker = root / f"MARKER_module_{name}"
        (root / f"{name}.py").write_text(f"open({str(marker)!r}, 'w').write('imported')\n")
    package = root / "switcheroo_lsp_plugins"
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text(f"open({str(root / 'MARKER_pkg')!r}, 'w')\n")
    (root / "conftest.py").write_text(f"open({str(root / 'MARKER_conftest')!r}, 'w')\n")
    script = root / "train.py"
    script.write_text(USER_FILE)
    return script


def markers(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("MARKER*"))


def test_cli_run_inside_a_trapped_project_runs_no_user_code(tmp_path: Path) -> None:
    project = tmp_path / "project"
    script = make_trap_project(project)
    console_script = shutil.which("switcheroo")
    commands = [
        [sys.executable, "-m", "switcheroo_lsp.cli", "check", "."],
        [sys.executable, "-m", "switcheroo_lsp.cli", "fix", "--diff", "."],
        [sys.executable, "-m", "switcheroo_lsp.cli", "fix", "."],
    ]
    if console_script:
        commands.insert(0, [console_script, "check", "."])
    for command in commands:
        done = subprocess.run(
            command, cwd=project, capture_output=True, text=True, timeout=120, check=False
        )
        assert "Traceback" not in done.stderr, (command, done.stderr)
        assert done.returncode in (0, 1), (command, done.stderr)
    assert markers(project) == []
    assert "KeyMapper.from_torch(" in script.read_text()  # it did work, without running anything


def test_server_started_inside_a_trapped_project_runs_no_user_code(tmp_path: Path) -> None:
    import asyncio

    project = tmp_path / "project"
    script = make_trap_project(project)
    uri = script.as_uri()

    async def session() -> None:
        # The plain `python -m` form, the one that puts the project first on sys.path.
        plain = [sys.executable, "-m", "switcheroo_lsp"]
        async with running_server(
            tmp_path, cwd=project, workspace=project, command=plain
        ) as server:
            server.open(uri, script.read_text())
            published = await server.wait_for_publish(uri, lambda p: len(p.diagnostics) > 0)
            assert len(published.diagnostics) == 3
            actions = await server.request(
                types.TEXT_DOCUMENT_CODE_ACTION,
                code_action_params(uri, 0, 40, only=["quickfix", "source.fixAll.switcheroo"]),
            )
            assert actions, "the server offered no action at all"
            for command, arguments in (
                ("switcheroo.migrateFile", [uri]),
                ("switcheroo.migrateWorkspace", []),
            ):
                await server.request(
                    types.WORKSPACE_EXECUTE_COMMAND,
                    types.ExecuteCommandParams(command=command, arguments=arguments),
                )
            assert "Traceback" not in server.user_visible_text()

    asyncio.run(session())
    assert markers(project) == []


def _other_pythons() -> list[str]:
    """Other interpreters on this machine that can run the server's start-up (3.10+)."""
    found: list[str] = []
    candidates = [shutil.which(f"python3.{minor}") for minor in (10, 12, 13)]
    # side-by-side installations (pyenv) next to this interpreter's
    candidates += sorted(str(p) for p in Path(sys.base_prefix).parent.glob("3.1[0-9]*/bin/python3"))
    for path in candidates:
        if path is None or Path(path).resolve() == Path(sys.executable).resolve():
            continue
        probe = subprocess.run(
            [path, "-c", "import sys; assert sys.version_info >= (3, 10)"],
            capture_output=True,
            timeout=60,
            check=False,
        )
        if probe.returncode == 0 and path not in found:
            found.append(path)
    return found[:3]


@pytest.mark.parametrize("python", _other_pythons() or [pytest.param("", marks=pytest.mark.skip)])
def test_start_up_guard_on_other_python_versions(tmp_path: Path, python: str) -> None:
    """The working-directory guard runs before anything else on every supported Python
    (``sys.flags.safe_path`` only exists from 3.11: 3.10 once crashed on it)."""
    project = tmp_path / "project"
    make_trap_project(project)
    server_dir = Path(__file__).resolve().parents[2] / "server"
    done = subprocess.run(
        [python, "-m", "switcheroo_lsp", "--version"],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(server_dir)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "switcheroo-lsp" in done.stdout
    assert markers(project) == []
