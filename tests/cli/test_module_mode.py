"""`switcheroo fix DIR` in module mode: one KeyMapper module per project, imported by every fixed
file. Each layout is built in tmp_path, fixed, then run the way such a project runs
(``python -m pkg.train``, ``python scripts/train.py``, pytest) on a real torch checkpoint; the tree
it gets must be KeyMapper.from_torch's and must come from the project's one module."""

from __future__ import annotations

import io
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_runner import write

from switcheroo_lsp import cli

pytestmark = pytest.mark.slow  # runs migrated packages in subprocesses

torch = pytest.importorskip("torch")

NET = """\
import torch


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(2, 3, 3)
        self.bn = torch.nn.BatchNorm2d(3)
        self.fc = torch.nn.Linear(3, 4)


def restore(model, path):
    model.load_state_dict(torch.load(path))
"""

ENTRY = """\
import sys

import torch

{import_net}

if __name__ == "__main__":
    model = Net()
    model.load_state_dict(torch.load(sys.argv[1]))
"""

# Appended to an entry point after the fix: what the program got, and where KeyMapper came from.
PROBE = """
if __name__ == "__main__":
    import pickle as _pickle

    import jax as _jax
    import numpy as _np

    with open(sys.argv[2], "wb") as _stream:
        _pickle.dump(
            {
                "module": sys.modules[KeyMapper.__module__].__file__,
                "tree": _jax.tree.map(_np.asarray, variables),
            },
            _stream,
        )
"""


