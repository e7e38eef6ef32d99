"""Calls inside IPython magic lines: `%time stmt` is reported and fixed (it runs the statement in
the notebook's namespace), `%timeit`/`%memit` reported but never fixed (their own scope)."""

from __future__ import annotations

import ast
import io
import json
from pathlib import Path

import pytest

from switcheroo_lsp import cli
from switcheroo_lsp.engine.notebook import NotebookCell, fix_notebook, mask_magics, scan_notebook
from switcheroo_lsp.settings import PreambleMode, Settings

IMPORT_MODE = Settings(preamble=PreambleMode.IMPORT)


def code(*texts: str) -> list[NotebookCell]:
    return [NotebookCell(text) for text in texts]


@pytest.mark.parametrize(
    ("line", "statement"),
    [
        ("%time model.load_state_dict(sd)", "model.load_state_dict(sd)"),
        ("%prun -l 5 -s cumulative f(x)", "f(x)"),
        ("%timeit -n 10 -r3 -q f(x)", "f(x)"),
    ],
)
def test_a_statement_magic_keeps_its_statement_visible_at_the_same_columns(line, statement):
    indent = len(line) - len(line.lstrip())
    column = line.index(statement)

    masked = mask_magics(line)

    assert masked == " " * indent + "0;" + " " * (column - indent - 2) + statement
    ast.parse(masked)


@pytest.mark.parametrize(
    "cell",
    [
        "%time for i in x: model.load_state_dict(sd)",  # a compound statement: cannot follow `0;`
        "%timeit -z f(x)",  # unknown option with no statement after it: unreadable
        "%time",
        "%matplotlib inline",
    ],
)
def test_magics_whose_statement_cannot_be_read_are_masked_as_before(cell: str):
    masked = mask_magics(cell)
    assert masked is not None and not masked.lstrip().startswith("0;")
    ast.parse(masked)


@pytest.mark.parametrize(
    ("cell", "fixed"),
    [
        ("%time model.load_state_dict(sd)", "%time variables = KeyMapper.from_torch(sd)"),
        ("%prun -q model.load_state_dict(sd)", "%prun -q variables = KeyMapper.from_torch(sd)"),
        (
            "for p in ps:\n    %time model.load_state_dict(p)",
            "for p in ps:\n    %time variables = KeyMapper.from_torch(p)",
        ),
        ("%%time\nmodel.load_state_dict(sd)", "%%time\nvariables = KeyMapper.from_torch(sd)"),
    ],
)
def test_a_time_magic_line_is_reported_and_fixed_in_place(cell: str, fixed: str):
    cells = code("import torch", cell)

    [finding] = scan_notebook(cells).findings
    result = fix_notebook(cells, IMPORT_MODE)

    assert finding.cell == 1 and finding.fixable
    assert result.fixed == 1 and result.apply(cells)[1] == fixed


@pytest.mark.parametrize("magic", ["%timeit", "%timeit -n 3", "%memit"])
def test_timeit_and_memit_lines_are_reported_but_left_for_manual_migration(magic: str):
    cells = code("import torch", f"{magic} model.load_state_dict(sd)")

    [finding] = scan_notebook(cells).findings
    result = fix_notebook(cells, IMPORT_MODE)

    assert finding.code == "checkpoint-keys" and not finding.fixable
    assert "scope of its own" in (finding.reason or "")
    assert result.edits == {}
    assert [(f.cell, why) for f, why in result.skipped] == [(1, finding.reason)]


def notebook_file(path: Path, *sources: str) -> Path:
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None}
    document = {
        "cells": [{**cell, "source": source} for source in sources],
        "metadata": {"language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    return path


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return cli.main(list(argv), out, err), out.getvalue(), err.getvalue()


def test_the_cli_reports_fixes_and_leaves_magic_lines_like_the_engine(tmp_path: Path):
    path = notebook_file(
        tmp_path / "train.ipynb",
        "import torch",
        "%time model.load_state_dict(torch.load('a.pt'))",
        "%timeit encoder.load_state_dict(sd)",
    )

    code_, out, _ = run("check", str(path))
    assert code_ == 1
    assert [line.split(": ")[0] for line in out.splitlines()] == [
        f"{path}:cell 2:1:7",
        f"{path}:cell 3:1:9",
    ]

    code_, _, err = run("fix", "--preamble", "import", str(path))
    sources = [c["source"] for c in json.loads(path.read_text(encoding="utf-8"))["cells"]]
    assert code_ == 1 and "left for manual migration" in err
    assert sources[1] == "%time variables = KeyMapper.from_torch(torch.load('a.pt'))"
    assert sources[2] == "%timeit encoder.load_state_dict(sd)"
