"""Where each loaded tree goes: before/after tables, one behaviour per row (issue 11).

A loaded tree is never overwritten or dropped: its name and place follow the receiver, a later
load into the same model updates the earlier tree, copies assign trees, returned reports keep
their contract, and where no place is right the call keeps a diagnostic that says what to do.
Every "before" starts with a KeyMapper import, so the rows show the call rewrite alone."""

from __future__ import annotations

import ast

import pytest
from migrate_helper import HEADER, migrate

from switcheroo_lsp.engine import apply_edits, explain, fix, scan
from switcheroo_lsp.settings import Settings


def bound_names(code: str) -> list[str]:
    """Every name bound by an assignment, in order (a name twice: a tree overwritten)."""
    names = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                for element in target.elts if isinstance(target, ast.Tuple) else [target]:
                    names.append(ast.unparse(element))
    return names


NAMES = [
    (
        "one_model_keeps_the_assignment_name",
        "model.load_state_dict(sd)\n",
        "variables = KeyMapper.from_torch(sd)\n",
    ),
    (
        "several_models_are_named_after_their_receivers",
        "unet.load_state_dict(a)\nvae.load_state_dict(b)\ntext_encoder.load_state_dict(c)\n",
        "unet_variables = KeyMapper.from_torch(a)\nvae_variables = KeyMapper.from_torch(b)\n"
        "text_encoder_variables = KeyMapper.from_torch(c)\n",
    ),
    (
        "sibling_sub_receivers_get_their_own_names",
        "model.visual_model.head.load_state_dict(a)\nmodel.text_model.load_state_dict(b)\n",
        "head_variables = KeyMapper.from_torch(a)\ntext_model_variables = KeyMapper.from_torch(b)\n",
    ),
    (
        "receivers_ending_alike_take_more_words",
        "a.head.load_state_dict(x)\nb.head.load_state_dict(y)\n",
        "a_head_variables = KeyMapper.from_torch(x)\nb_head_variables = KeyMapper.from_torch(y)\n",
    ),
    (
        "wrapper_attribute_module_is_skipped",
        "model.module.load_state_dict(x)\nvae.load_state_dict(y)\n",
        "model_variables = KeyMapper.from_torch(x)\nvae_variables = KeyMapper.from_torch(y)\n",
    ),
    (
        "a_name_the_file_binds_is_not_taken",
        "variables = model.init(rng, x)\nmodel.load_state_dict(sd)\n",
        "variables = model.init(rng, x)\nvariables_2 = KeyMapper.from_torch(sd)\n",
    ),
    (
        "a_name_bound_by_a_tuple_target_is_not_taken",
        "variables, state = init()\nmodel.load_state_dict(sd)\n",
        "variables, state = init()\nvariables_2 = KeyMapper.from_torch(sd)\n",
    ),
    (
        "a_name_bound_by_with_as_is_not_taken",
        "with open(p) as variables:\n    pass\nmodel.load_state_dict(sd)\n",
        "with open(p) as variables:\n    pass\nvariables_2 = KeyMapper.from_torch(sd)\n",
    ),
    (
        "a_parameter_of_the_loading_function_is_not_taken",
        "def main(sd, variables,\n         other):\n    model = Net()\n    model.load_state_dict(sd)\n",
        "def main(sd, variables,\n         other):\n    model = Net()\n"
        "    variables_2 = KeyMapper.from_torch(sd)\n",
    ),
    (
        "a_name_only_read_is_code_written_for_the_tree",
        "model.load_state_dict(sd)\nlogits = model.apply(variables, x)\n",
        "variables = KeyMapper.from_torch(sd)\nlogits = model.apply(variables, x)\n",
    ),
    (
        "each_function_is_its_own_scope",
        "def a():\n    enc = E()\n    enc.load_state_dict(x)\n\n\n"
        "def b():\n    dec = D()\n    dec.load_state_dict(y)\n",
        "def a():\n    enc = E()\n    variables = KeyMapper.from_torch(x)\n\n\n"
        "def b():\n    dec = D()\n    variables = KeyMapper.from_torch(y)\n",
    ),
]

