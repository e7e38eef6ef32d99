"""One human-readable sentence per finding, shared by the command line and the editor."""

from __future__ import annotations

from switcheroo_lsp.engine.model import CODE_COPY, CODE_MATERIALIZE, Finding


def _call_text(finding: Finding) -> str:
    return (
        f"{finding.receiver}.load_state_dict(...)" if finding.receiver else "load_state_dict(...)"
    )


def explain(finding: Finding) -> str:
    """Why this call matters when porting to JAX/Flax, and what (if anything) the fix does."""
    call = _call_text(finding)
    if not finding.kind.is_model:
        return f"`{call}` needs no checkpoint migration: {finding.reason or finding.kind.value}"
    if finding.code == CODE_COPY:
        message = (
            f"`{call}` copies weights between live models: in JAX trees are values, the copy is "
            "an assignment of the source's tree"
        )
    elif finding.code == CODE_MATERIALIZE:
        message = (
            f"`{call}` materialises a layer from tensors built in the code (not a checkpoint): "
            "in Flax they go into the layer's params"
        )
    else:
        message = (
            f"`{call}` loads PyTorch weights in place; Flax has no such method and names and "
            "lays out parameters differently: convert with KeyMapper.from_torch"
        )
    if finding.fixable and finding.note:
        message += f" (the fix: {finding.note})"
    if not finding.fixable and finding.reason:
        message += f" (no automatic fix: {finding.reason})"
    elif not finding.confidence.is_sure:
        message += (
            f" (the receiver may not be a model: nothing in the code says `{finding.receiver}` "
            "is one, so fix-all leaves it; its quick fix or --unsafe-fixes rewrites it)"
        )
    return message
