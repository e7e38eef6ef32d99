"""The rules' documentation: one place for `switcheroo rule CODE`, SARIF's rule help and hovers."""

from __future__ import annotations

from dataclasses import dataclass

from switcheroo_lsp.engine.model import CODE_CHECKPOINT, CODE_NON_MODEL


@dataclass(frozen=True)
class Rule:
    """One diagnostic code and what a user needs to know about it."""

    code: str
    name: str  # a short title
    summary: str  # one sentence
    fix: str  # what the fix does, or that there is none
    body: str  # Markdown: why it matters, examples, how to silence it


_SILENCE = (
    "Silence one call with `# noqa: {code}` on its first line (or on the first line of its "
    "statement), a whole file with `# switcheroo: noqa: {code}` on a line of its own; "
    "`switcheroo check --add-noqa` writes the comments for you."
)

RULES: dict[str, Rule] = {
    CODE_CHECKPOINT: Rule(
        code=CODE_CHECKPOINT,
        name="PyTorch weights loaded into a live model",
        summary=(
            "`model.load_state_dict(state)` copies a PyTorch state dict into a model; "
            "JAX/Flax has no live model to copy into."
        ),
        fix=(
            "Replaces the call with `variables = KeyMapper.from_torch(state)` and adds the "
            'KeyMapper (inlined, or imported with preamble = "import") once per file.'
        ),
        body=(
            "A PyTorch state dict does not fit a Flax variable tree:\n\n"
            "- names differ: `encoder.layers.0.weight` is `params/encoder/layers_0/kernel`, norms "
            "use `scale`, embeddings `embedding`, batch-norm statistics live in `batch_stats`;\n"
            "- layouts differ: a `Linear` weight is (out, in) in torch and (in, out) in Flax; "
            "convolution kernels are (O, I, *k) in torch and (*k, I, O) in Flax;\n"
            "- Flax does not check: `apply` ignores keys it does not use, so a naive conversion "
            "runs with random weights instead of failing.\n\n"
            "Before:\n\n"
            "```python\n"
            "model.load_state_dict(torch.load(path), strict=False)\n"
            "```\n\n"
            "After:\n\n"
            "```python\n"
            "variables = KeyMapper.from_torch(torch.load(path), strict=False)\n"
            "```\n\n"
            "`strict=` is kept (fail loudly on anything that could not be mapped), `assign=` is "
            "dropped, and `missing, unexpected = model.load_state_dict(...)` asks `from_torch` "
            "for the same report (`return_report=True`). No fix is offered for `*args`/`**kwargs`, "
            "unknown keywords and results used in ways the report cannot keep; the diagnostic "
            "says why.\n\n" + _SILENCE.format(code=CODE_CHECKPOINT)
        ),
    ),
    CODE_NON_MODEL: Rule(
        code=CODE_NON_MODEL,
        name="load_state_dict on state that holds no model weights",
        summary=(
            "Optimizers, schedulers, gradient scalers, data loaders, trainers, EMA helpers and "
            "module functions also have `load_state_dict`; their state holds no model weights."
        ),
        fix="None: porting optimizer state to optax is a different job. A hint, never an error.",
        body=(
            "These calls never make `switcheroo check` exit 1. Hide the hints with "
            "`hint-non-model = false` in `[tool.switcheroo]`, the `hintNonModel` editor setting "
            "or `switcheroo check --no-hints`.\n\n"
            "How the receiver is judged, in order: an imported module; the words of its name "
            "(`optimizer_g`, `lr_scheduler`, `train_loader`, `model_ema`); what it was assigned "
            "in the same scope (`opt = torch.optim.AdamW(...)`); the enclosing class for "
            '`self.load_state_dict(...)`; the state argument (`ckpt["optimizer"]`). When '
            "nothing tells, it is treated as a model.\n\n" + _SILENCE.format(code=CODE_NON_MODEL)
        ),
    ),
}


def rule_markdown(rule: Rule) -> str:
    """The rule's full documentation as Markdown (``switcheroo rule``, hovers, SARIF help)."""
    return f"# {rule.name} ({rule.code})\n\n{rule.summary}\n\n**Fix.** {rule.fix}\n\n{rule.body}\n"
