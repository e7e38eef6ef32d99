"""Before/after tables for the call rewrite: one row per behaviour, named for it.

Every "before" starts with a KeyMapper import, so no preamble is inserted and the rows show the
call rewrite alone (the preamble has its own tests)."""

from __future__ import annotations

import sys

import pytest
from migrate_helper import HEADER, migrate

from switcheroo_lsp.engine import apply_edits, fix, fix_all, scan

REWRITES = [
    (
        "statement_becomes_assignment",
        "model.load_state_dict(state)\n",
        "variables = KeyMapper.from_torch(state)\n",
    ),
    (
        "checkpoint_entry",
        'model.load_state_dict(ckpt["model"])\n',
        'variables = KeyMapper.from_torch(ckpt["model"])\n',
    ),
    (
        "torch_load_with_strict_false",
        'net.load_state_dict(torch.load(p, map_location="cpu"), strict=False)\n',
        'variables = KeyMapper.from_torch(torch.load(p, map_location="cpu"), strict=False)\n',
    ),
    (
        "state_dict_keyword_becomes_positional",
        "model.load_state_dict(state_dict=sd)\n",
        "variables = KeyMapper.from_torch(sd)\n",
    ),
    (
        "state_dict_keyword_after_strict_moves_first",
        "model.load_state_dict(strict=False, state_dict=sd)\n",
        "variables = KeyMapper.from_torch(sd, strict=False)\n",
    ),
    (
        "strict_true_kept",
        "model.load_state_dict(sd, strict=True)\n",
        "variables = KeyMapper.from_torch(sd, strict=True)\n",
    ),
    (
        "strict_expression_kept",
        "model.load_state_dict(sd, strict=not args.partial)\n",
        "variables = KeyMapper.from_torch(sd, strict=not args.partial)\n",
    ),
    (
        "positional_strict_becomes_keyword",
        "model.load_state_dict(sd, False)\n",
        "variables = KeyMapper.from_torch(sd, strict=False)\n",
    ),
    (
        "assign_dropped",
        "model.load_state_dict(sd, assign=True)\n",
        "variables = KeyMapper.from_torch(sd)\n",
    ),
    (
        "strict_kept_assign_dropped",
        "model.load_state_dict(sd, strict=False, assign=True)\n",
        "variables = KeyMapper.from_torch(sd, strict=False)\n",
    ),
    (
        "assign_before_strict_dropped",
        "model.load_state_dict(sd, assign=True, strict=False)\n",
        "variables = KeyMapper.from_torch(sd, strict=False)\n",
    ),
    (
        "data_parallel_module_receiver",
        "model.module.load_state_dict(sd)\n",
        "variables = KeyMapper.from_torch(sd)\n",
    ),
    (
        "getattr_module_receiver",
        'getattr(model, "module", model).load_state_dict(sd)\n',
        "variables = KeyMapper.from_torch(sd)\n",
    ),
    (
        "subscript_receiver",
        "models[k].load_state_dict(sd)\n",
        "variables = KeyMapper.from_torch(sd)\n",
    ),
    (
        "call_result_receiver",
        "accelerator.unwrap_model(model).load_state_dict(sd)\n",
        "variables = KeyMapper.from_torch(sd)\n",
    ),
    (
        "single_quotes_kept",
        "model.load_state_dict(ckpt['model'])\n",
        "variables = KeyMapper.from_torch(ckpt['model'])\n",
    ),
    (
        "trailing_comment_kept",
        "model.load_state_dict(sd)  # restore weights\n",
        "variables = KeyMapper.from_torch(sd)  # restore weights\n",
    ),
    (
        "assigned_value_keeps_the_report_and_binds_the_tree",
        "msg = model.load_state_dict(sd)\n",
        "variables, msg = KeyMapper.from_torch(sd, return_report=True)\n",
    ),
    (
        "assigned_value_read_as_report_keeps_report",
        "msg = model.load_state_dict(sd, strict=False)\nprint(msg.missing_keys)\n",
        "variables, msg = KeyMapper.from_torch(sd, strict=False, return_report=True)\n"
        "print(msg.missing_keys)\n",
    ),
    (
        "assigned_value_passed_on_keeps_report",
        "def load(sd):\n    model = Net()\n    load_result = model.load_state_dict(sd, False)\n"
        "    warn_about(load_result)\n",
        "def load(sd):\n    model = Net()\n    variables, load_result = KeyMapper.from_torch(sd, "
        "strict=False, return_report=True)\n    warn_about(load_result)\n",
    ),
    (
        "assigned_value_name_only_in_a_string_later_is_not_read",
        'msg = model.load_state_dict(sd)\nprint("msg")\n',
        'variables, msg = KeyMapper.from_torch(sd, return_report=True)\nprint("msg")\n',
    ),
    (
        "unpacking_missing_unexpected",
        "missing, unexpected = model.load_state_dict(sd, strict=False)\n",
        "variables, (missing, unexpected) = KeyMapper.from_torch(sd, strict=False, "
        "return_report=True)\n",
    ),
    (
        "unpacking_parenthesized",
        "(missing, unexpected) = model.load_state_dict(sd)\n",
        "variables, (missing, unexpected) = KeyMapper.from_torch(sd, return_report=True)\n",
    ),
    (
        "two_calls_in_one_conditional_expression",
        "model.load_state_dict(a) if use_a else model.load_state_dict(b)\n",
        "variables = KeyMapper.from_torch(a) if use_a else KeyMapper.from_torch(b)\n",
    ),
    (
        "semicolon_statement_only_its_part",
        "model.load_state_dict(sd); model.eval()\n",
        "variables = KeyMapper.from_torch(sd); model.eval()\n",
    ),
    (
        "inside_with_and_try_indentation_kept",
        "with torch.no_grad():\n    try:\n        model.load_state_dict(sd)\n    except RuntimeError:\n        pass\n",
        "with torch.no_grad():\n    try:\n        variables = KeyMapper.from_torch(sd)\n    except RuntimeError:\n        pass\n",
    ),
    (
        "non_ascii_on_the_call_line",
        "modèle_net.load_state_dict(état)  # poids é\n",
        "variables = KeyMapper.from_torch(état)  # poids é\n",
    ),
    (
        "multiline_call_with_comments_keeps_layout",
        "model.load_state_dict(  # restore\n"
        '    ckpt["model"],  # the weights\n'
        "    strict=False,\n"
        ")\n",
        "variables = KeyMapper.from_torch(  # restore\n"
        '    ckpt["model"],  # the weights\n'
        "    strict=False,\n"
        ")\n",
    ),
    (
        "multiline_dropped_last_argument_keeps_closing_layout",
        "model.load_state_dict(\n    sd,\n    assign=True,\n)\n",
        "variables = KeyMapper.from_torch(\n    sd,\n)\n",
    ),
    (
        "multiline_dropped_argument_keeps_comment_of_previous",
        "model.load_state_dict(\n    sd,  # converted\n    assign=True\n)\n",
        "variables = KeyMapper.from_torch(\n    sd,  # converted\n)\n",
    ),
    (
        "receiver_spanning_lines",
        "(model\n    .load_state_dict(sd))\n",
        "variables = (KeyMapper.from_torch(sd))\n",
    ),
    (
        "nested_in_function_and_method",
        "class T:\n    def restore(self, sd):\n        self.net.load_state_dict(sd)\n",
        "class T:\n    def restore(self, sd):\n        self.variables = KeyMapper.from_torch(sd)\n",
    ),
]


