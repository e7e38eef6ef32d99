"""``.ipynb`` files: reading cells, and writing changed sources without touching anything else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from switcheroo_lsp.ipynb import NotebookError, parse_notebook

DATA = Path(__file__).parent / "data"  # the fixture is .json: ruff would lint an .ipynb
FINETUNE = (DATA / "finetune.ipynb.json").read_text(encoding="utf-8")


def styles() -> dict[str, str]:
    """The same notebook as nbformat, other tools and hand edits write it."""
    data = json.loads(FINETUNE)
    return {
        "nbformat (indent 1)": FINETUNE,
        "indent 2, ASCII escapes, no final newline": json.dumps(data, indent=2),
        "one line": json.dumps(data, ensure_ascii=False, separators=(",", ":")),
        "unsorted keys, tabs": json.dumps(dict(reversed(data.items())), indent="\t") + "\n",
    }


def test_cells_are_read_with_their_kind_and_joined_source():
    notebook = parse_notebook(FINETUNE)
    assert [cell.is_code for cell in notebook.cells] == [False, *[True] * 6, False]
    assert notebook.cells[1].text == "%pip install -q torch flax\nimport torch\nimport numpy as np"
    assert notebook.cells[5].text.startswith("%%time\n")  # a source stored as one string
    assert notebook.is_python


@pytest.mark.parametrize("style", list(styles()))
def test_unchanged_notebook_is_written_back_byte_for_byte(style: str):
    text = styles()[style]
    assert parse_notebook(text).with_sources({}) == text


@pytest.mark.parametrize("style", list(styles()))
def test_only_the_changed_sources_differ(style: str):
    text = styles()[style]
    notebook = parse_notebook(text)
    new_text = notebook.with_sources({3: "x = 1\ny = 'é'\n", 5: "%%time\nz = 2"})

    before, after = json.loads(text), json.loads(new_text)
    assert after["cells"][3]["source"] == ["x = 1\n", "y = 'é'\n"]  # still a list of lines
    assert after["cells"][5]["source"] == "%%time\nz = 2"  # still one string
    for cell in (*before["cells"], *after["cells"]):
        cell["source"] = None
    assert after == before  # outputs, metadata, ids, everything else
    assert list(after) == list(before)
    assert [list(c) for c in after["cells"]] == [list(c) for c in before["cells"]]
    assert new_text.endswith("\n") == text.endswith("\n")
    # the untouched parts are the same characters: the JSON was not re-serialized
    head = text[: text.index('"source"')]
    assert new_text.startswith(head)


def test_a_changed_list_keeps_the_files_layout():
    new_text = parse_notebook(FINETUNE).with_sources({6: "a = 1\nb = 2"})
    assert '   "source": [\n    "a = 1\\n",\n    "b = 2"\n   ]\n' in new_text


def test_an_empty_source_list_gets_the_files_layout():
    data = json.loads(FINETUNE)
    data["cells"][4]["source"] = []
    text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    expected = data.copy()
    expected["cells"][4]["source"] = ["x = 1\n", "y = 2"]
    new_text = parse_notebook(text).with_sources({4: "x = 1\ny = 2"})
    assert new_text == json.dumps(expected, indent=1, ensure_ascii=False) + "\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON (line 1"),
        ("[]", "not a notebook"),
        ('{"nbformat": 4}', "no 'cells'"),
        ('{"worksheets": [], "nbformat": 3}', "nbformat 3"),
        ('{"cells": [{"cell_type": "code"}]}', "cell 1 has no source"),
        ('{"cells": [{"cell_type": "code", "source": [1, 2]}]}', "not text"),
    ],
)
def test_files_that_are_not_notebooks_get_a_clear_message(text: str, message: str):
    with pytest.raises(NotebookError, match=message.replace("(", r"\(").replace("'", "'")):
        parse_notebook(text)


def test_the_kernel_language_is_read_from_the_metadata():
    data = json.loads(FINETUNE)
    data["metadata"]["kernelspec"]["language"] = "R"
    assert not parse_notebook(json.dumps(data)).is_python
    del data["metadata"]["kernelspec"], data["metadata"]["language_info"]
    assert parse_notebook(json.dumps(data)).is_python  # silent: assumed Python
