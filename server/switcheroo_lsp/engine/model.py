"""The engine's vocabulary: findings, edits and fix results.

Everything here is plain data. Positions are code points (``str`` indices), never
UTF-16 or bytes: only the LSP shell converts to the client's encoding.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class ReceiverKind(enum.Enum):
    """What the object whose ``load_state_dict`` is called holds."""

    MODEL = "model"  # weights: the checkpoint fix applies
    OPTIMIZER = "optimizer"
    SCHEDULER = "scheduler"
    SCALER = "scaler"  # torch.amp / cuda.amp GradScaler
    DATA = "data"  # data loaders, samplers, datasets
    EMA = "ema"  # EMA helpers keep weights in a format of their own
    TRAINER = "trainer"  # trainer loops, callbacks, accelerators, other stateful helpers
    MODULE_FUNCTION = (
        "module-function"  # dist_cp.load_state_dict(...), apex amp.load_state_dict(...)
    )
    OTHER = "other"  # known not to be an nn.Module (the else branch of an isinstance guard, a task)

    @property
    def is_model(self) -> bool:
        """True when the checkpoint migration applies."""
        return self is ReceiverKind.MODEL


class Confidence(enum.Enum):
    """How sure the receiver judgement is. Only SURE model calls are rewritten in bulk."""

    SURE = "sure"  # positive evidence: a model word, a model constructor, an nn.Module guard...
    UNSURE = "unsure"  # nothing in the code tells; the kind is the default guess

    @property
    def is_sure(self) -> bool:
        """True when the judgement rests on evidence."""
        return self is Confidence.SURE


class Usage(enum.Enum):
    """How the value of the call is used."""

    STATEMENT = "statement"  # `model.load_state_dict(sd)` alone; value discarded
    ASSIGNED = "assigned"  # `msg = model.load_state_dict(sd)`
    UNPACKED = "unpacked"  # `missing, unexpected = model.load_state_dict(sd)`
    RETURNED = "returned"  # `return model.load_state_dict(sd)`
    ATTRIBUTE = "attribute"  # `model.load_state_dict(sd).missing_keys`
    EXPRESSION = "expression"  # anywhere else inside a larger expression


# Diagnostic codes, stable: they appear in the editor and in `switcheroo check`.
CODE_CHECKPOINT = "checkpoint-keys"  # a model's load_state_dict: fixable migration site
CODE_NON_MODEL = "non-model-state"  # optimizer/scheduler/...: no checkpoint fix, a hint at most
CODE_COPY = "model-copy"  # dst.load_state_dict(src.state_dict()): a copy between live models
CODE_MATERIALIZE = "model-materialize"  # m.load_state_dict({...}, assign=True): builds a layer

# Why fix-all leaves an unsure model call alone (it keeps its diagnostic and its single quick fix).
UNSURE_NOT_FIXED = (
    "receiver may not be a model (nothing in the code says it is one); "
    "--unsafe-fixes (setting unsafeFixes) to apply"
)


@dataclass(frozen=True, order=True)
class Position:
    """A 0-based line and a 0-based column counted in code points."""

    line: int
    column: int


@dataclass(frozen=True)
class Span:
    """A half-open text range: offsets into the text (code points) and the same as positions."""

    start: int
    end: int
    start_pos: Position
    end_pos: Position


@dataclass(frozen=True)
class Finding:
    """One ``load_state_dict(...)`` call found in a source text."""

    span: Span  # the whole call expression, `model.load_state_dict(...)`
    receiver: str  # source text of the receiver, e.g. `self.net`, `""` for a bare call
    kind: ReceiverKind
    state: str | None  # source text of the state argument, None if absent/*args
    keywords: tuple[tuple[str, str], ...]  # (name, source text) of keyword arguments, in order
    usage: Usage
    fixable: bool  # False: diagnostic only, `reason` says why
    reason: str | None = (
        None  # why no fix is offered (e.g. `**kwargs`, unpacking that cannot be kept)
    )
    code: str = CODE_CHECKPOINT
    confidence: Confidence = Confidence.UNSURE  # how sure the receiver's kind is
    evidence: str = ""  # what the judgement rests on, in words ("" when nothing tells)
    note: str | None = None  # what the fix changes beyond the call (e.g. `assign=True` dropped)

    @property
    def bulk_fixable(self) -> bool:
        """Fixable and surely a model: fix-all and `switcheroo fix` apply it without
        ``unsafeFixes``. Unsure ones keep their diagnostic and their single quick fix."""
        return self.fixable and self.kind.is_model and self.confidence.is_sure

    def bulk_skip_reason(self, unsafe_fixes: bool) -> str | None:
        """Why fix-all leaves this call alone, or None when it rewrites it (every fixable call
        with ``unsafe_fixes``, else only the sure ones)."""
        if not self.fixable:
            return self.reason or "no checkpoint migration needed"
        if self.bulk_fixable or unsafe_fixes:
            return None
        return UNSURE_NOT_FIXED

    @property
    def line(self) -> int:
        """The 0-based line of the call's start."""
        return self.span.start_pos.line


@dataclass(frozen=True)
class Edit:
    """Replace ``text[start:end]`` (code-point offsets in the ORIGINAL text) with ``new_text``."""

    start: int
    end: int
    new_text: str
    start_pos: Position
    end_pos: Position


@dataclass(frozen=True)
class FixResult:
    """Edits for one fix or for fix-all; ``error`` is set (and edits empty) when nothing can be done."""

    edits: tuple[Edit, ...] = ()
    error: str | None = None
    fixed: int = 0  # number of calls rewritten
    skipped: tuple[tuple[Finding, str], ...] = field(default=())  # findings left alone, with why
    title: str | None = None  # a one-call fix's title when it does more than convert the call

    @property
    def ok(self) -> bool:
        """True when there are edits and no error."""
        return self.error is None and bool(self.edits)


@dataclass(frozen=True)
class ScanResult:
    """All calls found in a text; ``syntax_error`` is set (and findings empty) when it does not parse."""

    findings: tuple[Finding, ...] = ()
    syntax_error: str | None = None  # e.g. "line 3: invalid syntax"
    syntax_error_line: int | None = None  # 0-based
