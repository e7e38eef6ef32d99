"""The name each rewritten load binds its tree to: names follow the receiver.

A scope (a function or the module; for receivers reached through `self.`, the class) whose loads
go into one model binds the assignment name (`variables`). Several models in one scope each get a
name derived from the receiver: its last word plus the assignment name (`model.text_model` ->
`text_model_variables`, `unet` -> `unet_variables`; wrappers such as `module` are skipped, and
more words are taken when two receivers end alike: `a.head` / `b.head` -> `a_head_variables`,
`b_head_variables`). Receivers on `self` keep the tree on `self` (`self.unet_variables`). A name
the file already uses (in the class: an attribute of `self`) gets a number (`variables_2`).
Setting ``treeNames = "single"`` binds the assignment name everywhere.
"""

from __future__ import annotations

import functools
import keyword
import re
from collections.abc import Callable, Iterable

from switcheroo_lsp.engine.model import CODE_CHECKPOINT, CODE_COPY, ReceiverKind
from switcheroo_lsp.engine.places import binds_name
from switcheroo_lsp.engine.scan import Analysis, CallSite, Place
from switcheroo_lsp.settings import Settings, TreeNames

_WRAPPERS = frozenset({"module", "_orig_mod", "model_ema", "_fsdp_wrapped_module"})


def _words(receiver_key: str) -> list[str]:
    words = re.findall(r"\w+", receiver_key.removeprefix("self."))
    kept = [w for w in words if w not in _WRAPPERS]
    return kept or words


def _is_name(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


def _receiver_names(receivers: list[str], suffix: str) -> dict[str, str]:
    """Distinct names for several receivers: the shortest distinct tails of their words."""
    words = {r: _words(r) for r in receivers}
    take = dict.fromkeys(receivers, 1)
    while True:
        names = {r: "_".join(words[r][-take[r] :] + [suffix]) for r in receivers}
        clashes = [r for r in receivers if list(names.values()).count(names[r]) > 1]
        growing = [r for r in clashes if take[r] < len(words[r])]
        if not growing:
            return names
        for r in growing:
            take[r] += 1


def free_name(
    name: str, taken: set[str] | frozenset[str], bound: Callable[[str], bool] | None = None
) -> str:
    """``name``, or ``name_2``, ``name_3``...: the first that is neither taken nor ``bound``."""
    candidate, number = name, 2
    while candidate in taken or (bound is not None and bound(candidate)):
        candidate = f"{name}_{number}"
        number += 1
    return candidate


def _tree_sites(sites: Iterable[CallSite]) -> list[CallSite]:
    return [
        s
        for s in sites
        if s.finding.kind is ReceiverKind.MODEL
        and s.finding.code in (CODE_CHECKPOINT, CODE_COPY)
        and s.place != Place.RETURN
    ]


def tree_names(
    analysis: Analysis, settings: Settings, text: str, sites: Iterable[CallSite] = ()
) -> dict[int, str]:
    """{call span start: the expression its tree is bound to}, e.g. `unet_variables` or
    `self.variables`, for every model load in the scopes of ``sites`` (all scopes if none):
    the names of a scope come from all its loads, fixable or not, so one fix names as fix-all."""
    scopes = {(Place.SELF if s.place == Place.SELF else Place.LOCAL, s.scope) for s in sites}
    groups: dict[tuple[str, int], list[CallSite]] = {}
    for site in _tree_sites(analysis.sites):
        home = Place.SELF if site.place == Place.SELF else Place.LOCAL
        if not scopes or (home, site.scope) in scopes:
            groups.setdefault((home, site.scope), []).append(site)
    class_names = dict(analysis.self_names)
    bound_in_text = functools.cache(lambda name: binds_name(text, name, analysis.runtime_span))
    out: dict[int, str] = {}
    for (home, scope), members in groups.items():
        receivers = list(dict.fromkeys(s.receiver_key for s in members))
        base = settings.assignment_name
        if settings.tree_names is TreeNames.SINGLE or len(receivers) == 1:
            wanted = dict.fromkeys(receivers, base)
        else:
            wanted = _receiver_names(receivers, base)
        taken = set(class_names.get(scope, ())) if home == Place.SELF else set(analysis.names)
        bound = None if home == Place.SELF else bound_in_text  # (the class's names: in taken)
        chosen: dict[str, str] = {}
        for receiver in receivers:
            name = wanted[receiver] if _is_name(wanted[receiver]) else base
            if settings.tree_names is TreeNames.SINGLE and chosen:
                chosen[receiver] = next(iter(chosen.values()))
                continue
            name = free_name(name, taken, bound)
            taken.add(name)
            chosen[receiver] = name
        prefix = "self." if home == Place.SELF else ""
        for site in members:
            out[site.finding.span.start] = prefix + chosen[site.receiver_key]
    return out
