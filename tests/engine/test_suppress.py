"""Suppression comments: which calls a `# noqa` silences, and what --add-noqa writes."""

from __future__ import annotations

import pytest

from switcheroo_lsp.engine import apply_edits, fix_all, scan
from switcheroo_lsp.engine.suppress import add_noqa

MODEL = "model.load_state_dict(state)"


@pytest.mark.parametrize(
    ("source", "codes"),
    [
        (f"{MODEL}  # noqa: checkpoint-keys\n", []),
        (f"{MODEL}  # noqa\n", []),
        (f"{MODEL}  # NOQA:checkpoint-keys,E501\n", []),
        (f"{MODEL}  # noqa: E501 checkpoint-keys\n", []),
        (f"{MODEL}  # reason first # noqa: checkpoint-keys\n", []),
        (f"{MODEL}  # noqa: other-code\n", ["checkpoint-keys"]),
        (f"{MODEL}  # noqa: non-model-state\n", ["checkpoint-keys"]),
        (f"{MODEL}  # noqa-ish\n", ["checkpoint-keys"]),
        (f"{MODEL}  # switcheroo: ignore\n", ["checkpoint-keys"]),
        (f"s = '# noqa'; {MODEL}\n", ["checkpoint-keys"]),
        ("x = model.load_state_dict(  # noqa: checkpoint-keys\n    state)\n", []),  # call's line
        ("x = (\n    model.load_state_dict(\n        state))  # noqa\n", ["checkpoint-keys"]),
        ("x = (  # noqa: checkpoint-keys\n    model.load_state_dict(state))\n", []),  # statement
        ("if ok:  # noqa\n    model.load_state_dict(state)\n", ["checkpoint-keys"]),  # other stmt
        ("optimizer.load_state_dict(state)  # noqa: checkpoint-keys\n", ["non-model-state"]),
        ("optimizer.load_state_dict(state)  # noqa: non-model-state\n", []),
    ],
)
def test_noqa_on_the_call_or_statement_line(source: str, codes: list[str]):
    assert [f.code for f in scan(source).findings] == codes


@pytest.mark.parametrize(
    ("source", "codes"),
    [
        (f"# switcheroo: noqa\nimport torch\n{MODEL}\n", []),
        (f"import torch\n{MODEL}\n# Switcheroo: NOQA\n", []),
        (
            f"# switcheroo: noqa: non-model-state\n{MODEL}\nopt.load_state_dict(s)\n",
            ["checkpoint-keys"],
        ),
        (f"x = 1  # switcheroo: noqa\n{MODEL}\n", ["checkpoint-keys"]),  # not on its own line
        (f"'''\n# switcheroo: noqa\n'''\n{MODEL}\n", ["checkpoint-keys"]),  # inside a string
    ],
)
def test_file_level_switcheroo_noqa(source: str, codes: list[str]):
    assert [f.code for f in scan(source).findings] == codes


def test_a_suppressed_call_is_not_fixed_and_the_others_are():
    source = f"import torch\n{MODEL}  # noqa: checkpoint-keys\nencoder.load_state_dict(enc)\n"

    result = fix_all(source)
    fixed = apply_edits(source, result.edits)

    assert result.fixed == 1
    assert f"\n{MODEL}  # noqa: checkpoint-keys\n" in fixed
    assert "variables = KeyMapper.from_torch(enc)" in fixed


@pytest.mark.parametrize(
    ("line", "after"),
    [
        (MODEL, f"{MODEL}  # noqa: checkpoint-keys"),
        (f"{MODEL}  # keep me", f"{MODEL}  # keep me  # noqa: checkpoint-keys"),
        (f"{MODEL}  # noqa: E501", f"{MODEL}  # noqa: E501, checkpoint-keys"),
        (f"{MODEL}  # noqa: E501  # why", f"{MODEL}  # noqa: E501, checkpoint-keys  # why"),
        (f"{MODEL}  # noqa: checkpoint-keys", f"{MODEL}  # noqa: checkpoint-keys"),
        (f"{MODEL}  # noqa", f"{MODEL}  # noqa"),
        (f"{MODEL}   ", f"{MODEL}  # noqa: checkpoint-keys"),
    ],
)
def test_add_noqa_keeps_existing_comments_and_codes(line: str, after: str):
    new_text, _ = add_noqa(f"{line}\r\nx = 1\n", {0: ["checkpoint-keys"]})

    assert new_text == f"{after}\r\nx = 1\n"


def test_add_noqa_leaves_a_line_ending_inside_a_string_alone():
    source = "x = '''a\nb'''; model.load_state_dict(s)\n"

    assert add_noqa(source, {0: ["checkpoint-keys"]}) == (source, 0)
