"""Source text -> findings: every ``load_state_dict`` call, what its receiver is, how it is used.

Fast by construction: a substring test rejects files without the name; otherwise one
``ast.parse`` and a walk restricted to the statements whose lines hold the name (pruned by line
ranges), so the cost beyond the parse does not grow with the file. No libcst here.
"""

from __future__ import annotations

import ast
import functools
import gc
import re
import threading
import warnings
from bisect import bisect_left
from collections import OrderedDict
from dataclasses import dataclass, replace

from switcheroo_lsp.engine.arguments import ArgForm, ArgInfo, plan_arguments
from switcheroo_lsp.engine.classify import Classifier, ScopeFacts
from switcheroo_lsp.engine.model import (
    CODE_CHECKPOINT,
    CODE_COPY,
    CODE_MATERIALIZE,
    CODE_NON_MODEL,
    Confidence,
    Finding,
    ReceiverKind,
    ScanResult,
    Span,
    Usage,
)
from switcheroo_lsp.engine.places import FunctionFacts, base_name, function_names, loop_names
from switcheroo_lsp.engine.preamble import HeadFacts, head_facts
from switcheroo_lsp.engine.suppress import find_suppressions
from switcheroo_lsp.engine.syntax import FUNCTIONS as _FUNCTIONS
from switcheroo_lsp.engine.syntax import dotted as _dotted
from switcheroo_lsp.engine.text import LineIndex

NAME = "load_state_dict"
REPORT_KEYWORD = "return_report"  # from_torch(..., return_report=True) -> (variables, report)


class UnitForm:
    """How the replacement unit of a call is rewritten."""

    CALL = "call"  # only the call expression is replaced
    ASSIGN = "assign"  # `m.load_state_dict(s)` statement -> `variables = KeyMapper.from_torch(s)`
    UNPACK = "unpack"  # `a, b = m.load...` -> `variables, (a, b) = KeyMapper.from_torch(..., return_report=True)`
    REPORT = "report"  # `msg = m.load...` -> `variables, msg = ...(..., return_report=True)`
    RETURN = "return"  # `param.load...` ending a function -> `return KeyMapper.from_torch(...)`
    RETURN_REPORT = "return-report"  # `return self.m.load...` -> `self.variables, report = ...`
    # + `return report`
    COPY = "copy"  # `dst.load_state_dict(src.state_dict())` -> `dst_variables = src_variables`


class Place:
    """Where the tree of a rewritten call lives (the receiver's own home)."""

    LOCAL = "local"  # a name of the scope that holds the receiver (module or function)
    SELF = "self"  # an attribute of `self`: the receiver lives on the object
    RETURN = "return"  # handed back to the caller, whose object the receiver is


@dataclass(frozen=True)
class CallSite:
    """A finding plus what the rewriter needs: the text unit it replaces and how."""

    finding: Finding
    unit_start: int
    unit_end: int
    form: str  # a UnitForm value
    top_start: int  # start of the top-level statement holding the call
    runs_at_import: bool  # the call is not inside a def/class body
    place: str = Place.LOCAL
    scope: int = 0  # start of the scope whose names the tree joins (the class for Place.SELF)
    flow: int = 0  # start of the function (or 0: the module) the call runs in
    receiver_key: str = ""  # the receiver's text without spaces
    block_path: tuple[tuple[int, str, int], ...] = ()  # (parent start, field, index) per level
    copy_of: str | None = None  # receiver key of `src` in `dst.load_state_dict(src.state_dict())`
    previous: int | None = None  # span start of the earlier load of the same receiver it updates
    # (for a copy: of the load that holds its source's tree)
    indent: str = ""  # the statement's indentation (for units that become two statements)
    conditional: bool = False  # inside a conditional expression: it may not run


def dominates(earlier: CallSite, later: CallSite) -> bool:
    """True when ``earlier``'s statement always runs before ``later``'s in the same function:
    it sits in a block that holds ``later`` (directly or nested), before it."""
    if earlier.flow != later.flow or not earlier.block_path:
        return False
    first, second = earlier.block_path, later.block_path
    level = len(first) - 1
    return (
        len(second) > level
        and first[:level] == second[:level]
        and first[level][:2] == second[level][:2]
        and first[level][2] < second[level][2]
    )


