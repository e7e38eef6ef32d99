"""`switcheroo check|fix` and suppression: noqa comments, --add-noqa, --exit-zero, --statistics."""

from __future__ import annotations

import json
from pathlib import Path

from cli_runner import run, write

TRAIN = (
    "import torch\n"
    "\n"
    "model.load_state_dict(torch.load('a.pt'))  # loads the EMA weights\n"
    "optimizer.load_state_dict(state['optimizer'])\n"
    "encoder.load_state_dict(  # noqa: E501\n"
    "    state['encoder'])\n"
)


def test_a_noqa_call_is_neither_reported_nor_fixed(tmp_path: Path):
    source = "import torch\nmodel.load_state_dict(sd)  # noqa: checkpoint-keys\n"
    path = write(tmp_path / "a.py", source)

    assert run("check", str(path))[0] == 0
    assert run("fix", str(path))[0] == 0
    assert path.read_text(encoding="utf-8") == source


def test_a_noqa_for_another_code_does_not_suppress(tmp_path: Path):
    path = write(tmp_path / "a.py", "model.load_state_dict(sd)  # noqa: E501\n")

    code, out, _ = run("check", str(path))

    assert code == 1 and "checkpoint-keys" in out


def test_add_noqa_comments_each_reported_line_and_check_then_passes(tmp_path: Path):
    path = write(tmp_path / "train.py", TRAIN)

    code, _, err = run("check", "--add-noqa", str(path))

    assert code == 0
    assert "Added 3 noqa comments in 1 file." in err
    assert path.read_text(encoding="utf-8") == (
        "import torch\n"
        "\n"
        "model.load_state_dict(torch.load('a.pt'))  # loads the EMA weights  # noqa: checkpoint-keys\n"
        "optimizer.load_state_dict(state['optimizer'])  # noqa: non-model-state\n"
        "encoder.load_state_dict(  # noqa: E501, checkpoint-keys\n"
        "    state['encoder'])\n"
    )
    assert run("check", str(path))[:2] == (0, "")


def test_add_noqa_twice_adds_nothing(tmp_path: Path):
    path = write(tmp_path / "train.py", TRAIN)
    run("check", "--add-noqa", str(path))
    once = path.read_text(encoding="utf-8")

    code, _, err = run("check", "--add-noqa", str(path))

    assert (code, path.read_text(encoding="utf-8")) == (0, once)
    assert "Added 0 noqa comments" in err


def test_add_noqa_in_a_notebook_edits_the_cell(tmp_path: Path):
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None}
    notebook = {
        "cells": [{**cell, "source": ["import torch\n", "model.load_state_dict(sd)"]}],
        "metadata": {"language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = write(tmp_path / "nb.ipynb", json.dumps(notebook, indent=1) + "\n")

    assert run("check", "--add-noqa", str(path))[0] == 0

    source = json.loads(path.read_text(encoding="utf-8"))["cells"][0]["source"]
    assert source == ["import torch\n", "model.load_state_dict(sd)  # noqa: checkpoint-keys"]
    assert run("check", str(path))[0] == 0


def test_exit_zero_keeps_the_report_but_exits_0(tmp_path: Path):
    path = write(tmp_path / "train.py", TRAIN)

    code, out, _ = run("check", "--exit-zero", str(path))

    assert code == 0 and out.count("checkpoint-keys") == 2


def test_exit_zero_still_exits_2_for_a_file_that_does_not_parse(tmp_path: Path):
    path = write(tmp_path / "bad.py", "model.load_state_dict(\n")

    assert run("check", "--exit-zero", str(path))[0] == 2


def test_statistics_count_each_code(tmp_path: Path):
    write(tmp_path / "a.py", TRAIN)
    write(tmp_path / "b.py", "model.load_state_dict(sd, **kw)\n")

    code, out, _ = run("check", "--statistics", str(tmp_path))

    assert code == 1
    assert out.splitlines() == [
        "3\tcheckpoint-keys\t(2 fixable)",
        "1\tnon-model-state\t(0 fixable)",
    ]


def test_one_non_model_call_needs_none(tmp_path: Path):
    path = write(tmp_path / "a.py", "optimizer.load_state_dict(state)\n")

    _, _, err = run("check", str(path))

    assert "1 non-model call (optimizers, schedulers, ...) needs none" in err
