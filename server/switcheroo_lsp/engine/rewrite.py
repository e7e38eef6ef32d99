"""Findings + source -> minimal text edits, with libcst on the enclosing statement only.

The file is never re-parsed with libcst: each replacement unit (the call, or the small statement
holding it) is parsed alone, transformed, rendered and put back in place, so comments,
indentation, quotes and line endings around it are untouched and the cost does not grow with the
file. The KeyMapper preamble is one more edit near the top.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import libcst as cst

from switcheroo_lsp.engine.arguments import ArgAction, ArgForm, ArgInfo, plan_arguments
from switcheroo_lsp.engine.model import Edit, Finding, FixResult
from switcheroo_lsp.engine.places import binds_name
from switcheroo_lsp.engine.preamble import PreambleConflict, preamble_text_edit
from switcheroo_lsp.engine.scan import (
    NAME,
    REPORT_KEYWORD,
    Analysis,
    CallSite,
    UnitForm,
    analyze,
    parse_quietly,
)
from switcheroo_lsp.engine.text import apply_edits, detect_newline, make_edit
from switcheroo_lsp.engine.trees import free_name, tree_names
from switcheroo_lsp.settings import Settings

_NO_SPACE = cst.SimpleWhitespace("")
_EQUAL = cst.AssignEqual(whitespace_before=_NO_SPACE, whitespace_after=_NO_SPACE)
_SPACE_COMMA = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


class _Unfixable(Exception):
    """A unit that cannot be rewritten after all; carries the reason."""


def fix(text: str, finding_start: int, settings: Settings | None = None) -> FixResult:
    """Fix the model call whose span starts at ``finding_start``, inserting the preamble once."""
    settings = settings or Settings()
    analysis = analyze(text)
    if analysis.result.syntax_error is not None:
        return FixResult(error=f"the file does not parse ({analysis.result.syntax_error})")
    site = next((s for s in analysis.sites if s.finding.span.start == finding_start), None)
    if site is None:
        return FixResult(error=f"no load_state_dict call starts at offset {finding_start}")
    if not site.finding.fixable:
        reason = site.finding.reason or "this call needs no checkpoint migration"
        return FixResult(error=reason, skipped=((site.finding, reason),))
    # the other branches of a conditional expression statement go along (one assignment), and
    # so do the earlier loads this one updates or copies from (their trees are its input)
    by_start = {s.finding.span.start: s for s in analysis.sites}
    needed = [site]
    while needed[-1].previous is not None and needed[-1].previous in by_start:
        needed.append(by_start[needed[-1].previous])
    chosen = [
        s
        for s in analysis.sites
        if s in needed
        or (
            s.finding.fixable
            and s.form == UnitForm.ASSIGN
            and (s.unit_start, s.unit_end) == (site.unit_start, site.unit_end)
        )
    ]
    result = _build(text, analysis, chosen, settings, verify=False)
    return replace(result, title=_title(site, len(needed) - 1))


def _title(site: CallSite, earlier: int) -> str | None:
    """A quick fix's title when it does more than convert the call itself."""
    parts = []
    if site.form == UnitForm.RETURN:
        parts.append("Convert to KeyMapper.from_torch and return the tree")
    elif site.form == UnitForm.COPY:
        parts.append(f"Assign the tree of `{site.copy_of}` (in JAX trees are values)")
    elif site.form == UnitForm.RETURN_REPORT:
        parts.append("Convert to KeyMapper.from_torch, keep the tree on self, return the report")
    if earlier and site.form != UnitForm.COPY:
        parts.append(f"with the {earlier} earlier load(s) of `{site.finding.receiver}` it updates")
    elif earlier:
        parts.append(f"converting the load of `{site.copy_of}` too")
    if site.finding.note:
        parts.append(site.finding.note.split(":")[0])
    if not parts:
        return None
    if site.form not in (UnitForm.RETURN, UnitForm.COPY, UnitForm.RETURN_REPORT):
        parts.insert(0, "Convert to KeyMapper.from_torch")
    return parts[0] + "".join(f" ({p})" for p in parts[1:])


def fix_all(text: str, settings: Settings | None = None) -> FixResult:
    """Rewrite every fixable model call in one pass, with one preamble; idempotent."""
    settings = settings or Settings()
    analysis = analyze(text)
    if analysis.result.syntax_error is not None:
        return FixResult(error=f"the file does not parse ({analysis.result.syntax_error})")
    why_not = {id(s): s.finding.bulk_skip_reason(settings.unsafe_fixes) for s in analysis.sites}
    fixable = [s for s in analysis.sites if why_not[id(s)] is None]
    skipped = tuple((s.finding, why) for s in analysis.sites if (why := why_not[id(s)]) is not None)
    if not fixable:
        return FixResult(skipped=skipped)
    result = _build(text, analysis, fixable, settings, verify=True)
    return FixResult(
        edits=result.edits,
        error=result.error,
        fixed=result.fixed,
        skipped=skipped + result.skipped,
    )