PLACES = [
    (
        "a_receiver_on_self_keeps_its_tree_on_self",
        "class T:\n    def restore(self, sd):\n        self.model.load_state_dict(sd)\n",
        "class T:\n    def restore(self, sd):\n        self.variables = KeyMapper.from_torch(sd)\n",
    ),
    (
        "receivers_on_self_are_named_per_class_not_per_method",
        "class P:\n    def a(self, x):\n        self.unet.load_state_dict(x)\n\n"
        "    def b(self, y):\n        self.vae.load_state_dict(y)\n",
        "class P:\n    def a(self, x):\n        self.unet_variables = KeyMapper.from_torch(x)\n\n"
        "    def b(self, y):\n        self.vae_variables = KeyMapper.from_torch(y)\n",
    ),
    (
        "an_attribute_the_class_assigns_is_not_taken",
        "class T:\n    def __init__(self):\n        self.variables = {}\n\n"
        "    def restore(self, sd):\n        self.net.load_state_dict(sd)\n",
        "class T:\n    def __init__(self):\n        self.variables = {}\n\n"
        "    def restore(self, sd):\n        self.variables_2 = KeyMapper.from_torch(sd)\n",
    ),
    (
        "a_parameter_loaded_at_the_end_returns_the_tree",
        "def load(model, path):\n    model.load_state_dict(torch.load(path))\n",
        "def load(model, path):\n    return KeyMapper.from_torch(torch.load(path))\n",
    ),
    (
        "a_local_model_keeps_a_local_tree",
        "def main(path):\n    model = Net()\n    model.load_state_dict(torch.load(path))\n"
        "    run(model)\n",
        "def main(path):\n    model = Net()\n    variables = KeyMapper.from_torch(torch.load(path))\n"
        "    run(model)\n",
    ),
]

MERGES = [
    (
        "a_later_load_into_the_same_model_updates_its_tree",
        "model.load_state_dict(base, strict=False)\nmodel.load_state_dict(lora, strict=False)\n",
        "variables = KeyMapper.from_torch(base, strict=False)\n"
        "variables = KeyMapper.from_torch(lora, target=variables, strict=False)\n",
    ),
    (
        "a_load_inside_a_later_block_updates_too",
        "model.load_state_dict(base)\nif args.adapter:\n    model.load_state_dict(adapter)\n",
        "variables = KeyMapper.from_torch(base)\nif args.adapter:\n"
        "    variables = KeyMapper.from_torch(adapter, target=variables)\n",
    ),
    (
        "loads_in_two_branches_do_not_update_each_other",
        "if a:\n    model.load_state_dict(x)\nelse:\n    model.load_state_dict(y)\n",
        "if a:\n    variables = KeyMapper.from_torch(x)\nelse:\n"
        "    variables = KeyMapper.from_torch(y)\n",
    ),
    (
        "a_report_kept_while_updating",
        "model.load_state_dict(base)\nmissing, unexpected = model.load_state_dict(extra, strict=False)\n",
        "variables = KeyMapper.from_torch(base)\nvariables, (missing, unexpected) = "
        "KeyMapper.from_torch(extra, target=variables, strict=False, return_report=True)\n",
    ),
]

CONTRACTS = [
    (
        "an_assigned_report_stays_the_report",
        "key = model.load_state_dict(sd)\nprint(key[0])\n",
        "variables, key = KeyMapper.from_torch(sd, return_report=True)\nprint(key[0])\n",
    ),
    (
        "a_report_returned_from_a_method_stays_returned_and_the_tree_goes_on_self",
        "class T:\n    def load(self, sd, strict=True):\n"
        "        return self.net.load_state_dict(sd, strict=strict)\n",
        "class T:\n    def load(self, sd, strict=True):\n"
        "        self.variables, report = KeyMapper.from_torch(sd, strict=strict, "
        "return_report=True)\n        return report\n",
    ),
]

