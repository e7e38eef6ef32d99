"""The scanner: which calls it finds, what it says the receiver is, how the value is used."""

from __future__ import annotations

import pytest

from switcheroo_lsp.engine import explain, scan
from switcheroo_lsp.engine.model import ReceiverKind, Usage


def kinds(text: str) -> list[ReceiverKind]:
    return [f.kind for f in scan(text).findings]


def the_kind(text: str) -> ReceiverKind:
    (finding,) = scan(text).findings
    return finding.kind


FOUND = [
    ("attribute_on_name", "model.load_state_dict(sd)\n"),
    ("self_attribute_chain", "class A:\n    def f(self):\n        self.net.load_state_dict(sd)\n"),
    ("module_of_data_parallel", "model.module.load_state_dict(sd)\n"),
    ("getattr_receiver", 'getattr(m, "module", m).load_state_dict(sd)\n'),
    ("subscript_receiver", "models[k].load_state_dict(sd)\n"),
    ("spanning_lines_with_comments", "model.load_state_dict(  # a\n    sd,  # b\n)\n"),
    ("nested_in_an_expression", "x = [1, model.load_state_dict(sd)]\n"),
    ("in_a_lambda", "f = lambda: model.load_state_dict(sd)\n"),
    ("in_a_comprehension", "[m.load_state_dict(sd) for m in models]\n"),
    ("in_a_conditional", "y = model.load_state_dict(sd) if ok else None\n"),
    ("in_a_decorator", "@use(model.load_state_dict(sd))\ndef f():\n    pass\n"),
    ("in_a_with_block", "with ctx:\n    model.load_state_dict(sd)\n"),
    ("in_a_try_block", "try:\n    model.load_state_dict(sd)\nexcept Exception:\n    pass\n"),
    ("in_an_async_function", "async def f(model):\n    model.load_state_dict(sd)\n"),
    ("in_an_f_string", 'print(f"{model.load_state_dict(sd)}")\n'),
]


@pytest.mark.parametrize("text", [t for _, t in FOUND], ids=[n for n, _ in FOUND])
def test_finds_the_call(text: str) -> None:
    (finding,) = scan(text).findings
    assert finding.kind is ReceiverKind.MODEL
    assert text[finding.span.start : finding.span.end].endswith(")")
    assert "load_state_dict" in text[finding.span.start : finding.span.end]


def test_two_calls_in_one_conditional_expression() -> None:
    text = "a.load_state_dict(x) if c else b.load_state_dict(y)\n"
    assert [text[f.span.start : f.span.end] for f in scan(text).findings] == [
        "a.load_state_dict(x)",
        "b.load_state_dict(y)",
    ]


NOT_FOUND = [
    ("in_a_string", 'msg = "call model.load_state_dict(sd) first"\n'),
    ("in_a_comment", "# model.load_state_dict(sd)\nx = 1\n"),
    ("in_a_docstring", 'def f():\n    """Calls model.load_state_dict(sd)."""\n'),
    ("doctest_line", 'def f():\n    """\n    >>> model.load_state_dict(sd)\n    """\n'),
    ("def_load_state_dict", "class A:\n    def load_state_dict(self, sd):\n        pass\n"),
    ("offload_state_dict", "model.offload_state_dict(sd)\n"),
    ("load_state_dict_from_url", "sd = torch.hub.load_state_dict_from_url(url)\n"),
    ("mock_assertion", "m.load_state_dict.assert_called_once_with(sd)\n"),
    ("hasattr_check", 'if hasattr(m, "load_state_dict"):\n    pass\n'),
    ("all_entry", '__all__ = ["load_state_dict"]\n'),
    ("attribute_without_call", "fn = model.load_state_dict\n"),
    (
        "super_inside_override",
        (
            "class A(nn.Module):\n"
            "    def load_state_dict(self, sd, strict=True):\n"
            "        sd = upgrade(sd)\n"
            "        return super().load_state_dict(sd, strict)\n"
        ),
    ),
    (
        "module_class_inside_override",
        (
            "class A(nn.Module):\n"
            "    def load_state_dict(self, sd, strict=True):\n"
            "        return nn.Module.load_state_dict(self, sd, strict)\n"
        ),
    ),
]