@dataclass(frozen=True)
class Analysis:
    """Everything computed from one text; cached so a quick fix after a scan costs no parse."""

    result: ScanResult
    sites: tuple[CallSite, ...] = ()
    all_calls: tuple[tuple[int, int], ...] = ()  # spans of every matching call, incl. skipped ones
    index: LineIndex | None = None
    head: HeadFacts | None = None
    names: frozenset[str] = frozenset()  # parameters and locals of the functions holding loads
    self_names: tuple[tuple[int, frozenset[str]], ...] = ()  # class start -> `self.` attributes
    runtime_span: tuple[int, int] = (0, 0)  # the inlined KeyMapper class, if the file has one


_CACHE: OrderedDict[str, Analysis] = OrderedDict()
_CACHE_SIZE = 8
_CACHE_LOCK = threading.Lock()  # the language server may scan from worker threads


def scan(text: str) -> ScanResult:
    """Find every ``load_state_dict`` call in ``text`` (model and non-model findings)."""
    return analyze(text).result


def analyze(text: str) -> Analysis:
    """Scan ``text``, reusing the result of an earlier scan of the same text."""
    if NAME not in text:
        return Analysis(ScanResult())
    with _CACHE_LOCK:
        cached = _CACHE.get(text)
        if cached is not None:
            _CACHE.move_to_end(text)
            return cached
    analysis = _analyze(text)
    with _CACHE_LOCK:
        _CACHE[text] = analysis
        if len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return analysis