@pytest.mark.parametrize(
    ("before", "after"), [r[1:] for r in REWRITES], ids=[r[0] for r in REWRITES]
)
def test_rewrite(before: str, after: str) -> None:
    assert migrate(before) == after


def test_assignment_name_setting_names_the_variable() -> None:
    assert migrate("model.load_state_dict(sd)\n", assignmentName="params") == (
        "params = KeyMapper.from_torch(sd)\n"
    )


NOT_FIXABLE = [
    ("double_star_kwargs", "model.load_state_dict(sd, **kwargs)\n", "**kwargs"),
    ("star_args", "model.load_state_dict(*args)\n", "*args"),
    ("second_positional_not_strict", "model.load_state_dict(sd, prefix)\n", "prefix"),
    ("unknown_keyword", 'model.load_state_dict(sd, prefix="enc.")\n', "prefix="),
    ("no_state_argument", "model.load_state_dict()\n", "no state dict"),
    (
        "missing_keys_attribute_read_directly",
        "print(model.load_state_dict(sd, strict=False).missing_keys)\n",
        "missing/unexpected",
    ),
    ("result_indexed", "model.load_state_dict(sd)[0]\n", "indexed"),
    (
        "report_returned_to_callers",
        "def load(model, sd):\n    return model.load_state_dict(sd)\n",
        "callers receive",
    ),
    ("report_passed_to_another_call", "print(model.load_state_dict(sd))\n", "larger expression"),
    ("lambda_body", "restore = lambda sd: model.load_state_dict(sd)\n", "larger expression"),
    (
        "comprehension",
        "[m.load_state_dict(s) for m, s in zip(models, states)]\n",
        "larger expression",
    ),
    (
        "decorator_argument",
        "@register(model.load_state_dict(sd))\ndef f():\n    pass\n",
        "larger expression",
    ),
    (
        "unpacking_into_three_targets",
        "a, b, c = model.load_state_dict(sd)\n",
        "unpacked",
    ),
]