@pytest.mark.parametrize("text", [t for _, t in NOT_FOUND], ids=[n for n, _ in NOT_FOUND])
def test_not_a_call_site(text: str) -> None:
    assert scan(text).findings == ()


def test_super_outside_an_override_is_a_model_call() -> None:
    text = "class A(nn.Module):\n    def restore(self, sd):\n        super().load_state_dict(sd)\n"
    assert the_kind(text) is ReceiverKind.MODEL


KINDS = [
    ("name_optimizer", "optimizer.load_state_dict(s)\n", ReceiverKind.OPTIMIZER),
    ("name_opt_g", "opt_g.load_state_dict(s)\n", ReceiverKind.OPTIMIZER),
    ("camel_optimizerG", "optimizerG.load_state_dict(s)\n", ReceiverKind.OPTIMIZER),
    ("self_optimizers_item", "self.optimizers[0].load_state_dict(s)\n", ReceiverKind.OPTIMIZER),
    ("name_lr_scheduler", "lr_scheduler.load_state_dict(s)\n", ReceiverKind.SCHEDULER),
    ("name_scaler", "scaler.load_state_dict(s)\n", ReceiverKind.SCALER),
    ("name_train_loader", "train_loader.load_state_dict(s)\n", ReceiverKind.DATA),
    ("name_sampler", "self.sampler.load_state_dict(s)\n", ReceiverKind.DATA),
    ("name_ema", "ema.load_state_dict(s)\n", ReceiverKind.EMA),
    ("name_model_ema", "self.model_ema.load_state_dict(s)\n", ReceiverKind.EMA),
    ("name_ema_model", "ema_model.load_state_dict(s)\n", ReceiverKind.EMA),
    ("name_trainer", "trainer.load_state_dict(s)\n", ReceiverKind.TRAINER),
    ("name_callback", "callback.load_state_dict(s)\n", ReceiverKind.TRAINER),
    ("name_accelerator", "accelerator.load_state_dict(s)\n", ReceiverKind.TRAINER),
    ("head_noun_wins", "data_parallel_model.load_state_dict(s)\n", ReceiverKind.MODEL),
    ("unsure_is_model", "thing.load_state_dict(s)\n", ReceiverKind.MODEL),
    ("controlnet_chain", "controlnet.conv_in.load_state_dict(s)\n", ReceiverKind.MODEL),
    ("unwrap_model_call", "unwrap_model(m).load_state_dict(s)\n", ReceiverKind.MODEL),
    (
        "assigned_adamw",
        "o = torch.optim.AdamW(params)\no.load_state_dict(s)\n",
        ReceiverKind.OPTIMIZER,
    ),
    (
        "assigned_lr_scheduler",
        "s = torch.optim.lr_scheduler.CosineAnnealingLR(o, 10)\ns.load_state_dict(x)\n",
        ReceiverKind.SCHEDULER,
    ),
    (
        "assigned_grad_scaler",
        'g = torch.amp.GradScaler("cuda")\ng.load_state_dict(x)\n',
        ReceiverKind.SCALER,
    ),
    (
        "assigned_in_the_same_function",
        "def f(p):\n    x = SGD(p, lr=1)\n    x.load_state_dict(s)\n",
        ReceiverKind.OPTIMIZER,
    ),
    (
        "assigned_in_another_function_does_not_count",
        "def f(p):\n    x = SGD(p, lr=1)\n\ndef g(x):\n    x.load_state_dict(s)\n",
        ReceiverKind.MODEL,
    ),
    (
        "self_attribute_assigned_in_init",
        "class T:\n    def __init__(self):\n        self.o = torch.optim.Adam(p)\n"
        "    def load(self, s):\n        self.o.load_state_dict(s)\n",
        ReceiverKind.OPTIMIZER,
    ),
    (
        "parameter_annotation",
        "def load(o: torch.optim.Optimizer, s):\n    o.load_state_dict(s)\n",
        ReceiverKind.OPTIMIZER,
    ),
    (
        "loop_over_optimizers",
        "for o, s in zip(self.optimizers, states):\n    o.load_state_dict(s)\n",
        ReceiverKind.OPTIMIZER,
    ),
    ("state_argument_optimizer", 'x.load_state_dict(ckpt["optimizer"])\n', ReceiverKind.OPTIMIZER),
    (
        "state_argument_get_scheduler",
        'x.load_state_dict(ckpt.get("lr_scheduler"))\n',
        ReceiverKind.SCHEDULER,
    ),
    ("state_argument_model", 'x.load_state_dict(ckpt["model"])\n', ReceiverKind.MODEL),
    (
        "receiver_beats_state_argument",
        'model.load_state_dict(ckpt["optimizer"])\n',
        ReceiverKind.MODEL,
    ),
    (
        "enclosing_class_is_a_scheduler",
        "class WarmupScheduler(_LRScheduler):\n    def restore(self, s):\n        self.load_state_dict(s)\n",
        ReceiverKind.SCHEDULER,
    ),
    ("bare_helper_function", "state_dict = load_state_dict(path)\n", ReceiverKind.MODULE_FUNCTION),
    (
        "distributed_checkpoint_module",
        "import torch.distributed.checkpoint as dist_cp\ndist_cp.load_state_dict(sd, reader)\n",
        ReceiverKind.MODULE_FUNCTION,
    ),
    (
        "apex_amp",
        "from apex import amp\namp.load_state_dict(ckpt['amp'])\n",
        ReceiverKind.MODULE_FUNCTION,
    ),
    (
        "dotted_module_path",
        "import torch\ntorch.distributed.checkpoint.load_state_dict(sd, reader)\n",
        ReceiverKind.MODULE_FUNCTION,
    ),
    (
        "imported_function",
        "from torch.distributed.checkpoint import load_state_dict\nload_state_dict(sd, reader)\n",
        ReceiverKind.MODULE_FUNCTION,
    ),
    (
        "import_inside_function",
        "def f():\n    from apex import amp\n    amp.load_state_dict(s)\n",
        ReceiverKind.MODULE_FUNCTION,
    ),
    (
        "imported_name_reassigned_is_not_the_module",
        "import model\nmodel = build()\nmodel.load_state_dict(s)\n",
        ReceiverKind.MODEL,
    ),
]