def fix(project: Path, *extra: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    monkeypatch.chdir(project)
    err = io.StringIO()
    code = cli.main(["fix", "-q", "-j", "1", *extra, *([] if extra else ["."])], io.StringIO(), err)
    return code, err.getvalue()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Net checkpoint with every parameter and buffer random (no identity-like init)."""
    torch.manual_seed(0)
    namespace: dict[str, object] = {}
    exec(NET, namespace)
    model = namespace["Net"]()  # type: ignore[operator]
    with torch.no_grad():
        for tensor in [*model.parameters(), *model.buffers()]:
            if tensor.is_floating_point():
                tensor.copy_(torch.rand_like(tensor) + 0.1)
    path = tmp_path_factory.mktemp("ckpt") / "net.pt"
    torch.save(model.state_dict(), path)
    return path


def expected_tree(checkpoint: Path) -> dict:
    import jax

    from switcheroo_lsp.runtime import KeyMapper

    return jax.tree.map(np.asarray, KeyMapper.from_torch(torch.load(checkpoint)))


def run_entry(project: Path, command: list[str], checkpoint: Path) -> dict:
    """Run a fixed entry point as the project runs it (its cwd, no PYTHONPATH of ours)."""
    out = project / "probe.pkl"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run(
        [sys.executable, *command, str(checkpoint), str(out)],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
        timeout=240,
    )
    return pickle.loads(out.read_bytes())


def keymapper_copies(project: Path) -> list[str]:
    return sorted(
        str(p.relative_to(project))
        for p in project.rglob("*.py")
        if "class KeyMapper" in p.read_text()
    )


def assert_same_tree(got: dict, want: dict, checkpoint: Path) -> None:
    import jax

    assert jax.tree.structure(got) == jax.tree.structure(want)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        np.testing.assert_array_equal(a, b)
    state = torch.load(checkpoint)
    np.testing.assert_array_equal(got["params"]["fc"]["kernel"], state["fc.weight"].numpy().T)


def test_package_run_with_python_m(tmp_path: Path, checkpoint: Path, monkeypatch) -> None:
    project = tmp_path / "proj"
    write(project / "pyproject.toml", "[project]\nname = 'pkg'\n")
    write(project / "pkg/__init__.py", "")
    write(project / "pkg/models/__init__.py", "")
    write(project / "pkg/models/net.py", NET)
    write(project / "pkg/train.py", ENTRY.format(import_net="from pkg.models.net import Net"))
    write(project / "pkg/evaluate.py", ENTRY.format(import_net="from .models.net import Net"))
    code, err = fix(project, monkeypatch=monkeypatch)
    assert code == 0, err
    assert keymapper_copies(project) == ["pkg/_keymapper.py"]
    assert "from pkg._keymapper import KeyMapper" in (project / "pkg/train.py").read_text()
    assert "from ._keymapper import KeyMapper" in (project / "pkg/evaluate.py").read_text()
    assert "from .._keymapper import KeyMapper" not in (project / "pkg/models/net.py").read_text()
    for name in ("train", "evaluate"):
        with (project / f"pkg/{name}.py").open("a") as stream:
            stream.write(PROBE)
        got = run_entry(project, ["-m", f"pkg.{name}"], checkpoint)
        assert got["module"] == str(project / "pkg/_keymapper.py")
        assert_same_tree(got["tree"], expected_tree(checkpoint), checkpoint)


def test_flat_scripts_folder_run_as_scripts(tmp_path: Path, checkpoint: Path, monkeypatch) -> None:
    project = tmp_path / "proj"
    write(project / ".git/HEAD", "ref: refs/heads/main\n")
    write(project / "scripts/net.py", NET)
    write(project / "scripts/train.py", ENTRY.format(import_net="from net import Net"))
    write(project / "scripts/evaluate.py", ENTRY.format(import_net="from net import Net"))
    code, err = fix(project, monkeypatch=monkeypatch)
    assert code == 0, err
    assert keymapper_copies(project) == ["scripts/_keymapper.py"]
    for name in ("train", "evaluate"):
        assert "from _keymapper import KeyMapper" in (project / f"scripts/{name}.py").read_text()
    with (project / "scripts/train.py").open("a") as stream:
        stream.write(PROBE)
    got = run_entry(project, ["scripts/train.py"], checkpoint)
    assert got["module"] == str(project / "scripts/_keymapper.py")
    assert_same_tree(got["tree"], expected_tree(checkpoint), checkpoint)


def test_src_layout_with_tests_run_by_pytest(tmp_path: Path, checkpoint: Path, monkeypatch) -> None:
    project = tmp_path / "proj"
    write(
        project / "pyproject.toml",
        "[project]\nname = 'lib'\n\n[tool.pytest.ini_options]\npythonpath = ['src']\n",
    )
    write(project / "src/lib/__init__.py", "")
    write(project / "src/lib/net.py", NET)
    write(
        project / "tests/test_restore.py",
        "import os\n\nimport torch\n\nfrom lib.net import Net, restore\n\n\n"
        "def test_restore():\n    model = Net()\n    model.load_state_dict(torch.load(os.environ['CKPT']))\n"
        "    restore(model, os.environ['CKPT'])\n",
    )
    code, err = fix(project, monkeypatch=monkeypatch)
    assert code == 0, err
    assert keymapper_copies(project) == ["src/lib/_keymapper.py"]
    assert "from lib._keymapper import KeyMapper" in (project / "tests/test_restore.py").read_text()
    with (project / "tests/test_restore.py").open("a") as stream:
        stream.write(
            "\n\ndef test_probe():\n    import pickle\n    import sys\n\n    import jax\n"
            "    import numpy as np\n\n    tree = KeyMapper.from_torch(torch.load(os.environ['CKPT']))\n"
            "    module = sys.modules[KeyMapper.__module__].__file__\n"
            "    with open(os.environ['OUT'], 'wb') as stream:\n"
            "        pickle.dump({'module': module, 'tree': jax.tree.map(np.asarray, tree)}, stream)\n"
        )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(CKPT=str(checkpoint), OUT=str(project / "probe.pkl"))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "tests"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout
    got = pickle.loads((project / "probe.pkl").read_bytes())
    assert got["module"] == str(project / "src/lib/_keymapper.py")
    assert_same_tree(got["tree"], expected_tree(checkpoint), checkpoint)


def test_namespace_package_run_with_python_m(tmp_path: Path, checkpoint: Path, monkeypatch) -> None:
    project = tmp_path / "proj"
    write(project / "setup.cfg", "[metadata]\nname = ns-plug\n")
    write(project / "ns/plug/net.py", NET)
    write(project / "ns/plug/train.py", ENTRY.format(import_net="from ns.plug.net import Net"))
    code, err = fix(project, monkeypatch=monkeypatch)
    assert code == 0, err
    assert keymapper_copies(project) == ["ns/plug/_keymapper.py"]
    for name in ("net", "train"):
        text = (project / f"ns/plug/{name}.py").read_text()
        assert "from ns.plug._keymapper import KeyMapper" in text
    with (project / "ns/plug/train.py").open("a") as stream:
        stream.write(PROBE)
    got = run_entry(project, ["-m", "ns.plug.train"], checkpoint)
    assert got["module"] == str(project / "ns/plug/_keymapper.py")
    assert_same_tree(got["tree"], expected_tree(checkpoint), checkpoint)


def small_package(project: Path) -> None:
    write(project / "pyproject.toml", "[project]\nname = 'pkg'\n")
    write(project / "pkg/__init__.py", "")
    write(project / "pkg/net.py", NET)
    write(project / "pkg/train.py", ENTRY.format(import_net="from pkg.net import Net"))


def test_each_fixed_file_gains_an_import_and_at_most_a_blank_line(
    tmp_path: Path, monkeypatch
) -> None:
    """The import, and a blank line when it opens an isort section of its own."""
    small_package(tmp_path)
    before = {p: p.read_text() for p in tmp_path.rglob("*.py")}
    fix(tmp_path, monkeypatch=monkeypatch)
    for path, text in before.items():
        added = len(path.read_text().splitlines()) - len(text.splitlines())
        assert added <= 2, path


def test_fix_is_idempotent_and_keeps_the_module(tmp_path: Path, monkeypatch) -> None:
    small_package(tmp_path)
    fix(tmp_path, monkeypatch=monkeypatch)
    after = {p: p.read_text() for p in tmp_path.rglob("*.py")}
    code, err = fix(tmp_path, monkeypatch=monkeypatch)
    assert code == 0
    assert "Migrated 0 calls in 0 files." in err
    assert {p: p.read_text() for p in tmp_path.rglob("*.py")} == after


def test_a_deleted_module_is_recreated(tmp_path: Path, monkeypatch) -> None:
    small_package(tmp_path)
    fix(tmp_path, monkeypatch=monkeypatch)
    module = tmp_path / "pkg/_keymapper.py"
    text = module.read_text()
    module.unlink()
    code, err = fix(tmp_path, monkeypatch=monkeypatch)
    assert code == 0, err
    assert module.read_text() == text
    assert "recreated" in err


def test_a_users_file_at_the_module_path_is_never_overwritten(tmp_path: Path, monkeypatch) -> None:
    small_package(tmp_path)
    mine = write(tmp_path / "pkg/_keymapper.py", "KEYS = {}\n")
    before = (tmp_path / "pkg/train.py").read_text()
    code, err = fix(tmp_path, monkeypatch=monkeypatch)
    assert code == 2
    assert mine.read_text() == "KEYS = {}\n"
    assert (tmp_path / "pkg/train.py").read_text() == before
    assert "exists and was not written by switcheroo (never overwritten)" in err


def test_an_outdated_untouched_module_is_updated(tmp_path: Path, monkeypatch) -> None:
    from switcheroo_lsp.engine.module_file import module_text
    from switcheroo_lsp.project import keymapper_module_text

    small_package(tmp_path)
    old = write(
        tmp_path / "pkg/_keymapper.py", module_text("class KeyMapper:\n    pass\n", "0.0.1")
    )
    code, err = fix(tmp_path, monkeypatch=monkeypatch)
    assert code == 0, err
    assert old.read_text() == keymapper_module_text()


def test_an_edited_module_is_left_alone(tmp_path: Path, monkeypatch) -> None:
    from switcheroo_lsp.project import keymapper_module_text

    small_package(tmp_path)
    edited = keymapper_module_text() + "\nEXTRA = 1\n"
    module = write(tmp_path / "pkg/_keymapper.py", edited)
    code, err = fix(tmp_path, monkeypatch=monkeypatch)
    assert code == 0, err
    assert module.read_text() == edited
    assert "edited since switcheroo wrote it; left as is" in err


def test_a_file_given_by_name_keeps_an_inlined_copy(tmp_path: Path, monkeypatch) -> None:
    small_package(tmp_path)
    code, err = fix(tmp_path, "pkg/train.py", monkeypatch=monkeypatch)
    assert code == 0, err
    assert "class KeyMapper" in (tmp_path / "pkg/train.py").read_text()
    assert not (tmp_path / "pkg/_keymapper.py").exists()


def test_preamble_inline_keeps_copies(tmp_path: Path, monkeypatch) -> None:
    small_package(tmp_path)
    code, err = fix(tmp_path, "--preamble", "inline", ".", monkeypatch=monkeypatch)
    assert code == 0, err
    assert keymapper_copies(tmp_path) == ["pkg/net.py", "pkg/train.py"]


def test_configured_module_path(tmp_path: Path, monkeypatch) -> None:
    small_package(tmp_path)
    write(
        tmp_path / "pyproject.toml",
        "[project]\nname = 'pkg'\n\n[tool.switcheroo]\nkeymapper-module = 'pkg/converters.py'\n",
    )
    code, err = fix(tmp_path, monkeypatch=monkeypatch)
    assert code == 0, err
    assert keymapper_copies(tmp_path) == ["pkg/converters.py"]
    assert "from pkg.converters import KeyMapper" in (tmp_path / "pkg/train.py").read_text()


def test_diff_shows_the_new_module_and_writes_nothing(tmp_path: Path, monkeypatch) -> None:
    small_package(tmp_path)
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    code = cli.main(["fix", "--diff", "-q", "."], out, io.StringIO())
    assert code == 1
    assert "--- /dev/null\n+++ " in out.getvalue()
    assert "+from pkg._keymapper import KeyMapper\n" in out.getvalue()
    assert not (tmp_path / "pkg/_keymapper.py").exists()


def test_a_notebook_next_to_the_package_keeps_an_inlined_copy(tmp_path: Path, monkeypatch) -> None:
    """A notebook is run by a kernel wherever it was opened: it stays self-contained."""
    import json

    small_package(tmp_path)
    cell = (
        "import torch\nmodel = torch.nn.Linear(3, 4)\nmodel.load_state_dict(torch.load('a.pt'))\n"
    )
    code_cell = {"cell_type": "code", "metadata": {}, "source": cell, "outputs": []}
    code_cell["execution_count"] = None
    notebook = {"cells": [code_cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    write(tmp_path / "explore.ipynb", json.dumps(notebook))
    code, err = fix(tmp_path, monkeypatch=monkeypatch)
    assert code == 0, err
    fixed = json.loads((tmp_path / "explore.ipynb").read_text())
    source = "".join("".join(c["source"]) for c in fixed["cells"])
    assert "class KeyMapper" in source
    assert "from pkg._keymapper import KeyMapper" in (tmp_path / "pkg/train.py").read_text()


def test_an_empty_directory_migrates_nothing(tmp_path: Path, monkeypatch) -> None:
    assert fix(tmp_path, monkeypatch=monkeypatch) == (0, "Migrated 0 calls in 0 files.\n")
