"""`switcheroo check|fix` and sure/unsure receivers: fix applies only sure fixes, lists the unsure
calls it left, and applies them with --unsafe-fixes or `unsafe-fixes = true` in pyproject."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import run

# `model` says what it is; `thing` says nothing (a Lightning counter? a fairseq task?)
MIXED = (
    "import torch\n\n"
    "ckpt = torch.load('last.pt')\n"
    "model.load_state_dict(ckpt['model'])\n"
    "thing.load_state_dict(ckpt['thing'])\n"
)


@pytest.fixture
def mixed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no pyproject.toml above it but the one a test writes
    target = tmp_path / "train.py"
    target.write_text(MIXED)
    return target


def test_fix_rewrites_only_the_sure_call_and_lists_the_unsure_one(mixed: Path) -> None:
    code, _, err = run("fix", str(mixed))
    text = mixed.read_text()
    assert "model_variables = KeyMapper.from_torch(ckpt['model'])" in text
    assert "\nthing.load_state_dict(ckpt['thing'])\n" in text
    assert f"{mixed}:5:1: checkpoint-keys not fixed: receiver may not be a model" in err
    assert "--unsafe-fixes" in err
    assert code == 1  # a call is left


def test_unsafe_fixes_flag_rewrites_the_unsure_call_too(mixed: Path) -> None:
    code, _, err = run("fix", "--unsafe-fixes", str(mixed))
    text = mixed.read_text()
    assert "thing.load_state_dict" not in text
    assert text.count("KeyMapper.from_torch(ckpt[") == 2
    assert "may not be a model" not in err
    assert code == 0


def test_unsafe_fixes_from_pyproject(mixed: Path) -> None:
    (mixed.parent / "pyproject.toml").write_text("[tool.switcheroo]\nunsafe-fixes = true\n")
    run("fix", str(mixed))
    assert "thing.load_state_dict" not in mixed.read_text()


def test_diff_shows_only_sure_fixes(mixed: Path) -> None:
    _, out, _ = run("fix", "--diff", str(mixed))
    assert "-model.load_state_dict(ckpt['model'])" in out
    assert "-thing.load_state_dict" not in out


def test_check_json_carries_confidence_and_evidence(mixed: Path) -> None:
    _, out, _ = run("check", "--format", "json", str(mixed))
    report = json.loads(out)
    by_receiver = {f["receiver"]: f for f in report["findings"]}
    assert by_receiver["model"]["confidence"] == "sure"
    assert "model" in by_receiver["model"]["evidence"]
    assert by_receiver["thing"]["confidence"] == "unsure"
    assert by_receiver["thing"]["evidence"] == ""
    assert report["summary"]["unsure"] == 1


def test_check_text_says_which_calls_may_not_be_models(mixed: Path) -> None:
    _, out, err = run("check", str(mixed))
    lines = out.splitlines()
    assert "may not be a model" not in lines[0]
    assert "the receiver may not be a model" in lines[1]
    assert "1 fixable with `switcheroo fix`, 1 more" in err and "--unsafe-fixes" in err
