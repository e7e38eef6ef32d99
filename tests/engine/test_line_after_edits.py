"""line_after_edits: where a line of the original text is once edits are applied (the quick
fix's "reveal the rewritten call" target). Each case is checked against the applied text."""

from __future__ import annotations

import pytest

from switcheroo_lsp.engine import apply_edits, fix, scan
from switcheroo_lsp.engine.text import LineIndex, line_after_edits, make_edit

TEXT = "a = 1\nb = 2\nCALL\nc = 3\n"
CALL = TEXT.index("CALL")

# (name, edits as (start, end, new_text), the line CALL is on afterwards)
CASES = [
    ("no_edits", [], 2),
    ("three_lines_inserted_at_the_top", [(0, 0, "x\ny\nz\n")], 5),
    ("an_insertion_right_before_the_call_pushes_it_down", [(CALL, CALL, "pre\n")], 3),
    ("two_lines_removed_above", [(0, CALL, "")], 0),
    ("two_lines_replaced_by_one", [(0, CALL, "ab = 12\n")], 1),
    ("crlf_and_cr_breaks_in_inserted_text_count", [(0, 0, "x\r\ny\rz\n")], 5),
    ("edits_after_the_call_do_not_move_it", [(CALL + 4, CALL + 4, "\n\n\n")], 2),
    ("the_call_rewritten_over_two_lines", [(CALL, CALL + 4, "NEW(\n)")], 2),
    (
        "a_rewrite_starting_a_line_above_the_call_puts_it_there",
        [(0, 0, "top\n"), (TEXT.index("b"), CALL + 4, "b_and_call")],
        2,
    ),
]


@pytest.mark.parametrize(("edits", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_line_of_the_call_after_the_edits(edits: list[tuple[int, int, str]], expected: int):
    index = LineIndex(TEXT)
    made = [make_edit(index, start, end, new_text) for start, end, new_text in edits]

    assert line_after_edits(made, CALL, index.line_of(CALL)) == expected


@pytest.mark.parametrize(
    ("edits", "expected"), [c[1:] for c in CASES[:7]], ids=[c[0] for c in CASES[:7]]
)
def test_the_line_holds_the_call_in_the_edited_text(
    edits: list[tuple[int, int, str]], expected: int
):
    index = LineIndex(TEXT)
    made = [make_edit(index, start, end, new_text) for start, end, new_text in edits]

    lines = LineIndex(apply_edits(TEXT, made))
    assert lines.line_text(expected).startswith("CALL")


def test_after_the_engines_quick_fix_the_line_is_the_rewritten_call():
    text = (
        "import torch\n\nmodel = Net()\nmodel.load_state_dict(torch.load('a.pt'))\nprint(model)\n"
    )
    finding = next(f for f in scan(text).findings if f.code == "checkpoint-keys")
    result = fix(text, finding.span.start)

    line = line_after_edits(result.edits, finding.span.start, finding.line)

    fixed = apply_edits(text, result.edits).splitlines()
    assert len(fixed) > 100  # the KeyMapper class went in above the call
    assert fixed[line] == "variables = KeyMapper.from_torch(torch.load('a.pt'))"