@functools.lru_cache(maxsize=4)
def _runtime_supports_report(source: str) -> bool:
    """True when the runtime's ``KeyMapper.from_torch`` can return torch-like missing/unexpected keys."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "KeyMapper":
            for item in node.body:
                if isinstance(item, _FUNCTIONS) and item.name == "from_torch":
                    names = [a.arg for a in item.args.kwonlyargs + item.args.args]
                    return REPORT_KEYWORD in names
    return False


def runtime_supports_report() -> bool:
    """Whether rewrites may use ``KeyMapper.from_torch(..., return_report=True)``."""
    from switcheroo_lsp.runtime import keymapper_source

    return _runtime_supports_report(keymapper_source())


def _syntax_error(exc: SyntaxError) -> ScanResult:
    line = exc.lineno or 1
    message = exc.msg or "invalid syntax"
    return ScanResult(syntax_error=f"line {line}: {message}", syntax_error_line=max(line - 1, 0))


def _analyze(text: str) -> Analysis:
    # The tree holds no reference cycles; pausing the cyclic collector while hundreds of
    # thousands of nodes are allocated and walked saves it from repeatedly traversing them
    # (a third of the parse time). The tree is freed by reference counting on return.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _parse_and_analyze(text)
    finally:
        if collecting:
            gc.enable()


def parse_quietly(source: str) -> ast.Module:
    """``ast.parse`` without the compiler's warnings about the user's code: an invalid escape
    sequence is a SyntaxWarning printed to stderr on every scan from Python 3.12 (the editor's
    log, the CLI's output), and a SyntaxError under ``-W error``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(source)


def _parse_and_analyze(text: str) -> Analysis:
    try:
        tree = parse_quietly(text[1:] if text.startswith("\ufeff") else text)
    except SyntaxError as exc:
        return Analysis(_syntax_error(exc))
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, absurd nesting
        return Analysis(ScanResult(syntax_error=f"cannot parse: {exc}", syntax_error_line=0))
    index = LineIndex(text)
    lines = sorted({index.line_of(m.start()) + 1 for m in re.finditer(NAME, text)})
    try:
        return _analyze_tree(text, tree, index, lines)
    except RecursionError:
        return Analysis(
            ScanResult(syntax_error="the code is nested too deeply to analyze", syntax_error_line=0)
        )


def _analyze_tree(text: str, tree: ast.Module, index: LineIndex, lines: list[int]) -> Analysis:
    calls: list[tuple[ast.Call, tuple[ast.AST, ...]]] = []
    _collect(tree, lines, [tree], calls)
    if not calls:
        return Analysis(ScanResult(), index=index)
    context = _Context(text, index, tree)
    suppressions = find_suppressions(
        text, [line for call, path in calls for line in _noqa_lines(call, path)]
    )
    sites: list[CallSite] = []
    all_calls: list[tuple[int, int]] = []
    for call, path in calls:
        start = index.offset_from_ast(call.lineno, call.col_offset)
        end = index.offset_from_ast(call.end_lineno or call.lineno, call.end_col_offset or 0)
        all_calls.append((start, end))
        site = context.site(call, path, start, end)
        if site is not None and not suppressions.silences(
            site.finding.code, _noqa_lines(call, path)
        ):
            sites.append(site)
    sites.sort(key=lambda s: s.finding.span.start)
    sites = _link_loads(sites)
    result = ScanResult(findings=tuple(s.finding for s in sites))
    return Analysis(
        result,
        tuple(sites),
        tuple(sorted(all_calls)),
        index,
        head_facts(tree, index) if sites else None,
        function_names(context.function_facts_seen()),
        tuple(context.class_names.items()),
        _runtime_span(tree, context),
    )


def _runtime_span(tree: ast.Module, context: _Context) -> tuple[int, int]:
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "KeyMapper":
            return context.start(node), context.end(node)
    return (0, 0)


_RETURNED_REPORT = (
    "callers receive torch's (missing_keys, unexpected_keys) report from this return, and the "
    "tree would have no place they can reach: return both (`variables, report = "
    "KeyMapper.from_torch(..., return_report=True)`) and update the callers by hand"
)


def _fail(site: CallSite, reason: str) -> CallSite:
    return replace(site, finding=replace(site.finding, fixable=False, reason=reason))


def _short(key: str) -> str:
    """A readable tree name for a receiver in messages: `self.model.unet` -> `unet_variables`."""
    words = re.findall(r"\w+", key.removeprefix("self."))
    return "_".join([*(words or ["model"]), "variables"])


def _link_loads(sites: list[CallSite]) -> list[CallSite]:
    """Tie each load to the earlier load of the same receiver it updates (torch merges into the
    loaded model), and each copy to the load that holds its source's tree; no such load: no fix."""
    # the branches of one conditional expression are rewritten together or not at all
    blocked = {
        (s.flow, s.block_path)
        for s in sites
        if s.conditional and s.finding.kind is ReceiverKind.MODEL and not s.finding.fixable
    }
    sites = [
        _fail(
            s,
            "another branch of this conditional expression has no fix, and a half-rewritten "
            "expression would lose the tree: migrate it by hand",
        )
        if s.conditional and s.finding.fixable and (s.flow, s.block_path) in blocked
        else s
        for s in sites
    ]
    out: list[CallSite] = []
    for site in sites:
        finding = site.finding
        if not finding.fixable or finding.code not in (CODE_CHECKPOINT, CODE_COPY):
            out.append(site)
            continue
        earlier = [
            s
            for s in out
            if s.finding.code in (CODE_CHECKPOINT, CODE_COPY)
            and s.place != Place.RETURN
            and not s.conditional
            and dominates(s, site)
        ]
        if site.copy_of is not None:
            source = next((s for s in reversed(earlier) if s.receiver_key == site.copy_of), None)
            if source is None or not source.finding.fixable:
                dst, src = finding.receiver, site.copy_of
                site = _fail(
                    site,
                    f"`{dst}` copies the weights of the live model `{src}`: in JAX trees are "
                    f"values, so assign the tree that holds them (`{_short(dst)} = "
                    f"{_short(src)}`); no load of `{src}` before this call gives that tree here",
                )
            else:
                site = replace(site, previous=source.finding.span.start)
            out.append(site)
            continue
        before = next((s for s in reversed(earlier) if s.receiver_key == site.receiver_key), None)
        if before is not None:
            if before.finding.fixable:
                site = replace(site, previous=before.finding.span.start)
            else:
                site = _fail(
                    site,
                    f"this load updates `{finding.receiver}`, loaded on line "
                    f"{before.finding.line + 1} where no fix is made: migrate both loads by "
                    "hand (`KeyMapper.from_torch(state, target=<earlier tree>)` merges)",
                )
        out.append(site)
    return out


def _noqa_lines(call: ast.Call, path: tuple[ast.AST, ...]) -> tuple[int, ...]:
    """0-based lines where a ``# noqa`` silences ``call``: its first line and the first line of
    the statement holding it."""
    statement = next((node for node in reversed(path) if isinstance(node, ast.stmt)), None)
    first = call.lineno - 1
    return (first,) if statement is None else (first, statement.lineno - 1)


def is_target_call(node: ast.AST) -> bool:
    """A call of something named ``load_state_dict`` (an attribute or a bare name)."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (isinstance(func, ast.Attribute) and func.attr == NAME) or (
        isinstance(func, ast.Name) and func.id == NAME
    )


def _collect(
    node: ast.AST,
    lines: list[int],
    path: list[ast.AST],
    out: list[tuple[ast.Call, tuple[ast.AST, ...]]],
) -> None:
    """Depth-first, visiting only subtrees whose line range holds an occurrence of the name."""
    for child in ast.iter_child_nodes(node):
        lineno = getattr(child, "lineno", None)
        if lineno is not None:
            decorators = getattr(child, "decorator_list", None)
            if decorators:  # a def's line range starts at `def`, after its decorators
                lineno = decorators[0].lineno
            i = bisect_left(lines, lineno)
            if i == len(lines) or lines[i] > (child.end_lineno or lineno):  # type: ignore[attr-defined]
                continue
        path.append(child)
        if is_target_call(child):
            out.append((child, tuple(path)))  # type: ignore[arg-type]
        _collect(child, lines, path, out)
        path.pop()


class _Context:
    """Per-text state for classifying calls: scope facts are computed once per scope."""

    def __init__(self, text: str, index: LineIndex, tree: ast.Module) -> None:
        self.text = text
        self.index = index
        self.tree = tree
        self.classifier = Classifier(tree, self.segment)
        self._functions: dict[int, FunctionFacts] = {}
        self.class_names: dict[int, frozenset[str]] = {}  # class start -> its `self.` names

    def scope_facts(self, scope: ast.AST) -> ScopeFacts:
        """Names bound in one scope (computed once per scope, shared with the classifier)."""
        return self.classifier.scope_facts(scope)

    def start(self, node: ast.AST) -> int:
        """Offset where a node starts."""
        return self.index.offset_from_ast(
            getattr(node, "lineno", 1), getattr(node, "col_offset", 0)
        )

    def end(self, node: ast.AST) -> int:
        """Offset where a node ends."""
        return self.index.offset_from_ast(
            getattr(node, "end_lineno", None) or 1, getattr(node, "end_col_offset", None) or 0
        )

    def segment(self, node: ast.AST) -> str:
        """The source text of a node."""
        return self.text[self.start(node) : self.end(node)]

    def span(self, start: int, end: int) -> Span:
        return Span(start, end, self.index.position(start), self.index.position(end))

    # -- the receiver -----------------------------------------------------------------------

    def classify(
        self, call: ast.Call, path: tuple[ast.AST, ...], state: ast.AST | None
    ) -> tuple[ReceiverKind, str | None, Confidence, str]:
        """The receiver's kind, why no migration applies (non-models), how sure, and on what."""
        judgement = self.classifier.judge(call, path, state)
        return judgement.kind, judgement.reason, judgement.confidence, judgement.evidence

    # -- the call as a whole ----------------------------------------------------------------

    def site(
        self, call: ast.Call, path: tuple[ast.AST, ...], start: int, end: int
    ) -> CallSite | None:
        """A CallSite for a matching call, or None when it is not a migration site at all."""
        top = path[1] if len(path) > 1 else call
        if isinstance(top, ast.ClassDef) and top.name == "KeyMapper":
            return None  # the inlined runtime itself
        functions = [n for n in path if isinstance(n, _FUNCTIONS)]
        func = call.func
        if (
            functions
            and functions[-1].name == NAME
            and isinstance(func, ast.Attribute)
            and (
                (isinstance(func.value, ast.Call) and _dotted(func.value.func) == ["super"])
                or _dotted(func.value)[-1:] == ["Module"]
            )
        ):
            return None  # an override delegating to torch: `super().load_state_dict(...)`
        args = self._arg_infos(call)
        state = None
        for arg_node, info in zip(self._arg_nodes(call), args, strict=True):
            if info.form is ArgForm.POSITIONAL or info.keyword == "state_dict":
                state = arg_node
                break
        kind, why, confidence, evidence = self.classify(call, path, state)
        usage, holder = self._usage(call, path)
        receiver = self.segment(func.value) if isinstance(func, ast.Attribute) else ""
        keywords = tuple(
            (kw.arg, self.segment(kw.value)) for kw in call.keywords if kw.arg is not None
        )
        span = self.span(start, end)
        top_start = self.index.offset_from_ast(top.lineno, top.col_offset)  # type: ignore[attr-defined]
        runs_at_import = not any(isinstance(n, (*_FUNCTIONS, ast.Lambda)) for n in path)
        unit_start, unit_end, form = start, end, UnitForm.CALL
        reason: str | None = None
        note: str | None = None
        code = CODE_CHECKPOINT if kind is ReceiverKind.MODEL else CODE_NON_MODEL
        place, scope, flow = Place.LOCAL, 0, 0
        copy_of: str | None = None
        statement = next((n for n in reversed(path) if isinstance(n, ast.stmt)), None)
        if kind is ReceiverKind.MODEL:
            plan = plan_arguments(args)
            reason = plan.reason
            if isinstance(func, ast.Attribute) and _dotted(func.value)[-1:] == ["Module"]:
                reason = (
                    "called through the class (`nn.Module.load_state_dict(model, state)`): "
                    "rewrite it as `KeyMapper.from_torch(state)` by hand"
                )
            if reason is None and any(isinstance(n, ast.JoinedStr) for n in path):
                reason = "the call sits inside an f-string; rewrite it by hand"
            if reason is None and not self.text.startswith(")", end - 1):
                reason = "the call's position could not be mapped reliably"
            assign = self._assign_text(call)
            copy_of = self._copy_source(state)
            if copy_of is not None:
                code = CODE_COPY
                strict = next((i.text for i in args[1:] if i.keyword in ("strict", None)), "True")
                if strict != "True" and reason is None:
                    reason = (
                        f"`{self.segment(func.value)}` takes the matching weights of the live "  # type: ignore[attr-defined]
                        f"model `{copy_of}` (strict={strict}): in JAX, pick those leaves from "
                        f"`{copy_of}`'s tree into this model's tree by hand"
                    )
            elif isinstance(state, ast.Dict) and assign not in (None, "False"):
                code = CODE_MATERIALIZE
                reason = (
                    "it builds the layer from tensors computed here (`assign=True`, often after "
                    '`with torch.device("meta")`): not a checkpoint load. In Flax, put these '
                    "arrays into the layer's params by hand (Linear weights transposed to `kernel`)"
                )
            elif assign not in (None, "False"):
                note = (
                    f"`assign={assign}` is dropped: JAX arrays are values, the tree holds the "
                    "checkpoint's own arrays as assign=True's tensors would"
                )
            needs_report = False
            if reason is None:
                place, scope, flow, reason = self._place(func.value, path, usage, statement)  # type: ignore[attr-defined]
                if reason is not None and usage is Usage.RETURNED:
                    reason = _RETURNED_REPORT
                elif reason is not None and copy_of is not None:
                    dst = self.segment(func.value)  # type: ignore[attr-defined]
                    reason = (
                        f"`{dst}` copies the weights of the live model `{copy_of}`: in JAX trees "
                        f"are values, so assign the tree that holds them (`{_short(dst)} = "
                        f"{_short(copy_of)}`) where `{dst}`'s tree is used; here {reason}"
                    )
            if reason is None and copy_of is not None and usage is not Usage.STATEMENT:
                reason = "the copy's value (torch's missing/unexpected report) is used"
            if (
                reason is None
                and copy_of is not None
                and any(isinstance(n, ast.IfExp) for n in path)
            ):
                reason = (
                    "the copy happens only on one side of a conditional expression: write it "
                    "as an `if` statement (`target_variables = source_variables`) by hand"
                )
            if reason is None and copy_of is not None and place == Place.RETURN:
                reason = (
                    f"`{self.segment(func.value)}` is the caller's model: return the tree of "  # type: ignore[attr-defined]
                    f"`{copy_of}` to the caller by hand (in JAX trees are values)"
                )
            if reason is None:
                if usage is Usage.STATEMENT:
                    if copy_of is not None:
                        form = UnitForm.COPY
                    else:
                        form = UnitForm.RETURN if place == Place.RETURN else UnitForm.ASSIGN
                    if len(self._leaf_receivers(call, path)) > 1:
                        reason = (
                            "the expression loads different models depending on its condition: "
                            "write it as an `if` statement so each tree gets its own name"
                        )
                elif usage is Usage.UNPACKED:
                    targets = holder.targets  # type: ignore[union-attr]
                    if (
                        len(targets) != 1
                        or not isinstance(targets[0], ast.Tuple | ast.List)
                        or len(targets[0].elts) != 2
                        or any(isinstance(e, ast.Starred) for e in targets[0].elts)
                        or holder.value is not call  # type: ignore[union-attr]
                    ):
                        reason = (
                            "the result is unpacked in a way KeyMapper.from_torch cannot mirror "
                            "(torch returns (missing_keys, unexpected_keys))"
                        )
                    else:
                        form = UnitForm.UNPACK
                        needs_report = True
                elif usage is Usage.ASSIGNED:
                    if (
                        isinstance(holder, ast.Assign)
                        and holder.value is call
                        and len(holder.targets) == 1
                        and isinstance(holder.targets[0], ast.Name | ast.Attribute)
                    ):
                        form = UnitForm.REPORT
                        needs_report = True
                    else:
                        reason = (
                            "torch's (missing_keys, unexpected_keys) report is bound in a way "
                            "the rewrite cannot mirror: bind `variables, report = "
                            "KeyMapper.from_torch(..., return_report=True)` by hand"
                        )
                elif usage is Usage.RETURNED:
                    if place == Place.SELF and self._starts_line(statement):
                        form = UnitForm.RETURN_REPORT
                        needs_report = True
                    else:
                        reason = _RETURNED_REPORT
                elif usage is Usage.ATTRIBUTE:
                    reason = (
                        "the call's result (torch's missing/unexpected keys) is read directly; "
                        "bind `variables, report = KeyMapper.from_torch(..., return_report=True)` by hand"
                    )
                elif isinstance(path[-2], ast.Subscript):
                    reason = "the call's result (torch's missing/unexpected keys) is indexed"
                else:
                    reason = (
                        "the call's value (torch's missing/unexpected report) is used inside a "
                        "larger expression, where the tree would be lost: bind `variables, report "
                        "= KeyMapper.from_torch(..., return_report=True)` on a line of its own"
                    )
            if needs_report and not runtime_supports_report():
                reason = (
                    "the code reads torch's (missing_keys, unexpected_keys) result and this "
                    "KeyMapper offers no such report"
                )
            if reason is None and form != UnitForm.CALL:
                assert holder is not None
                unit_start, unit_end = self.start(holder), self.end(holder)
        else:
            reason = why
        finding = Finding(
            span=span,
            receiver=receiver,
            kind=kind,
            state=self.segment(state) if state is not None else None,
            keywords=keywords,
            usage=usage,
            fixable=kind is ReceiverKind.MODEL and reason is None,
            reason=reason,
            code=code,
            note=note,
            confidence=confidence,
            evidence=evidence,
        )
        indent = ""
        if statement is not None:
            line_start = self.index.starts[statement.lineno - 1]
            indent = self.text[line_start : self.start(statement)]
        return CallSite(
            finding,
            unit_start,
            unit_end,
            form,
            top_start,
            runs_at_import,
            place=place,
            scope=scope,
            flow=flow,
            receiver_key=re.sub(r"\s+", "", receiver),
            block_path=self._block_path(path, flow),
            copy_of=copy_of,
            indent=indent if not indent.strip() else "",
            conditional=any(isinstance(n, ast.IfExp) for n in path),
        )

    # -- where the tree goes ----------------------------------------------------------------

    def function_facts_seen(self) -> list[FunctionFacts]:
        """The facts of every function holding a load (computed while placing trees)."""
        return list(self._functions.values())

    def function_facts(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> FunctionFacts:
        facts = self._functions.get(id(function))
        if facts is None:
            facts = self._functions[id(function)] = FunctionFacts(function)
        return facts

    def _place(
        self,
        receiver: ast.AST,
        path: tuple[ast.AST, ...],
        usage: Usage,
        statement: ast.stmt | None,
    ) -> tuple[str, int, int, str | None]:
        """(place, naming scope, flow scope, reason): the receiver's home decides the tree's."""
        root = base_name(receiver)
        shown = self.segment(receiver)
        # (a decorator or a default runs where the def statement is, not in its function)
        functions = [n for n in path if isinstance(n, _FUNCTIONS) and n is not statement]
        function = functions[-1] if functions else None
        flow = self.start(function) if function is not None else 0
        if function is not None:
            self.function_facts(function)  # (its names are taken: a new tree name avoids them)
        inner = path[path.index(function) + 1 :] if function is not None else path
        for node in inner:
            if isinstance(node, ast.For | ast.AsyncFor) and root in loop_names(node.target):
                return (
                    Place.LOCAL,
                    0,
                    flow,
                    (
                        f"`{root}` is a loop variable: one tree per iteration would overwrite the "
                        f"last one; collect them by hand (e.g. `trees[...] = KeyMapper.from_torch(...)`)"
                    ),
                )
        classes = [n for n in path if isinstance(n, ast.ClassDef)]
        if root == "self" and function is not None and classes:
            cls = classes[-1]
            scope = self.start(cls)
            if scope not in self.class_names:
                self.class_names[scope] = self._self_names(cls)
            return Place.SELF, scope, flow, None
        if function is None or root is None:
            return Place.LOCAL, flow, flow, None
        facts = self.function_facts(function)
        name = function.name
        if facts.is_local(root):
            if facts.returns_name(root):
                return (
                    Place.LOCAL,
                    flow,
                    flow,
                    (
                        f"`{name}` returns `{root}`, and the tree would stay behind in a local of "
                        f"`{name}`: return it too (e.g. `return {root}, variables`) and update the "
                        "callers by hand"
                    ),
                )
            return Place.LOCAL, flow, flow, None
        outside = f"`{root}` comes from outside `{name}` (a parameter or a global)"
        if usage is Usage.STATEMENT and not facts.returned and not facts.generator:
            if statement is not None and function.body[-1] is statement:
                return Place.RETURN, flow, flow, None
            return (
                Place.LOCAL,
                flow,
                flow,
                (
                    f"{outside}: a local tree would die when `{name}` returns. Return the tree to "
                    f"the caller (`return KeyMapper.from_torch(...)`, as the fix does when the load "
                    f"ends the function) or keep it where the caller reaches it; `{shown}` itself "
                    "gets no weights in JAX"
                ),
            )
        if usage is Usage.STATEMENT:
            return (
                Place.LOCAL,
                flow,
                flow,
                (
                    f"{outside} and `{name}` returns a value: a local tree would die there; return "
                    "the tree to the caller too (e.g. `return ..., variables`) by hand"
                ),
            )
        return (
            Place.LOCAL,
            flow,
            flow,
            (
                f"{outside}: a local tree would die when `{name}` returns; return it to the caller "
                "by hand"
            ),
        )

    def _self_names(self, cls: ast.ClassDef) -> frozenset[str]:
        """Attributes a class assigns on `self`, and the names its body defines (methods): a
        tree kept on `self` takes none of them (reads alone are code written for the tree)."""
        names = {
            node.attr
            for node in ast.walk(cls)
            if isinstance(node, ast.Attribute)
            and not isinstance(node.ctx, ast.Load)
            and isinstance(node.value, ast.Name)
            and node.value.id == "self"
        }
        for item in cls.body:
            if isinstance(item, (*_FUNCTIONS, ast.ClassDef)):
                names.add(item.name)
            elif isinstance(item, ast.Assign | ast.AnnAssign):
                targets = item.targets if isinstance(item, ast.Assign) else [item.target]
                names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        return frozenset(names)

    def _block_path(self, path: tuple[ast.AST, ...], flow: int) -> tuple[tuple[int, str, int], ...]:
        """Where the call's statement sits: (parent start, field, index) from the flow scope down."""
        start = 0
        for i, node in enumerate(path):
            if isinstance(node, _FUNCTIONS) and self.start(node) == flow:
                start = i
        levels: list[tuple[int, str, int]] = []
        for parent, node in zip(path[start:], path[start + 1 :], strict=False):
            if not isinstance(node, ast.stmt | ast.excepthandler | ast.match_case):
                break
            for field, value in ast.iter_fields(parent):
                if isinstance(value, list):
                    position = next((j for j, v in enumerate(value) if v is node), None)
                    if position is not None:
                        levels.append((self.start(parent), field, position))
                        break
        return tuple(levels)

    def _starts_line(self, statement: ast.stmt | None) -> bool:
        if statement is None:
            return False
        line_start = self.index.starts[statement.lineno - 1]
        return not self.text[line_start : self.start(statement)].strip()

    def _copy_source(self, state: ast.AST | None) -> str | None:
        """`src` in `src.state_dict()` or `copy.deepcopy(src.state_dict())`: a live model's weights."""
        if isinstance(state, ast.Call) and _dotted(state.func)[-1:] == ["deepcopy"] and state.args:
            state = state.args[0]
        if (
            isinstance(state, ast.Call)
            and isinstance(state.func, ast.Attribute)
            and state.func.attr == "state_dict"
            and not state.args
            and not state.keywords
        ):
            return re.sub(r"\s+", "", self.segment(state.func.value))
        return None

    def _assign_text(self, call: ast.Call) -> str | None:
        """The source of the call's assign= flag (keyword or third positional), if given."""
        for keyword in call.keywords:
            if keyword.arg == "assign":
                return self.segment(keyword.value)
        if len(call.args) >= 3 and not any(isinstance(a, ast.Starred) for a in call.args):
            return self.segment(call.args[2])
        return None

    def _leaf_receivers(self, call: ast.Call, path: tuple[ast.AST, ...]) -> set[str]:
        """Receivers of the loads a conditional expression statement chooses between."""
        node: ast.AST = call
        i = len(path) - 2
        while i >= 0 and isinstance(path[i], ast.IfExp):
            node = path[i]
            i -= 1
        keys = set()
        stack = [node]
        while stack:
            current = stack.pop()
            if isinstance(current, ast.IfExp):
                stack += [current.body, current.orelse]
            elif is_target_call(current) and isinstance(current.func, ast.Attribute):  # type: ignore[attr-defined]
                keys.add(re.sub(r"\s+", "", self.segment(current.func.value)))  # type: ignore[attr-defined]
        return keys

    def _arg_nodes(self, call: ast.Call) -> list[ast.AST]:
        nodes: list[ast.AST] = [*call.args, *call.keywords]
        nodes.sort(key=lambda n: (n.lineno, n.col_offset))  # type: ignore[attr-defined]
        return nodes

    def _arg_infos(self, call: ast.Call) -> list[ArgInfo]:
        infos = []
        for node in self._arg_nodes(call):
            if isinstance(node, ast.Starred):
                infos.append(ArgInfo(ArgForm.STAR, text=self.segment(node.value)))
            elif isinstance(node, ast.keyword):
                if node.arg is None:
                    infos.append(ArgInfo(ArgForm.DOUBLE_STAR, text=self.segment(node.value)))
                else:
                    infos.append(ArgInfo(ArgForm.KEYWORD, node.arg, self.segment(node.value)))
            else:
                is_bool = isinstance(node, ast.Constant) and isinstance(node.value, bool)
                infos.append(ArgInfo(ArgForm.POSITIONAL, None, self.segment(node), is_bool))
        return infos

    def _usage(self, call: ast.Call, path: tuple[ast.AST, ...]) -> tuple[Usage, ast.AST | None]:
        """How the call's value is used, and the statement/node that uses it."""
        node: ast.AST = call
        i = len(path) - 2
        while i >= 0 and isinstance(path[i], ast.IfExp) and path[i].test is not node:  # type: ignore[attr-defined]
            node = path[i]
            i -= 1
        parent = path[i] if i >= 0 else None
        if isinstance(parent, ast.Expr):
            return Usage.STATEMENT, parent
        if isinstance(parent, ast.Assign) and parent.value is node:
            if any(isinstance(t, ast.Tuple | ast.List) for t in parent.targets):
                return Usage.UNPACKED, parent
            return Usage.ASSIGNED, parent
        if isinstance(parent, ast.AnnAssign | ast.AugAssign | ast.NamedExpr):
            return Usage.ASSIGNED, parent
        if isinstance(parent, ast.Return):
            return Usage.RETURNED, parent
        if isinstance(parent, ast.Attribute) and node is call:
            return Usage.ATTRIBUTE, parent
        return Usage.EXPRESSION, parent
