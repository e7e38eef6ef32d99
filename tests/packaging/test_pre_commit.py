"""The pre-commit hooks of .pre-commit-hooks.yaml, run by the real ``pre-commit try-repo``.

pre-commit builds a virtualenv and pip-installs this project into it (pygls, lsprotocol and libcst
come from the package index), so the tests are slow and need the index. The hook repository is a
temporary git repository holding a copy of the files a build needs (pyproject.toml, setup.py,
MANIFEST.in, README.md, server/, .pre-commit-hooks.yaml) committed once: try-repo only sees committed and modified
tracked files, and a work tree (or a clean clone in CI) need not have the hook file committed.
Both tests share one pre-commit cache, so the hook environment is built once per worker.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
BUILD_FILES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", ".pre-commit-hooks.yaml")
TRY_REPO_TIMEOUT_S = 600

MODEL_CALL = 'model.load_state_dict(torch.load("checkpoint.pt"))'
TRAIN = f"""\
import torch
from torch import nn

model = nn.Linear(4, 2)
{MODEL_CALL}
"""


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def pre_commit() -> list[str]:
    if shutil.which("pre-commit") is None:
        try:
            import pre_commit  # noqa: F401
        except ModuleNotFoundError:
            pytest.fail("pre-commit is not installed: pip install -e '.[test]'")
    return [sys.executable, "-m", "pre_commit"]


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("hook-repo")
    for name in BUILD_FILES:
        shutil.copy2(REPO / name, repo / name)
    shutil.copytree(
        REPO / "server",
        repo / "server",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"),
    )
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "hooks under test")
    return repo


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


def project_with_train_py(root: Path) -> Path:
    root.mkdir()
    (root / "train.py").write_text(TRAIN, encoding="utf-8")
    git(root, "init", "-q")
    git(root, "add", "train.py")
    return root


def try_repo(
    hook_repo: Path, hook: str, project: Path, home: Path
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"}
    env.pop("PYTHONPATH", None)  # the hook must run the installed copy, not this work tree
    result = subprocess.run(
        [*pre_commit(), "try-repo", str(hook_repo), hook, "--all-files", "--verbose"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=TRY_REPO_TIMEOUT_S,
    )
    if "An unexpected error has occurred" in result.stdout + result.stderr:
        log = home / "pre-commit.log"
        details = log.read_text(encoding="utf-8") if log.exists() else ""
        pytest.fail(f"pre-commit crashed:\n{result.stdout}\n{result.stderr}\n{details}")
    return result


def test_check_hook_fails_and_reports_the_call(
    hook_repo: Path, pre_commit_home: Path, tmp_path: Path
) -> None:
    project = project_with_train_py(tmp_path / "project")

    result = try_repo(hook_repo, "switcheroo-check", project, pre_commit_home)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "switcheroo check" in result.stdout
    assert "Failed" in result.stdout
    assert "train.py:5:1: checkpoint-keys" in result.stdout
    assert (project / "train.py").read_text(encoding="utf-8") == TRAIN


def test_fix_hook_rewrites_the_file(hook_repo: Path, pre_commit_home: Path, tmp_path: Path) -> None:
    project = project_with_train_py(tmp_path / "project")

    result = try_repo(hook_repo, "switcheroo-fix", project, pre_commit_home)

    # pre-commit fails a hook that modified files, so the user reviews and stages the rewrite.
    assert result.returncode == 1, result.stdout + result.stderr
    assert "files were modified by this hook" in result.stdout
    fixed = (project / "train.py").read_text(encoding="utf-8")
    assert MODEL_CALL not in fixed
    assert "variables = KeyMapper.from_torch(" in fixed
    assert "class KeyMapper" in fixed