@dataclass
class _Unit:
    start: int
    end: int
    form: str
    sites: list[CallSite]


def _merge_units(sites: Sequence[CallSite]) -> list[_Unit]:
    """Group call sites whose replacement units overlap; the outermost unit wins."""
    units: list[_Unit] = []
    for site in sorted(sites, key=lambda s: (s.unit_start, -s.unit_end)):
        if units and site.unit_start < units[-1].end:
            unit = units[-1]
            if site.unit_end > unit.end:  # partial overlap cannot happen in a tree; be safe
                unit.end = site.unit_end
            unit.sites.append(site)
        else:
            units.append(_Unit(site.unit_start, site.unit_end, site.form, [site]))
    return units


def _build(
    text: str,
    analysis: Analysis,
    sites: Sequence[CallSite],
    settings: Settings,
    *,
    verify: bool,
) -> FixResult:
    """Edits for the given call sites plus the preamble; ``verify`` re-parses the result."""
    index = analysis.index
    assert index is not None and analysis.head is not None
    edits: list[Edit] = []
    skipped: list[tuple[Finding, str]] = []
    fixed_sites: list[CallSite] = []
    newline = detect_newline(text)
    names = tree_names(analysis, settings, text, sites)
    report_name = "report"
    if any(s.form == UnitForm.RETURN_REPORT for s in sites):
        report_name = free_name(
            "report", analysis.names, lambda name: binds_name(text, name, analysis.runtime_span)
        )
    # a load that updates (or copies) an earlier load's tree needs that load rewritten too
    # (fix-all may leave it out, e.g. when it applies only sure fixes)
    starts = {s.finding.span.start for s in sites}
    lines = {s.finding.span.start: s.finding.line + 1 for s in analysis.sites}
    kept: list[CallSite] = []
    for site in sites:
        if site.previous is not None and site.previous not in starts:
            reason = (
                f"it builds on the tree of the load on line {lines.get(site.previous, '?')}, "
                "which this pass does not rewrite: fix that one first"
            )
            skipped.append((site.finding, reason))
            starts.discard(site.finding.span.start)
        else:
            kept.append(site)
    sites = kept
    for unit in _merge_units(sites):
        calls_in_unit = [c for c in analysis.all_calls if unit.start <= c[0] and c[1] <= unit.end]
        flagged = {
            calls_in_unit.index((s.finding.span.start, s.finding.span.end)): s for s in unit.sites
        }
        try:
            new_text = _rewrite_unit(
                text[unit.start : unit.end],
                unit.form,
                flagged,
                _Names(names, report_name),
                newline,
            )
        except _Unfixable as exc:
            skipped.extend((s.finding, str(exc)) for s in unit.sites)
            continue
        except RecursionError:
            reason = "the statement is nested too deeply to rewrite"
            skipped.extend((s.finding, reason) for s in unit.sites)
            continue
        edits.append(make_edit(index, unit.start, unit.end, new_text))
        fixed_sites.extend(unit.sites)
    if not edits:
        reason = skipped[0][1] if skipped else "nothing to fix"
        return FixResult(error=reason, skipped=tuple(skipped))
    limit = min((s.top_start for s in fixed_sites if s.runs_at_import), default=len(text) + 1)
    try:
        placement = preamble_text_edit(
            text,
            analysis.head,
            limit,
            settings.preamble,
            settings.keymapper_import,
            settings.first_party,
        )
    except PreambleConflict as exc:
        reason = str(exc)
        every = [(s.finding, reason) for s in fixed_sites]
        return FixResult(error=reason, skipped=tuple(skipped + every))
    if placement is not None:
        start, end, new_text = placement
        edits.append(make_edit(index, start, end, new_text))
    edits.sort(key=lambda e: (e.start, e.end))
    if verify:
        try:
            parse_quietly(apply_edits(text, edits).removeprefix("\ufeff"))
        except (SyntaxError, ValueError) as exc:  # a bug, but never hand out a broken file
            return FixResult(error=f"internal error: the rewritten file would not parse ({exc})")
    return FixResult(edits=tuple(edits), fixed=len(fixed_sites), skipped=tuple(skipped))


@dataclass(frozen=True)
class _Names:
    """The trees' names (call start -> expression) and the name a returned report gets."""

    trees: dict[int, str]
    report: str

    def tree(self, site: CallSite) -> str:
        return self.trees[site.finding.span.start]


@dataclass(frozen=True)
class _Flag:
    """How one flagged call is rewritten."""

    report: bool  # add return_report=True
    target: str | None  # target=<earlier tree>: this load updates it


