"""`switcheroo check|fix` on .ipynb files: findings as `path:cell N:line:col`, fixes that touch
only the changed cells' sources."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from switcheroo_lsp import cli

# Stored as .json: ruff lints and formats .ipynb files, and this one has a broken cell on purpose.
FINETUNE = Path(__file__).parent / "data" / "finetune.ipynb.json"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def notebook(tmp_path: Path) -> Path:
    target = tmp_path / "finetune.ipynb"
    shutil.copyfile(FINETUNE, target)
    return target


def test_check_reports_cell_line_and_column(notebook: Path):
    code, out, err = run("check", str(notebook))

    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith(f"{notebook}:cell 4:2:1: checkpoint-keys `model.load_state_dict(")
    assert lines[1].startswith(f"{notebook}:cell 6:3:1: checkpoint-keys `encoder.load_state_dict(")
    assert lines[2].startswith(f"{notebook}:cell 7:1:1: non-model-state `optimizer.")
    assert len(lines) == 3  # the raw cell and the markdown cell are not code
    assert f"{notebook}:cell 5:1:1: warning: this cell does not parse" in err
    assert "Found 2 load_state_dict calls to migrate in 1 file (2 fixable" in err


def test_check_json_has_the_cell(notebook: Path):
    code, out, _ = run("check", "--format", "json", str(notebook))

    report = json.loads(out)
    assert code == 1
    assert [(f["cell"], f["line"], f["column"]) for f in report["findings"]] == [
        (4, 2, 1),
        (6, 3, 1),
        (7, 1, 1),
    ]
    assert report["findings"][0]["path"] == str(notebook)
    [warning] = report["warnings"]
    assert warning["message"].startswith("cell 5:1:1: warning")
    assert report["summary"]["migration_sites"] == 2


def test_fix_rewrites_only_the_sources_of_changed_cells(notebook: Path):
    original = FINETUNE.read_text(encoding="utf-8")

    code, _, err = run("fix", str(notebook))

    assert code == 0
    assert "Migrated 2 calls in 1 file" in err
    new_text = notebook.read_text(encoding="utf-8")
    before, after = json.loads(original), json.loads(new_text)
    changed = [
        i for i, (a, b) in enumerate(zip(before["cells"], after["cells"], strict=True)) if a != b
    ]
    assert changed == [1, 3, 5]
    first = "".join(after["cells"][1]["source"])
    assert first.startswith("%pip install -q torch flax\nimport torch\nimport numpy as np\n")
    assert first.count("class KeyMapper") == 1
    assert "".join(after["cells"][3]["source"]).endswith(
        'variables = KeyMapper.from_torch(torch.load("resnet.pt", map_location="cpu"))'
    )
    assert isinstance(after["cells"][5]["source"], str)  # a string source stays a string
    for cell in (*before["cells"], *after["cells"]):
        del cell["source"]
    assert after == before  # outputs, execution counts, metadata, ids
    assert new_text.endswith("}\n")
    assert new_text.startswith(original[: original.index('"source"', original.index("5d1e7f3a"))])


def test_fix_is_idempotent(notebook: Path):
    run("fix", str(notebook))
    once = notebook.read_bytes()
    code, _, err = run("fix", str(notebook))
    assert notebook.read_bytes() == once
    assert code == 0 and "Migrated 0 calls in 0 files" in err
    assert run("check", str(notebook))[0] == 0  # only the optimizer hint is left


def test_fix_diff_shows_cells_and_writes_nothing(notebook: Path):
    code, out, _ = run("fix", "--diff", str(notebook))

    assert code == 1
    assert notebook.read_bytes() == FINETUNE.read_bytes()
    assert f"--- a/{notebook}:cell 2\n+++ b/{notebook}:cell 2\n" in out
    assert '+encoder_variables = KeyMapper.from_torch(torch.load("encoder.pt"))\n' in out
    assert f"b/{notebook}:cell 5" not in out


def test_directories_include_notebooks_but_not_jupyter_checkpoints(tmp_path: Path):
    shutil.copyfile(FINETUNE, tmp_path / "a.ipynb")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    shutil.copyfile(FINETUNE, tmp_path / ".ipynb_checkpoints" / "a-checkpoint.ipynb")

    _, out, _ = run("check", str(tmp_path))

    assert {line.split(":cell")[0] for line in out.splitlines()} == {str(tmp_path / "a.ipynb")}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{broken model.load_state_dict", "not valid JSON"),
        ('{"worksheets": [], "note": "model.load_state_dict"}', "nbformat 3"),
    ],
)
def test_a_file_that_is_not_a_notebook_is_an_error_and_left_alone(
    tmp_path: Path, content: str, message: str
):
    target = tmp_path / "bad.ipynb"
    target.write_text(content)
    code, _, err = run("fix", str(target))
    assert code == 2
    assert f"{target}: error: {message}" in err
    assert target.read_text() == content


def test_notebooks_of_other_languages_are_skipped(tmp_path: Path):
    data = json.loads(FINETUNE.read_text(encoding="utf-8"))
    data["metadata"]["kernelspec"]["language"] = "R"
    target = tmp_path / "r.ipynb"
    target.write_text(json.dumps(data))
    assert run("check", str(target))[:2] == (0, "")


def test_the_console_script_checks_a_notebook(notebook: Path):
    result = subprocess.run(
        [sys.executable, "-m", "switcheroo_lsp.cli", "check", str(notebook)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert f"{notebook}:cell 4:2:1: checkpoint-keys" in result.stdout