COPIES = [
    (
        "a_copy_from_a_loaded_model_assigns_its_tree",
        "policy_net.load_state_dict(torch.load(p))\n"
        "target_net.load_state_dict(policy_net.state_dict())\n",
        "policy_net_variables = KeyMapper.from_torch(torch.load(p))\n"
        "target_net_variables = policy_net_variables\n",
    ),
    (
        "a_deepcopied_state_dict_is_a_copy_too",
        "teacher.load_state_dict(torch.load(p))\n"
        "student.load_state_dict(copy.deepcopy(teacher.state_dict()))\n",
        "teacher_variables = KeyMapper.from_torch(torch.load(p))\n"
        "student_variables = teacher_variables\n",
    ),
]

TABLES = NAMES + PLACES + MERGES + CONTRACTS + COPIES


@pytest.mark.parametrize(("before", "after"), [r[1:] for r in TABLES], ids=[r[0] for r in TABLES])
def test_tree_placement(before: str, after: str) -> None:
    assert migrate(before) == after


def test_tree_names_single_setting_binds_the_assignment_name_everywhere() -> None:
    before = "unet.load_state_dict(a)\nvae.load_state_dict(b)\n"
    assert migrate(before, treeNames="single", assignmentName="params") == (
        "params = KeyMapper.from_torch(a)\nparams = KeyMapper.from_torch(b)\n"
    )


def test_controlnet_from_unet_copies_never_bind_one_name_twice() -> None:
    parts = ("conv_in", "time_proj", "time_embedding", "down_blocks", "mid_block")
    body = "unet = UNet()\nunet.load_state_dict(torch.load(p))\ncontrolnet = ControlNet()\n"
    body += "".join(f"controlnet.{p}.load_state_dict(unet.{p}.state_dict())\n" for p in parts)
    out = migrate(body)
    names = bound_names(out)
    assert len(names) == len(set(names)), names
    findings = scan(HEADER + body).findings
    assert [f.code for f in findings[1:]] == ["model-copy"] * 5
    assert all("unet.conv_in" in f.reason for f in findings[1:2])  # no tree of the part: why


NO_PLACE = [
    (
        "a_parameter_loaded_before_more_code",
        "def load(model, path):\n    model.load_state_dict(torch.load(path))\n    model.eval()\n",
        "comes from outside `load`",
    ),
    (
        "a_parameter_in_a_function_that_returns_a_value",
        "def load(model, path):\n    model.load_state_dict(torch.load(path))\n    return 1\n",
        "returns a value",
    ),
    (
        "a_local_model_the_function_returns",
        "def build(path):\n    model = Net()\n    model.load_state_dict(torch.load(path))\n"
        "    return model\n",
        "`build` returns `model`",
    ),
    (
        "a_loop_variable",
        "for net in nets:\n    net.load_state_dict(sd)\n",
        "loop variable",
    ),
    (
        "a_report_returned_to_callers",
        "def load(model, sd, strict):\n    return model.load_state_dict(sd, strict=strict)\n",
        "callers receive",
    ),
    (
        "a_report_used_inside_an_expression",
        "logger.info(model.load_state_dict(sd, strict=False))\n",
        "larger expression",
    ),
    (
        "a_conditional_expression_between_two_models",
        "a.load_state_dict(x) if c else b.load_state_dict(y)\n",
        "different models",
    ),
    (
        "a_copy_on_one_side_of_a_conditional_expression",
        "a.load_state_dict(sd)\nb.load_state_dict(a.state_dict()) if c else b.load_state_dict(x)\n",
        "another branch of this conditional expression",
    ),
    (
        "an_update_of_a_model_whose_first_load_has_no_fix",
        "model.load_state_dict(sd, **kw)\nmodel.load_state_dict(extra, strict=False)\n",
        "migrate both loads by hand",
    ),
]


@pytest.mark.parametrize(
    ("before", "reason_part"), [r[1:] for r in NO_PLACE], ids=[r[0] for r in NO_PLACE]
)
def test_no_right_place_no_fix_and_the_reason_says_what_to_do(
    before: str, reason_part: str
) -> None:
    text = HEADER + before
    finding = scan(text).findings[-1]
    assert not finding.fixable
    assert reason_part in (finding.reason or "")
    assert reason_part in explain(finding)
    assert fix(text, finding.span.start).edits == ()


