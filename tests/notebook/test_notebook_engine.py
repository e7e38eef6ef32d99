"""The notebook engine: cells <-> one text, magics masked, broken cells skipped, findings and
edits per cell, the KeyMapper once in the first code cell."""

from __future__ import annotations

import ast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switcheroo_lsp.engine.notebook import (
    NotebookCell,
    fix_notebook,
    fix_notebook_call,
    mask_magics,
    scan_notebook,
)
from switcheroo_lsp.settings import PreambleMode, Settings

CALL = "model.load_state_dict(torch.load('m.pt'))"
FIXED = "variables = KeyMapper.from_torch(torch.load('m.pt'))"
IMPORT_MODE = Settings(preamble=PreambleMode.IMPORT)
IMPORT_LINE = "from switcheroo_lsp.runtime import KeyMapper"


def code(*texts: str) -> list[NotebookCell]:
    return [NotebookCell(text) for text in texts]


# -- masking: same length, same lines, parses -----------------------------------------------------


@pytest.mark.parametrize(
    "cell",
    [
        "%pip install torch\nimport torch",
        "!ls -la\nx = 1",
        "files = !ls\nprint(files)",
        "t = %timeit -o f()\n",
        "%%time\nmodel = Net()\nmodel.eval()",
        "%%capture out\nprint(1)",
        "model?\nmodel.load_state_dict??\nx = 1",
        "for i in range(3):\n    !echo $i\n    %time f(i)",
        "!pip install \\\n    torch flax\nimport torch",
        "%matplotlib inline\r\nimport torch\r\n",
    ],
)
def test_masked_magics_parse_with_unchanged_lengths_and_lines(cell: str):
    masked = mask_magics(cell)
    assert masked is not None
    ast.parse(masked)
    assert len(masked) == len(cell)
    assert [len(line) for line in masked.splitlines(True)] == [
        len(line) for line in cell.splitlines(True)
    ]


def test_valid_python_is_not_masked():
    text = "x = '%pip install'\ny = 10 % 3\nprint('why?')\n"
    assert mask_magics(text) == text


@pytest.mark.parametrize("magic", ["%%bash", "%%writefile train.py", "%%html", "%%sql"])
def test_cell_magics_that_hold_no_kernel_python_are_skipped(magic: str):
    assert mask_magics(f"{magic}\n{CALL}") is None
    assert scan_notebook(code(f"{magic}\n{CALL}")).findings == ()


# -- scanning --------------------------------------------------------------------------------------


def test_findings_are_in_their_cells_offsets_and_lines():
    cells = [
        NotebookCell("# Title", is_code=False),
        NotebookCell("%pip install torch\nimport torch"),
        NotebookCell(f"model = Net()\n\n{CALL}"),
    ]
    [finding] = scan_notebook(cells).findings
    assert finding.cell == 2
    assert (finding.span.start_pos.line, finding.span.start_pos.column) == (2, 0)
    assert cells[2].text[finding.span.start : finding.span.end] == CALL


def test_markdown_and_raw_cells_are_not_code():
    cells = [NotebookCell(CALL, is_code=False), NotebookCell(f"x = 1\n{CALL}")]
    assert [f.cell for f in scan_notebook(cells).findings] == [1]


def test_a_broken_cell_is_reported_and_the_others_still_scanned():
    cells = code("import torch", "def f(:\n    net.load_state_dict(x)", CALL)
    result = scan_notebook(cells)
    assert [f.cell for f in result.findings] == [2]
    [broken] = result.broken
    assert (broken.cell, broken.mentions_call) == (1, True)
    assert broken.message.startswith("line 1:")


def test_receivers_are_classified_across_cells():
    cells = code("sgd = torch.optim.SGD(params)", "sgd.load_state_dict(state)")
    [finding] = scan_notebook(cells).findings
    assert finding.code == "non-model-state"


def test_calls_inside_magic_lines_and_python_cell_magics():
    cells = code("%time model.load_state_dict(sd)", f"%%time\n{CALL}")
    first, second = scan_notebook(cells).findings
    assert (first.cell, first.span.start_pos.line, first.span.start_pos.column) == (0, 0, 6)
    assert (second.cell, second.span.start_pos.line) == (1, 1)


# -- fixing ---------------------------------------------------------------------------------------


def test_fix_from_a_later_cell_puts_the_keymapper_after_the_first_cells_imports():
    cells = code("%pip install torch\nimport torch\nimport numpy as np", "model = Net()", CALL)
    [finding] = scan_notebook(cells).findings
    result = fix_notebook_call(cells, 2, finding.span.start, IMPORT_MODE)
    new = result.apply(cells)
    assert set(new) == {0, 2}
    assert new[0] == f"%pip install torch\nimport torch\nimport numpy as np\n{IMPORT_LINE}"
    assert new[2] == FIXED


