"""`switcheroo check|fix`: output format, exit codes, writing, bad input. In-process through
``main(argv, out, err)``, plus a few real subprocesses for the console script."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_runner import run, write

from switcheroo_lsp.cli import arguments, pool
from switcheroo_lsp.cli import progress as progress_module

MODEL = "import torch\n\n\ndef restore(ckpt):\n    model = Net()\n    model.load_state_dict(ckpt['model'])\n"
OPTIMIZER = "def restore(optimizer, ckpt):\n    optimizer.load_state_dict(ckpt['optimizer'])\n"
CLEAN = "x = 1\n"


def test_check_reports_copies_between_models_as_model_calls(tmp_path: Path) -> None:
    text = "policy_net = DQN()\ntarget_net = DQN()\ntarget_net.load_state_dict(policy_net.state_dict())\n"
    target = write(tmp_path / "dqn.py", text)
    code, out, err = run("check", str(target))
    assert code == 1
    assert out.startswith(f"{target}:3:1: model-copy `target_net.load_state_dict(...)`")
    assert "target_net_variables = policy_net_variables" in out
    assert "Found 1 load_state_dict call to migrate in 1 file (0 fixable" in err


def test_check_prints_ruff_like_lines_and_exits_1(tmp_path: Path) -> None:
    target = write(tmp_path / "train.py", MODEL)
    code, out, err = run("check", str(target))
    assert code == 1
    assert out.startswith(f"{target}:6:5: checkpoint-keys `model.load_state_dict(...)`")
    assert "Found 1 load_state_dict call to migrate in 1 file (1 fixable" in err


def test_check_clean_tree_exits_0(tmp_path: Path) -> None:
    write(tmp_path / "a.py", CLEAN)
    code, out, err = run("check", str(tmp_path))
    assert (code, out) == (0, "")
    assert "No load_state_dict calls to migrate in 1 file" in err


def test_non_model_hints_are_shown_but_do_not_fail(tmp_path: Path) -> None:
    target = write(tmp_path / "opt.py", OPTIMIZER)
    code, out, _ = run("check", str(target))
    assert code == 0
    assert ":2:5: non-model-state `optimizer.load_state_dict(...)`" in out


def test_no_hints_flag_hides_non_model_calls(tmp_path: Path) -> None:
    target = write(tmp_path / "opt.py", OPTIMIZER)
    assert run("check", "--no-hints", str(target))[1] == ""


def test_check_json(tmp_path: Path) -> None:
    target = write(tmp_path / "train.py", MODEL)
    code, out, _ = run("check", "--format", "json", str(target))
    data = json.loads(out)
    assert code == 1
    (finding,) = data["findings"]
    assert finding["path"] == str(target)
    assert (finding["line"], finding["column"], finding["code"]) == (6, 5, "checkpoint-keys")
    assert finding["fixable"] is True and finding["kind"] == "model"
    assert data["summary"]["migration_sites"] == 1 and data["errors"] == []


def test_fix_writes_the_file_and_exits_0(tmp_path: Path) -> None:
    target = write(tmp_path / "train.py", MODEL)
    code, out, err = run("fix", str(target))
    assert code == 0 and out == ""
    text = target.read_text()
    assert "    variables = KeyMapper.from_torch(ckpt['model'])\n" in text
    assert "class KeyMapper" in text
    assert "Migrated 1 call in 1 file" in err
    assert run("check", str(target))[0] == 0  # nothing left to migrate


def test_fix_again_changes_nothing(tmp_path: Path) -> None:
    target = write(tmp_path / "train.py", MODEL)
    run("fix", str(target))
    once = target.read_bytes()
    code, _, err = run("fix", str(target))
    assert code == 0 and target.read_bytes() == once
    assert "Migrated 0 calls in 0 files" in err


def test_fix_diff_prints_a_diff_and_writes_nothing(tmp_path: Path) -> None:
    target = write(tmp_path / "train.py", MODEL)
    code, out, err = run("fix", "--diff", str(target))
    assert code == 1
    assert out.startswith(f"--- {target}\n+++ {target}\n")  # absolute paths as they are
    assert "-    model.load_state_dict(ckpt['model'])\n" in out
    assert "+    variables = KeyMapper.from_torch(ckpt['model'])\n" in out
    assert target.read_text() == MODEL
    assert "Would migrate 1 call in 1 file" in err


def test_fix_diff_labels_relative_paths_like_git(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "src" / "train.py", MODEL)
    monkeypatch.chdir(tmp_path)
    _, out, _ = run("fix", "--diff", "src")
    assert out.startswith("--- a/src/train.py\n+++ b/src/train.py\n")


def test_fix_reports_calls_left_for_manual_migration(tmp_path: Path) -> None:
    target = write(
        tmp_path / "kw.py", "def f(model, sd, kw):\n    model.load_state_dict(sd, **kw)\n"
    )
    code, _, err = run("fix", str(target))
    assert code == 1
    assert f"{target}:2:5: checkpoint-keys not fixed: `**kw`" in err


def test_fix_settings_flags(tmp_path: Path) -> None:
    target = write(tmp_path / "train.py", MODEL)
    run("fix", "--assignment-name", "params", "--preamble", "import", str(target))
    text = target.read_text()
    assert "from switcheroo_lsp.runtime import KeyMapper\n" in text
    assert "params = KeyMapper.from_torch(" in text and "class KeyMapper" not in text


def test_pyproject_config_applies_and_flags_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.switcheroo]\nassignment-name = "params"\npreamble = "import"\nexclude = ["gen"]\n'
    )
    write(tmp_path / "src" / "train.py", MODEL)
    write(tmp_path / "gen" / "skip.py", MODEL)
    monkeypatch.chdir(tmp_path / "src")  # the nearest pyproject.toml above the working directory
    _, out, _ = run("fix", "--diff", str(tmp_path))
    assert "+    params = KeyMapper.from_torch(" in out
    assert "+from switcheroo_lsp.runtime import KeyMapper" in out
    assert "skip.py" not in out
    _, out, _ = run("fix", "--diff", "--assignment-name", "weights", str(tmp_path))
    assert "+    weights = KeyMapper.from_torch(" in out
    _, out, _ = run("fix", "--diff", "--no-config", str(tmp_path))
    assert "+    variables = KeyMapper.from_torch(" in out and "skip.py" in out


def test_bad_pyproject_config_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.switcheroo]\npreamble = "sideways"\n')
    monkeypatch.chdir(tmp_path)
    code, _, err = run("check", ".")
    assert code == 2 and "preamble" in err and "pyproject.toml" in err


def test_invalid_setting_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run("fix", "--assignment-name", "not valid", str(tmp_path))
    assert code == 2 and "identifier" in err


def test_unparsable_file_is_reported_and_left_untouched(tmp_path: Path) -> None:
    target = write(tmp_path / "broken.py", "model.load_state_dict(sd\n")
    code, _, err = run("fix", str(target))
    assert code == 2
    assert f"{target}:" in err and "does not parse" in err and "left untouched" in err
    assert "Traceback" not in err
    assert target.read_text() == "model.load_state_dict(sd\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00\x01load_state_dict", "binary"),
        (b"x = '\xff'  # load_state_dict\n", "not valid UTF-8"),
    ],
    ids=["binary", "non_utf8"],
)
def test_bad_files_get_a_clear_message(tmp_path: Path, content: bytes, message: str) -> None:
    target = tmp_path / "bad.py"
    target.write_bytes(content)
    write(tmp_path / "good.py", MODEL)
    code, out, err = run("check", str(tmp_path))
    assert code == 2
    assert f"{target}: error: " in err and message in err
    assert "good.py:6:5" in out  # the other files are still checked
    assert "Traceback" not in err


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run("check", str(tmp_path / "nope"))
    assert code == 2 and "no such file or directory" in err


def test_directories_are_walked_with_exclusions(tmp_path: Path) -> None:
    write(tmp_path / "src" / "a.py", MODEL)
    write(tmp_path / ".venv" / "lib.py", MODEL)
    write(tmp_path / "node_modules" / "x.py", MODEL)
    write(tmp_path / "generated" / "g.py", MODEL)
    code, out, _ = run("check", "--exclude", "generated", str(tmp_path))
    assert code == 1
    assert [line.split(":")[0] for line in out.splitlines()] == [str(tmp_path / "src" / "a.py")]


def test_parallel_run_matches_serial_run(tmp_path: Path) -> None:
    for i in range(pool.PARALLEL_MIN_FILES + 6):
        write(tmp_path / f"m{i:03}.py", MODEL if i % 2 else OPTIMIZER)
    serial = run("check", "--jobs", "1", str(tmp_path))
    parallel = run("check", "--jobs", "2", str(tmp_path))
    assert serial == parallel
    assert (
        serial[0] == 1 and serial[1].count("checkpoint-keys") == (pool.PARALLEL_MIN_FILES + 6) // 2
    )


def test_large_tree_pool_matches_serial_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pool, "PARALLEL_MIN_TREE", 8)
    for i in range(12):
        write(tmp_path / f"m{i:03}.py", [MODEL, OPTIMIZER, CLEAN][i % 3])
    (tmp_path / "bad.py").write_bytes(b"\xff load_state_dict")
    serial = run("check", "--jobs", "1", "--format", "json", str(tmp_path))
    pooled = run("check", "--jobs", "2", "--format", "json", str(tmp_path))
    assert serial == pooled
    assert serial[0] == 2 and len(json.loads(serial[1])["findings"]) == 8


def test_parallel_fix_writes_every_file(tmp_path: Path) -> None:
    files = [write(tmp_path / f"m{i:03}.py", MODEL) for i in range(pool.PARALLEL_MIN_FILES + 2)]
    code, _, err = run("fix", "--jobs", "2", str(tmp_path))
    assert code == 0
    assert all("KeyMapper.from_torch" in f.read_text() for f in files)
    assert f"Migrated {len(files)} calls in {len(files)} files" in err


def test_no_progress_when_not_a_terminal(tmp_path: Path) -> None:
    for i in range(5):
        write(tmp_path / f"m{i}.py", MODEL)
    _, _, err = run("check", str(tmp_path))
    assert "\r" not in err and "%" not in err


def test_progress_on_a_terminal_for_long_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    clock = iter([0.0, 1.0, 2.0, 3.0])
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: next(clock))
    progress = progress_module.Progress(10, stream, enabled=True)
    progress.update(5)
    progress.close()
    assert "5/10 files (50%)" in stream.getvalue()


def test_console_script_subprocess(tmp_path: Path) -> None:
    target = write(tmp_path / "train.py", MODEL)
    proc = subprocess.run(
        ["switcheroo", "check", str(target)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 1
    assert f"{target}:6:5: checkpoint-keys" in proc.stdout
    assert "Found 1" in proc.stderr


def test_python_dash_m_subprocess(tmp_path: Path) -> None:
    target = write(tmp_path / "train.py", MODEL)
    proc = subprocess.run(
        [sys.executable, "-m", "switcheroo_lsp.cli", "fix", "--diff", str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1 and "+    variables = KeyMapper.from_torch(" in proc.stdout


def test_quick_start_example_diff() -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "train.py"
    code, out, err = run("fix", "--diff", str(example))
    assert code == 1
    assert '-        model.load_state_dict(ckpt["model"])  # the weights\n' in out
    assert '+        variables = KeyMapper.from_torch(ckpt["model"])  # the weights\n' in out
    # load_pretrained(model, path) loads into its caller's model: no fix, the reason says why
    assert "-    missing, unexpected = model.load_state_dict(" not in out
    assert "comes from outside `load_pretrained`" in err
    assert "optimizer.load_state_dict" not in "".join(
        line for line in out.splitlines(keepends=True) if line.startswith(("+", "-"))
    )
    assert "Would migrate 1 call in 1 file; 1 call left" in err


def test_exit_codes_are_documented_in_help() -> None:
    assert "Exit codes" in arguments.build_parser().format_help()