@pytest.mark.parametrize(
    ("before", "reason_part"), [r[1:] for r in NOT_FIXABLE], ids=[r[0] for r in NOT_FIXABLE]
)
def test_diagnostic_only_with_reason(before: str, reason_part: str) -> None:
    text = HEADER + before
    (finding,) = scan(text).findings
    assert finding.code == "checkpoint-keys"
    assert not finding.fixable
    assert reason_part in (finding.reason or "")
    result = fix(text, finding.span.start)
    assert result.edits == () and result.error
    assert fix_all(text).edits == ()


def test_fix_rewrites_only_the_requested_call() -> None:
    text = HEADER + "a.load_state_dict(x)\nb.load_state_dict(y)\n"
    second = scan(text).findings[1]
    out = apply_edits(text, fix(text, second.span.start).edits)
    assert out == HEADER + "a.load_state_dict(x)\nb_variables = KeyMapper.from_torch(y)\n"


def test_fix_at_an_offset_without_a_call_is_an_error() -> None:
    text = HEADER + "model.load_state_dict(sd)\n"
    result = fix(text, 3)
    assert result.edits == () and "no load_state_dict call" in (result.error or "")


def test_fix_of_non_model_call_is_refused_with_reason() -> None:
    text = HEADER + "opt = torch.optim.SGD(p, lr=0.1)\nopt.load_state_dict(sd)\n"
    finding = scan(text).findings[0]
    result = fix(text, finding.span.start)
    assert result.edits == () and "optimizer" in (result.error or "")


def test_fix_rescans_instead_of_trusting_a_stale_offset() -> None:
    old = HEADER + "model.load_state_dict(sd)\n"
    start = scan(old).findings[0].span.start
    new = "# a new first line\n" + old
    assert fix(new, start).error is not None
    assert fix(new, start + len("# a new first line\n")).ok


def test_fix_edits_are_in_original_offsets_sorted_and_disjoint() -> None:
    text = "import torch\n\n\ndef f(a, b):\n    m = Net()\n    m.load_state_dict(a)\n    m.load_state_dict(b)\n"
    edits = fix_all(text).edits
    assert len(edits) == 3  # preamble + two calls
    assert all(x.end <= y.start for x, y in zip(edits, edits[1:], strict=False))
    assert text[edits[1].start : edits[1].end] == "m.load_state_dict(a)"


def test_fix_positions_match_offsets() -> None:
    text = HEADER + "x = 1  # é\nmodèle.load_state_dict(sd)\n"
    result = fix(text, scan(text).findings[0].span.start)
    (edit,) = result.edits
    assert (edit.start_pos.line, edit.start_pos.column) == (3, 0)
    assert (edit.end_pos.line, edit.end_pos.column) == (3, len("modèle.load_state_dict(sd)"))


def test_too_deeply_nested_code_is_reported_not_raised() -> None:
    # libcst's recursion depends on the interpreter's limit, which other libraries raise; pin it
    # so the rewrite runs out of stack for certain while ast (iterative in C) still parses.
    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(400)
    try:
        text = HEADER + "model.load_state_dict(" + "[" * 180 + "]" * 180 + ")\n"
        result = fix_all(text)
    finally:
        sys.setrecursionlimit(old_limit)
    assert result.edits == () and "nested too deeply" in (result.error or "")
