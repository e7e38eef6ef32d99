"""How the arguments of ``load_state_dict(state_dict, strict=True, assign=False)`` map to
``KeyMapper.from_torch(state, *, strict=...)``: the one rule both the scanner (is it fixable?)
and the rewriter (what to write) follow.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass


class ArgForm(enum.Enum):
    """The syntactic form of one argument of the call."""

    POSITIONAL = "positional"
    STAR = "star"  # *args
    KEYWORD = "keyword"
    DOUBLE_STAR = "double-star"  # **kwargs


class ArgAction(enum.Enum):
    """What the rewrite does with one argument."""

    STATE = "state"  # becomes from_torch's first positional argument
    STRICT = "strict"  # kept (or turned into) the strict= keyword
    DROP = "drop"  # assign=: no meaning in JAX


@dataclass(frozen=True)
class ArgInfo:
    """One argument as the rule sees it, in source order."""

    form: ArgForm
    keyword: str | None = None
    text: str = ""  # source text of the value (for messages)
    is_bool_literal: bool = False


@dataclass(frozen=True)
class ArgPlan:
    """Actions per argument (same order as given), or why no fix is possible."""

    actions: tuple[ArgAction, ...] = ()
    reason: str | None = None


def plan_arguments(args: Sequence[ArgInfo]) -> ArgPlan:
    """Decide how each argument of a model's ``load_state_dict`` call is carried over."""
    actions: list[ArgAction] = []
    positional = 0
    has_state = False
    for arg in args:
        if arg.form is ArgForm.STAR:
            return ArgPlan(reason=f"`*{arg.text}` hides which arguments are passed; no guessed fix")
        if arg.form is ArgForm.DOUBLE_STAR:
            return ArgPlan(
                reason=f"`**{arg.text}` hides which arguments are passed; no guessed fix"
            )
        if arg.form is ArgForm.POSITIONAL:
            positional += 1
            if positional == 1:
                actions.append(ArgAction.STATE)
                has_state = True
            elif positional == 2 and arg.is_bool_literal:
                actions.append(ArgAction.STRICT)  # torch's second parameter is strict
            elif positional == 3 and arg.is_bool_literal:
                actions.append(ArgAction.DROP)  # torch's third parameter is assign
            else:
                return ArgPlan(
                    reason=f"positional argument `{arg.text}` is not torch's strict/assign flag "
                    "(a custom load_state_dict?); no guessed fix"
                )
            continue
        if arg.keyword == "state_dict" and not has_state:
            actions.append(ArgAction.STATE)
            has_state = True
        elif arg.keyword == "strict":
            actions.append(ArgAction.STRICT)
        elif arg.keyword == "assign":
            actions.append(ArgAction.DROP)
        else:
            return ArgPlan(
                reason=f"keyword argument `{arg.keyword}=` has no KeyMapper.from_torch "
                "equivalent; no guessed fix"
            )
    if not has_state:
        return ArgPlan(reason="the call passes no state dict; nothing to convert")
    return ArgPlan(actions=tuple(actions))