@pytest.mark.parametrize(("text", "kind"), [k[1:] for k in KINDS], ids=[k[0] for k in KINDS])
def test_receiver_kind(text: str, kind: ReceiverKind) -> None:
    assert kinds(text)[-1] is kind


def test_unbound_module_method_is_a_model_call_without_a_guessed_fix() -> None:
    (finding,) = scan("import torch\ntorch.nn.Module.load_state_dict(model, sd)\n").findings
    assert finding.kind is ReceiverKind.MODEL
    assert not finding.fixable and "by hand" in (finding.reason or "")


def test_non_model_findings_carry_their_own_code_and_no_fix() -> None:
    (finding,) = scan("optimizer.load_state_dict(s)\n").findings
    assert finding.code == "non-model-state"
    assert not finding.fixable
    assert "optimizer" in (finding.reason or "")


def test_model_findings_carry_checkpoint_code() -> None:
    (finding,) = scan("model.load_state_dict(s)\n").findings
    assert (finding.code, finding.fixable, finding.reason) == ("checkpoint-keys", True, None)


USAGES = [
    ("statement", "model.load_state_dict(sd)\n", Usage.STATEMENT),
    ("assigned", "msg = model.load_state_dict(sd)\n", Usage.ASSIGNED),
    ("annotated_assignment", "msg: object = model.load_state_dict(sd)\n", Usage.ASSIGNED),
    ("walrus", "if (r := model.load_state_dict(sd)):\n    pass\n", Usage.ASSIGNED),
    ("unpacked", "missing, unexpected = model.load_state_dict(sd)\n", Usage.UNPACKED),
    ("returned", "def f():\n    return model.load_state_dict(sd)\n", Usage.RETURNED),
    ("attribute", "k = model.load_state_dict(sd).missing_keys\n", Usage.ATTRIBUTE),
    ("expression", "print(model.load_state_dict(sd))\n", Usage.EXPRESSION),
    ("conditional_statement", "a.load_state_dict(x) if c else None\n", Usage.STATEMENT),
]