class _CallFinder(cst.CSTVisitor):
    """Every matching call in source (pre-)order, the same order as the scanner's offsets."""

    def __init__(self) -> None:
        self.calls: list[cst.Call] = []

    def visit_Call(self, node: cst.Call) -> None:
        if _is_target(node):
            self.calls.append(node)


def _is_target(node: cst.Call) -> bool:
    func = node.func
    return (isinstance(func, cst.Attribute) and func.attr.value == NAME) or (
        isinstance(func, cst.Name) and func.value == NAME
    )


class _CallRewriter(cst.CSTTransformer):
    """Turns the flagged calls into ``KeyMapper.from_torch(...)``."""

    def __init__(self, flagged: dict[int, _Flag]) -> None:
        super().__init__()
        self.flagged = flagged  # call object id -> how to rewrite it
        self.rewritten = 0

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        flag = self.flagged.get(id(original_node))
        if flag is None:
            return updated_node
        self.rewritten += 1
        return updated_node.with_changes(
            func=cst.Attribute(value=cst.Name("KeyMapper"), attr=cst.Name("from_torch")),
            args=_rewrite_args(updated_node.args, report=flag.report, target=flag.target),
        )


def _arg_info(arg: cst.Arg) -> ArgInfo:
    text = cst.Module([]).code_for_node(arg.value)
    if arg.star == "*":
        return ArgInfo(ArgForm.STAR, text=text)
    if arg.star == "**":
        return ArgInfo(ArgForm.DOUBLE_STAR, text=text)
    if arg.keyword is not None:
        return ArgInfo(ArgForm.KEYWORD, arg.keyword.value, text)
    is_bool = isinstance(arg.value, cst.Name) and arg.value.value in ("True", "False")
    return ArgInfo(ArgForm.POSITIONAL, None, text, is_bool)


def _has_comment(comma: cst.Comma) -> bool:
    return "#" in cst.Module([]).code_for_node(comma)


def _separator(args: Sequence[cst.Arg]) -> tuple[cst.Comma, cst.BaseParenthesizableWhitespace]:
    """How the call separates its arguments (comma and the whitespace before it), taken from
    its last separator without a comment: `, ` on one line, `,` + the continuation indentation
    when the arguments stand one per line."""
    for arg in reversed(args[:-1]):
        if isinstance(arg.comma, cst.Comma) and not _has_comment(arg.comma):
            return arg.comma, arg.whitespace_after_arg
    return _SPACE_COMMA, _NO_SPACE


def _rewrite_args(
    args: Sequence[cst.Arg], *, report: bool, target: str | None = None
) -> list[cst.Arg]:
    """Arguments of from_torch: the state first, then target= (the tree this load updates),
    strict=; assign= dropped; return_report= added."""
    plan = plan_arguments([_arg_info(a) for a in args])
    if plan.reason is not None:
        raise _Unfixable(plan.reason)
    state: list[cst.Arg] = []
    strict: list[cst.Arg] = []
    ended_the_call: cst.Arg | None = None  # the original last argument, as rewritten
    for arg, action in zip(args, plan.actions, strict=True):
        kept: cst.Arg | None = None
        if action is ArgAction.STATE:
            kept = arg.with_changes(keyword=None, equal=cst.MaybeSentinel.DEFAULT)
            state.append(kept)
        elif action is ArgAction.STRICT:
            kept = arg
            if arg.keyword is None:
                kept = arg.with_changes(keyword=cst.Name("strict"), equal=_EQUAL)
            strict.append(kept)
        if arg is args[-1]:
            ended_the_call = kept
    ordered = state
    if target is not None:
        ordered.append(cst.Arg(keyword=cst.Name("target"), value=_tree_node(target), equal=_EQUAL))
    ordered += strict
    if report:
        ordered.append(
            cst.Arg(keyword=cst.Name(REPORT_KEYWORD), value=cst.Name("True"), equal=_EQUAL)
        )
    original_last = args[-1]
    comma, before_comma = _separator(args)
    result = []
    for position, arg in enumerate(ordered):
        if position < len(ordered) - 1:
            # an argument that ended the call (or is new) takes the call's own separator: its
            # closing layout (a line break before `)`) stays at the end, where it belongs
            if arg is ended_the_call or not isinstance(arg.comma, cst.Comma):
                arg = arg.with_changes(comma=comma, whitespace_after_arg=before_comma)
            result.append(arg)
            continue
        if arg is not ended_the_call:  # the last argument changed: keep the closing layout
            comma_after, after = _closing(arg.comma, original_last)
            arg = arg.with_changes(comma=comma_after, whitespace_after_arg=after)
        result.append(arg)
    return result