def test_inline_keymapper_goes_into_the_first_code_cell_without_a_trailing_newline():
    cells = [NotebookCell("# Notes", False), *code("import torch", CALL)]
    new = fix_notebook(cells).apply(cells)
    first = new[1]
    assert first.startswith("import torch\n")
    assert "\nclass KeyMapper" in first and not first.endswith("\n")
    ast.parse(first)
    assert new[2] == FIXED


def test_the_first_code_cell_is_the_first_that_is_python():
    cells = code("%%bash\necho hi", "def f(:", "x = 1", CALL)
    assert set(fix_notebook(cells, IMPORT_MODE).edits) == {2, 3}


def test_a_call_in_the_first_cell_comes_after_the_keymapper():
    cells = code(f"import torch\nmodel = Net()\n{CALL}")
    [text] = fix_notebook(cells, IMPORT_MODE).apply(cells).values()
    assert text == f"import torch\n{IMPORT_LINE}\nmodel = Net()\n{FIXED}"


def test_the_keymapper_is_written_once_per_notebook():
    cells = code("import torch", CALL, "net.load_state_dict(sd)")
    first = scan_notebook(cells).in_cell(1)[0]
    changed = fix_notebook_call(cells, 1, first.span.start).apply(cells)
    cells = [NotebookCell(changed.get(i, cell.text)) for i, cell in enumerate(cells)]
    [second] = scan_notebook(cells).in_cell(2)
    assert set(fix_notebook_call(cells, 2, second.span.start).edits) == {2}


def test_fix_all_rewrites_every_cell_and_is_idempotent():
    cells = code(
        "import torch", CALL, "%%time\nencoder.load_state_dict(sd)", "opt.load_state_dict(o)"
    )
    result = fix_notebook(cells, IMPORT_MODE)
    assert result.fixed == 2
    assert [why for _, why in result.skipped] and result.skipped[0][0].cell == 3
    new = [NotebookCell(result.apply(cells).get(i, c.text)) for i, c in enumerate(cells)]
    assert new[2].text == "%%time\nencoder_variables = KeyMapper.from_torch(sd)"
    assert new[3].text == cells[3].text
    again = fix_notebook(new, IMPORT_MODE)
    assert again.edits == {} and again.error is None


def test_lines_with_magics_around_a_fixed_call_are_kept():
    cell = f"!nvidia-smi\n{CALL}\n%time x = 1"
    cells = code("import torch", cell)
    new = fix_notebook(cells, IMPORT_MODE).apply(cells)
    assert new[1] == f"!nvidia-smi\n{FIXED}\n%time x = 1"


def test_an_existing_keymapper_in_any_cell_is_reused():
    cells = code("import torch", "from switcheroo_lsp.runtime import KeyMapper", CALL)
    assert set(fix_notebook(cells).edits) == {2}


def test_nothing_to_fix_in_a_broken_cell():
    cells = code("import torch", f"def f(:\n{CALL}")
    assert fix_notebook_call(cells, 1, 0).error is not None
    assert fix_notebook(cells).edits == {}


FRAGMENTS = [
    CALL,
    "opt.load_state_dict(s)",
    "%pip install torch",
    "!ls",
    "%%time",
    "%%bash",
    "x = !ls",
    "model?",
    "import torch",
    "def f(",
    "):",
    "    ",
    "\\",
    "\n",
    "\r\n",
    "'''",
    "é🔥",
    "KeyMapper = 1",
]
cell_texts = st.lists(st.sampled_from(FRAGMENTS), max_size=12).map("".join)


@settings(max_examples=150, deadline=None)
@given(st.lists(cell_texts, max_size=5))
def test_any_cells_are_scanned_and_fixed_without_raising(texts: list[str]):
    cells = code(*texts)
    result = scan_notebook(cells)
    for finding in result.findings:
        assert cells[finding.cell].text[finding.span.start : finding.span.end].endswith(")")
    fixed = fix_notebook(cells)
    for index, text in fixed.apply(cells).items():
        masked = mask_magics(text)
        assert masked is not None
        ast.parse(masked)  # a fix never leaves a cell that does not parse
        assert index < len(cells)


@settings(max_examples=300, deadline=None)
@given(cell_texts)
def test_masking_keeps_every_offset(text: str):
    masked = mask_magics(text)
    if masked is not None:
        assert len(masked) == len(text)
        assert [i for i, c in enumerate(masked) if c in "\r\n"] == [
            i for i, c in enumerate(text) if c in "\r\n"
        ]