@pytest.mark.parametrize(("text", "usage"), [u[1:] for u in USAGES], ids=[u[0] for u in USAGES])
def test_usage(text: str, usage: Usage) -> None:
    (finding,) = scan(text).findings
    assert finding.usage is usage


def test_finding_carries_receiver_state_and_keywords() -> None:
    text = "self.net.load_state_dict(torch.load(p), strict=False, assign=True)\n"
    (finding,) = scan(text).findings
    assert finding.receiver == "self.net"
    assert finding.state == "torch.load(p)"
    assert finding.keywords == (("strict", "False"), ("assign", "True"))


def test_span_is_in_code_points_with_non_ascii_before_the_call() -> None:
    text = "x = 1\nété = 2; modèle.load_state_dict(sd)  # ü\n"
    (finding,) = scan(text).findings
    assert text[finding.span.start : finding.span.end] == "modèle.load_state_dict(sd)"
    assert (finding.span.start_pos.line, finding.span.start_pos.column) == (1, 9)
    assert (finding.span.end_pos.line, finding.span.end_pos.column) == (1, 35)


def test_span_of_a_call_spanning_lines() -> None:
    text = "model.load_state_dict(\n    sd,\n)\n"
    (finding,) = scan(text).findings
    assert (finding.span.start, finding.span.end) == (0, len(text) - 1)
    assert finding.span.end_pos.line == 2


def test_crlf_positions() -> None:
    text = "import torch\r\n\r\nmodel.load_state_dict(sd)\r\n"
    (finding,) = scan(text).findings
    assert finding.span.start_pos.line == 2
    assert text[finding.span.start : finding.span.end] == "model.load_state_dict(sd)"


def test_byte_order_mark_does_not_shift_positions() -> None:
    text = "\ufeffmodel.load_state_dict(sd)\n"
    (finding,) = scan(text).findings
    assert text[finding.span.start : finding.span.end] == "model.load_state_dict(sd)"


def test_syntax_error_reports_the_line_and_no_findings() -> None:
    result = scan("import torch\nmodel.load_state_dict(sd\n")
    assert result.findings == ()
    assert result.syntax_error is not None and "line" in result.syntax_error
    assert result.syntax_error_line is not None


def test_text_without_the_name_needs_no_parse() -> None:
    assert scan("this is not python (((\n").syntax_error is None


def test_null_bytes_are_a_parse_error_not_a_crash() -> None:
    assert scan("model.load_state_dict(sd)\n\0").syntax_error is not None


def test_calls_inside_an_inlined_keymapper_are_not_findings() -> None:
    text = "class KeyMapper:\n    def f(self, m):\n        m.load_state_dict({})\n"
    assert scan(text).findings == ()


def test_explain_mentions_the_call_and_the_reason() -> None:
    (model,) = scan("model.load_state_dict(sd, **kw)\n").findings
    assert "model.load_state_dict" in explain(model)
    assert "KeyMapper.from_torch" in explain(model)
    assert "**kw" in explain(model)
    (opt,) = scan("opt.load_state_dict(s)\n").findings
    assert "no checkpoint migration" in explain(opt)
