"""The rules' documentation: one place for `switcheroo rule CODE`, SARIF's rule help and hovers."""

from __future__ import annotations

from dataclasses import dataclass

from switcheroo_lsp.engine.model import (
    CODE_CHECKPOINT,
    CODE_COPY,
    CODE_MATERIALIZE,
    CODE_NON_MODEL,
)

# The quick fix's title, the same in the editor and in SARIF's ``fixes``; an unsure one says so.
FIX_TITLE = "Convert to KeyMapper.from_torch"
UNSURE_SUFFIX = " (receiver may not be a model)"


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
            "Replaces the call with `variables = KeyMapper.from_torch(state)` (the tree named "
            "after its receiver when a scope loads several models, kept on `self` for `self.` "
            "receivers, returned from a helper that loads into its parameter) and adds the "
            'KeyMapper (inlined, imported with preamble = "import", or one module per project '
            'with preamble = "module") once per file. Bulk fixes apply only calls whose '
            "receiver is surely a model (`--unsafe-fixes` for the rest)."
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
            "How the receiver is judged, strongest evidence first: an imported module or a bare "
            "function; an `isinstance` guard around the call; the words of its name "
            "(`optimizer_g`, `lr_scheduler`, `train_loader`, `fit_loop`, `message_hub`); what it "
            "is bound to in scope (`opt = torch.optim.AdamW(...)`, `task = tasks.setup_task(cfg)`, "
            "a loop over `self._hooks`, a dataclass field); the state argument's keys "
            '(`ckpt["optimizer"]`, never the word "checkpoint"). EMA copies of a model are '
            "models; EMA helpers with a state format of their own are not. When nothing tells, "
            "the call is reported as a model call whose receiver may not be a model: it keeps "
            "its quick fix, and bulk fixes leave it.\n\n" + _SILENCE.format(code=CODE_NON_MODEL)
        ),
    ),
    CODE_COPY: Rule(
        code=CODE_COPY,
        name="weights copied between live models",
        summary=(
            "`dst.load_state_dict(src.state_dict())` copies one live model's weights into "
            "another (target-network sync, teacher = student): not a checkpoint load."
        ),
        fix=(
            "Where the source's tree was loaded earlier in the same scope, the copy becomes a "
            "tree assignment (`target_net_variables = policy_net_variables`); otherwise none, "
            "and the diagnostic says what to assign by hand."
        ),
        body=(
            "In JAX, parameters are immutable trees, so a copy is just a new name for the same "
            "tree: no conversion, no KeyMapper. A copy with `strict=False` keeps the target's "
            "own values for keys the source lacks, which an assignment cannot express: no fix "
            "is offered for it.\n\n" + _SILENCE.format(code=CODE_COPY)
        ),
    ),
    CODE_MATERIALIZE: Rule(
        code=CODE_MATERIALIZE,
        name="a layer materialised from tensors built in the code",
        summary=(
            '`layer.load_state_dict({...}, assign=True)` (often after `torch.device("meta")`) '
            "builds a layer from tensors the code computed: not a checkpoint load."
        ),
        fix="None: put the computed arrays into the Flax layer's params by hand.",
        body=(
            "`assign=True` replaces the module's tensors with the given ones instead of copying "
            "into them; with a literal dict of computed tensors (a fused qkv weight, say) it "
            "creates the layer's weights. A Flax module has no weights to assign to: build its "
            "params from the same arrays instead.\n\n" + _SILENCE.format(code=CODE_MATERIALIZE)
        ),
    ),
}


def rule_markdown(rule: Rule) -> str:
    """The rule's full documentation as Markdown (``switcheroo rule``, hovers, SARIF help)."""
    return f"# {rule.name} ({rule.code})\n\n{rule.summary}\n\n**Fix.** {rule.fix}\n\n{rule.body}\n"