def _closing(
    own: cst.Comma | cst.MaybeSentinel, original_last: cst.Arg
) -> tuple[cst.Comma | cst.MaybeSentinel, cst.BaseParenthesizableWhitespace]:
    """Comma and trailing whitespace for an argument that became the last one: the call's
    original closing layout, except that a comment after its own comma stays."""
    final = original_last.comma
    if not (isinstance(own, cst.Comma) and _has_comment(own)):
        return final, original_last.whitespace_after_arg
    own_after = own.whitespace_after
    closing = (
        final.whitespace_after
        if isinstance(final, cst.Comma)
        else original_last.whitespace_after_arg
    )
    if isinstance(own_after, cst.ParenthesizedWhitespace) and isinstance(
        closing, cst.ParenthesizedWhitespace
    ):
        own = own.with_changes(
            whitespace_after=own_after.with_changes(
                indent=closing.indent, last_line=closing.last_line
            )
        )
        return own, cst.SimpleWhitespace("")
    return own, original_last.whitespace_after_arg


def _tree_node(expression: str) -> cst.Name | cst.Attribute:
    """`variables` or `self.variables` as a node."""
    owner, _, name = expression.rpartition(".")
    if owner:
        return cst.Attribute(value=cst.Name(owner), attr=cst.Name(name))
    return cst.Name(name)


def _leaves(expression: cst.BaseExpression) -> list[cst.BaseExpression]:
    if isinstance(expression, cst.IfExp):
        return _leaves(expression.body) + _leaves(expression.orelse)
    return [expression]


def _rewrite_unit(
    source: str, form: str, flagged: dict[int, CallSite], names: _Names, newline: str
) -> str:
    """Rewrite one unit's text: flagged maps the n-th matching call in it to its site."""
    config = cst.PartialParserConfig(default_newline=newline)
    renderer = cst.Module([], default_newline=newline)
    statement_unit = form != UnitForm.CALL
    try:
        node: cst.CSTNode = (
            cst.parse_statement(source, config)
            if statement_unit
            else cst.parse_expression(source, config)
        )
    except cst.ParserSyntaxError as exc:
        raise _Unfixable(f"libcst cannot parse this code ({exc.message})") from None
    finder = _CallFinder()
    node.visit(finder)
    report = form in (UnitForm.UNPACK, UnitForm.REPORT, UnitForm.RETURN_REPORT)
    flags: dict[int, _Flag] = {}
    for position, site in flagged.items():
        if position >= len(finder.calls):
            raise _Unfixable("the call could not be located for rewriting")
        call = finder.calls[position]
        earlier = names.trees.get(site.previous) if site.previous is not None else None
        flags[id(call)] = _Flag(report and site.form == form, earlier)
    first = next(iter(flagged.values()))
    if form == UnitForm.COPY:
        assert first.previous is not None
        return f"{names.tree(first)} = {names.trees[first.previous]}"
    if not statement_unit:
        new = node.visit(_CallRewriter(flags))
        assert isinstance(new, cst.CSTNode)
        return renderer.code_for_node(new)
    assert isinstance(node, cst.SimpleStatementLine)
    small = node.body[0]
    rewritten = small.visit(_CallRewriter(flags))
    assert isinstance(rewritten, cst.BaseSmallStatement)
    if form == UnitForm.RETURN:
        assert isinstance(rewritten, cst.Expr)
        return renderer.code_for_node(cst.Return(value=rewritten.value))
    variable = _tree_node(names.tree(first))
    if form == UnitForm.ASSIGN and isinstance(small, cst.Expr):
        leaves = _leaves(small.value)
        if all(isinstance(leaf, cst.Call) and id(leaf) in flags for leaf in leaves):
            assert isinstance(rewritten, cst.Expr)
            rewritten = cst.Assign(
                targets=[cst.AssignTarget(target=variable)], value=rewritten.value
            )
    elif form == UnitForm.UNPACK and isinstance(rewritten, cst.Assign):
        target = rewritten.targets[0].target
        if isinstance(target, cst.Tuple) and not target.lpar:
            target = target.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        pair = cst.Tuple([cst.Element(variable), cst.Element(target)], lpar=[], rpar=[])
        rewritten = rewritten.with_changes(targets=[rewritten.targets[0].with_changes(target=pair)])
    elif form == UnitForm.REPORT and isinstance(rewritten, cst.Assign):
        target = rewritten.targets[0].target
        pair = cst.Tuple([cst.Element(variable), cst.Element(target)], lpar=[], rpar=[])
        rewritten = rewritten.with_changes(targets=[rewritten.targets[0].with_changes(target=pair)])
    elif form == UnitForm.RETURN_REPORT and isinstance(rewritten, cst.Return):
        assert rewritten.value is not None
        pair = cst.Tuple(
            [cst.Element(variable), cst.Element(cst.Name(names.report))], lpar=[], rpar=[]
        )
        bind = cst.Assign(targets=[cst.AssignTarget(target=pair)], value=rewritten.value)
        return f"{renderer.code_for_node(bind)}{newline}{first.indent}return {names.report}"
    return renderer.code_for_node(rewritten)