def test_a_copy_from_a_model_without_a_tree_here_says_to_assign_one() -> None:
    text = HEADER + "target_net.load_state_dict(policy_net.state_dict())\n"
    (finding,) = scan(text).findings
    assert finding.code == "model-copy" and not finding.fixable
    assert "target_net_variables = policy_net_variables" in (finding.reason or "")
    assert "trees are values" in explain(finding)


def test_a_partial_copy_into_another_architecture_is_not_an_assignment() -> None:
    text = (
        HEADER
        + "teacher.load_state_dict(sd)\nstudent.load_state_dict(teacher.state_dict(), strict=False)\n"
    )
    finding = scan(text).findings[1]
    assert finding.code == "model-copy" and not finding.fixable
    assert "strict=False" in (finding.reason or "")


def test_materialising_a_layer_is_not_a_checkpoint_load() -> None:
    text = HEADER + (
        'with torch.device("meta"):\n    self.to_qkv = nn.Linear(4, 12)\n'
        'self.to_qkv.load_state_dict({"weight": fused, "bias": b}, strict=True, assign=True)\n'
    )
    (finding,) = scan(text).findings
    assert finding.code == "model-materialize" and not finding.fixable
    assert "assign=True" in (finding.reason or "")
    assert "materialises" in explain(finding)


def test_assign_true_dropped_is_said_in_the_diagnostic_and_the_fix_title() -> None:
    text = HEADER + "model.load_state_dict(sd, assign=True)\n"
    (finding,) = scan(text).findings
    assert "`assign=True` is dropped" in explain(finding)
    result = fix(text, finding.span.start)
    assert result.ok and "assign=True" in (result.title or "")


def test_the_fix_title_says_the_tree_is_returned() -> None:
    text = HEADER + "def load(model, path):\n    model.load_state_dict(torch.load(path))\n"
    (finding,) = scan(text).findings
    assert fix(text, finding.span.start).title == (
        "Convert to KeyMapper.from_torch and return the tree"
    )


def test_fixing_a_later_load_alone_brings_the_earlier_one_along() -> None:
    text = HEADER + "model.load_state_dict(base)\nmodel.load_state_dict(lora, strict=False)\n"
    later = scan(text).findings[1]
    result = fix(text, later.span.start)
    assert apply_edits(text, result.edits) == HEADER + (
        "variables = KeyMapper.from_torch(base)\n"
        "variables = KeyMapper.from_torch(lora, target=variables, strict=False)\n"
    )
    assert "earlier load" in (result.title or "")


def test_one_fix_names_the_tree_as_fix_all_does() -> None:
    text = HEADER + "unet.load_state_dict(a)\nvae.load_state_dict(b)\n"
    second = scan(text).findings[1]
    one = apply_edits(text, fix(text, second.span.start).edits)
    assert "vae_variables = KeyMapper.from_torch(b)" in one


def test_a_bulk_pass_without_the_earlier_load_leaves_the_later_one() -> None:
    """When fix-all leaves an earlier load out (e.g. it applies only sure fixes), a load that
    updates its tree is left too, never written against a name that was not bound."""
    from switcheroo_lsp.engine import rewrite
    from switcheroo_lsp.engine.scan import analyze

    text = HEADER + "model.load_state_dict(base)\nmodel.load_state_dict(lora, strict=False)\n"
    analysis = analyze(text)
    later = [analysis.sites[1]]
    result = rewrite._build(text, analysis, later, Settings(), verify=True)
    assert result.edits == () and "line 3" in (result.error or "")


def test_a_name_read_in_a_lambda_body_or_a_for_iterable_is_not_bound() -> None:
    from switcheroo_lsp.engine.places import binds_name

    assert not binds_name("f = lambda p, g: p - 0.1 * g, variables['params']\n", "variables")
    assert not binds_name("for key in variables:\n    pass\n", "variables")
    assert binds_name("f = lambda variables: 1\n", "variables")
    assert binds_name("for variables in trees:\n    pass\n", "variables")
