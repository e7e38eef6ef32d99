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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from switcheroo_lsp.engine.arguments import ArgForm, ArgInfo, plan_arguments
from switcheroo_lsp.engine.classify import (
    LIBRARY_ROOTS,
    MODULE_NAMES,
    REASONS,
    kind_of_words,
)
from switcheroo_lsp.engine.model import (
    CODE_CHECKPOINT,
    CODE_NON_MODEL,
    Finding,
    ReceiverKind,
    ScanResult,
    Span,
    Usage,
)
from switcheroo_lsp.engine.preamble import HeadFacts, head_facts
from switcheroo_lsp.engine.suppress import find_suppressions
from switcheroo_lsp.engine.text import LineIndex

NAME = "load_state_dict"
REPORT_KEYWORD = "return_report"  # from_torch(..., return_report=True) -> (variables, report)

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.Module)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


class UnitForm:
    """How the replacement unit of a call is rewritten."""

    CALL = "call"  # only the call expression is replaced
    ASSIGN = "assign"  # `m.load_state_dict(s)` statement -> `variables = KeyMapper.from_torch(s)`
    UNPACK = "unpack"  # `a, b = m.load...` -> `variables, (a, b) = KeyMapper.from_torch(..., return_report=True)`
    REPORT = "report"  # `msg = m.load...` (msg read as a report later) -> `variables, msg = ...`


@dataclass(frozen=True)
class CallSite:
    """A finding plus what the rewriter needs: the text unit it replaces and how."""

    finding: Finding
    unit_start: int
    unit_end: int
    form: str  # a UnitForm value
    top_start: int  # start of the top-level statement holding the call
    runs_at_import: bool  # the call is not inside a def/class body


@dataclass(frozen=True)
class Analysis:
    """Everything computed from one text; cached so a quick fix after a scan costs no parse."""

    result: ScanResult
    sites: tuple[CallSite, ...] = ()
    all_calls: tuple[tuple[int, int], ...] = ()  # spans of every matching call, incl. skipped ones
    index: LineIndex | None = None
    head: HeadFacts | None = None


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
    result = ScanResult(findings=tuple(s.finding for s in sites))
    return Analysis(
        result,
        tuple(sites),
        tuple(sorted(all_calls)),
        index,
        head_facts(tree, index) if sites else None,
    )


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


def _dotted(node: ast.AST) -> list[str]:
    """Names along a receiver expression, outermost first: `self.opt[0]` -> self, opt."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        return [*_dotted(node.value), node.attr]
    if isinstance(node, ast.Subscript):
        names = _dotted(node.value)
        if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
            names.append(node.slice.value)
        return names
    if isinstance(node, ast.Call):
        inner = _dotted(node.args[0]) if node.args else []
        return [*inner, *_dotted(node.func)]
    if isinstance(node, ast.Starred | ast.Await):
        return _dotted(node.value)
    return []


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _statement_nodes(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements of a scope, nested blocks included, nested defs and classes excluded."""
    stack = list(reversed(body))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (*_FUNCTIONS, ast.ClassDef)):
            continue
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if block:
                stack.extend(reversed(block))
        for handler in getattr(node, "handlers", ()):
            stack.extend(reversed(handler.body))
        for case in getattr(node, "cases", ()):
            stack.extend(reversed(case.body))


class _ScopeFacts:
    """Names bound in one scope: assignments (target text -> values) and imports."""

    def __init__(self, body: list[ast.stmt]) -> None:
        self.assigned: dict[str, list[tuple[int, ast.AST]]] = {}
        self.imported: dict[str, tuple[str, bool]] = {}  # name -> (module path, plain import)
        for node in _statement_nodes(body):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    self._bind(target, node.value, node.lineno)
            elif isinstance(node, ast.AnnAssign):
                self._bind(node.target, node.value or node.annotation, node.lineno)
            elif isinstance(node, ast.With | ast.AsyncWith):
                for item in node.items:
                    if item.optional_vars is not None:
                        self._bind(item.optional_vars, item.context_expr, node.lineno)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    bound = alias.asname or alias.name.split(".")[0]
                    self.imported[bound] = (alias.name if alias.asname else bound, True)
            elif isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    module = f"{'.' * node.level}{node.module or ''}.{alias.name}"
                    self.imported[alias.asname or alias.name] = (module, False)

    def _bind(self, target: ast.AST, value: ast.AST, line: int) -> None:
        if isinstance(target, ast.Name | ast.Attribute):
            key = ast.unparse(target) if isinstance(target, ast.Attribute) else target.id
            self.assigned.setdefault(key, []).append((line, value))
        elif (
            isinstance(target, ast.Tuple | ast.List)
            and isinstance(value, ast.Tuple | ast.List)
            and len(value.elts) == len(target.elts)
        ):
            for sub_target, sub_value in zip(target.elts, value.elts, strict=True):
                self._bind(sub_target, sub_value, line)

    def value_of(self, name: str, line: int) -> ast.AST | None:
        """The value last assigned to ``name`` before ``line`` (else the first one after)."""
        values = self.assigned.get(name)
        if not values:
            return None
        before = [v for ln, v in values if ln <= line]
        return before[-1] if before else values[0][1]


def _value_kind(value: ast.AST | None) -> ReceiverKind | None:
    """The kind an assigned value or annotation points at: `torch.optim.AdamW(...)` -> optimizer."""
    if value is None:
        return None
    if isinstance(value, ast.Call):
        return kind_of_words(_dotted(value.func)) or kind_of_words(
            n for arg in value.args[:1] for n in _dotted(arg)
        )
    if isinstance(value, ast.Subscript):  # Optional[Optimizer], list[Optimizer], optimizers[0]
        return kind_of_words(_dotted(value.value)) or _value_kind(value.slice)
    if isinstance(value, ast.BinOp):  # `Optimizer | None`
        return _value_kind(value.left) or _value_kind(value.right)
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return kind_of_words(re.findall(r"\w+", value.value))
    return kind_of_words(_dotted(value))


def _state_kind(node: ast.AST | None) -> ReceiverKind | None:
    """What a state argument says it holds: `ckpt["optimizer"]` -> optimizer."""
    if node is None:
        return None
    names: list[str] = []
    current = node
    while True:
        if isinstance(current, ast.Subscript):
            if isinstance(current.slice, ast.Constant) and isinstance(current.slice.value, str):
                names.insert(0, current.slice.value)
            current = current.value
        elif isinstance(current, ast.Call):
            func = current.func
            if (
                isinstance(func, ast.Attribute)
                and func.attr in ("get", "pop")
                and current.args
                and isinstance(current.args[0], ast.Constant)
                and isinstance(current.args[0].value, str)
            ):
                names.insert(0, current.args[0].value)
                current = func.value
            else:
                break
        elif isinstance(current, ast.Attribute):
            names.insert(0, current.attr)
            current = current.value
        elif isinstance(current, ast.Name):
            names.insert(0, current.id)
            break
        else:
            break
    return kind_of_words(names)


class _Context:
    """Per-text state for classifying calls: scope facts are computed once per scope."""

    def __init__(self, text: str, index: LineIndex, tree: ast.Module) -> None:
        self.text = text
        self.index = index
        self.tree = tree
        self._scopes: dict[int, _ScopeFacts] = {}

    def scope_facts(self, scope: ast.AST) -> _ScopeFacts:
        facts = self._scopes.get(id(scope))
        if facts is None:
            body = [] if isinstance(scope, ast.Lambda) else scope.body  # type: ignore[attr-defined]
            facts = _ScopeFacts(body)
            self._scopes[id(scope)] = facts
        return facts

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
    ) -> tuple[ReceiverKind, str | None]:
        """The receiver's kind and, for non-models, why it needs no migration."""
        func = call.func
        if isinstance(func, ast.Name):
            return ReceiverKind.MODULE_FUNCTION, (
                "`load_state_dict(...)` called as a bare function is a library helper "
                "(it returns a dict), not a model's method"
            )
        receiver = func.value  # type: ignore[attr-defined]
        scopes = [node for node in path[:-1] if isinstance(node, _SCOPES)]
        line = call.lineno
        root = _root_name(receiver)
        if _dotted(receiver)[-1:] == ["Module"]:  # nn.Module.load_state_dict(model, sd)
            return ReceiverKind.MODEL, None
        # a name bound by an import: dist_cp.load_state_dict(...), amp.load_state_dict(...)
        if root is not None and root != "self":
            for scope in reversed(scopes):
                facts = self.scope_facts(scope)
                if root in facts.assigned:
                    break
                if root in facts.imported:
                    module, plain = facts.imported[root]
                    top = module.lstrip(".").split(".")[0]
                    if plain or root in MODULE_NAMES or top in LIBRARY_ROOTS:
                        return ReceiverKind.MODULE_FUNCTION, (
                            f"`{self.segment(receiver)}` is the imported module `{module}`: "
                            "its load_state_dict is a library function, not a model's method"
                        )
                    break
        names = _dotted(receiver)
        kind = kind_of_words(names)
        evidence = f"`{self.segment(receiver)}`"
        if kind is None and root is not None:
            kind, evidence = self._kind_from_bindings(receiver, root, path, scopes, line)
        self_like = bool(names) and names[-1] in ("self", "super")
        if kind is None and isinstance(receiver, ast.Name | ast.Call) and self_like:
            kind = self._kind_of_enclosing_class(path)
            evidence = "the enclosing class"
        if kind is None:
            kind = _state_kind(state)
            evidence = (
                f"`{self.segment(receiver)}` (given `{self.segment(state)}`)" if state else ""
            )
        if kind is None or kind is ReceiverKind.MODEL:
            return ReceiverKind.MODEL, None
        noun, why = REASONS[kind]
        return kind, f"{evidence} is {noun}; {why}"

    def _kind_from_bindings(
        self,
        receiver: ast.AST,
        root: str,
        path: tuple[ast.AST, ...],
        scopes: Sequence[ast.AST],
        line: int,
    ) -> tuple[ReceiverKind | None, str]:
        key = root if isinstance(receiver, ast.Name) else None
        if isinstance(receiver, ast.Attribute) and _root_name(receiver) == "self":
            key = ast.unparse(receiver)
            classes = [n for n in path if isinstance(n, ast.ClassDef)]
            if classes:
                for method in classes[-1].body:
                    if isinstance(method, _FUNCTIONS):
                        value = self.scope_facts(method).value_of(key, line)
                        kind = _value_kind(value)
                        if kind is not None:
                            return kind, f"`{key}` (assigned `{ast.unparse(value)[:60]}`)"  # type: ignore[arg-type]
            return None, ""
        if key is None:
            return None, ""
        for scope in reversed(scopes):
            value = self.scope_facts(scope).value_of(key, line)
            if value is not None:
                kind = _value_kind(value)
                return kind, f"`{key}` (assigned `{ast.unparse(value)[:60]}`)"
            if isinstance(scope, _FUNCTIONS):
                args = scope.args
                for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
                    if arg.arg == key and arg.annotation is not None:
                        kind = _value_kind(arg.annotation)
                        return kind, f"`{key}` (annotated `{ast.unparse(arg.annotation)}`)"
        # a loop variable: for opt in optimizers / for o, s in zip(self.optimizers, states)
        for node in reversed(path):
            if isinstance(node, ast.For | ast.comprehension):
                source = self._loop_source(node.target, node.iter, key)
                if source is not None:
                    kind = _value_kind(source)
                    if kind is not None:
                        return kind, f"`{key}` (iterating over `{ast.unparse(source)[:60]}`)"
        return None, ""

    def _loop_source(self, target: ast.AST, iterable: ast.AST, name: str) -> ast.AST | None:
        if isinstance(target, ast.Name):
            if target.id != name:
                return None
            if (
                isinstance(iterable, ast.Call)
                and isinstance(iterable.func, ast.Attribute)
                and iterable.func.attr in ("values", "items")
            ):
                return iterable.func.value
            return iterable
        if isinstance(target, ast.Tuple) and isinstance(iterable, ast.Call):
            func = iterable.func
            func_name = func.id if isinstance(func, ast.Name) else ""
            for position, element in enumerate(target.elts):
                if func_name == "zip" and position < len(iterable.args):
                    found = self._loop_source(element, iterable.args[position], name)
                elif func_name == "enumerate" and position == 1 and iterable.args:
                    found = self._loop_source(element, iterable.args[0], name)
                elif (
                    isinstance(func, ast.Attribute)
                    and func.attr == "items"
                    and position == 1
                    and isinstance(element, ast.Name)
                    and element.id == name
                ):
                    found = func.value
                else:
                    found = None
                if found is not None:
                    return found
        return None

    def _kind_of_enclosing_class(self, path: tuple[ast.AST, ...]) -> ReceiverKind | None:
        for node in reversed(path):
            if isinstance(node, ast.ClassDef):
                kind = kind_of_words([node.name])
                if kind is None:
                    for base in node.bases:
                        kind = kind_of_words(_dotted(base))
                        if kind is not None:
                            break
                return kind
        return None

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
        kind, why = self.classify(call, path, state)
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
            needs_report = False
            if reason is None:
                if usage is Usage.STATEMENT:
                    form = UnitForm.ASSIGN
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
                elif usage is Usage.ASSIGNED and self._read_as_report(holder, path):
                    form = UnitForm.REPORT
                    needs_report = True
                elif usage is Usage.ATTRIBUTE:
                    reason = (
                        "the call's result (torch's missing/unexpected keys) is read directly; "
                        "bind `variables, report = KeyMapper.from_torch(..., return_report=True)` by hand"
                    )
                elif usage is Usage.EXPRESSION and isinstance(path[-2], ast.Subscript):
                    reason = "the call's result (torch's missing/unexpected keys) is indexed"
            if needs_report and not runtime_supports_report():
                reason = (
                    "the code reads torch's (missing_keys, unexpected_keys) result and this "
                    "KeyMapper offers no such report"
                )
            if reason is None and form in (UnitForm.ASSIGN, UnitForm.UNPACK, UnitForm.REPORT):
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
            code=CODE_CHECKPOINT if kind is ReceiverKind.MODEL else CODE_NON_MODEL,
        )
        return CallSite(finding, unit_start, unit_end, form, top_start, runs_at_import)

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

    def _read_as_report(self, holder: ast.AST | None, path: tuple[ast.AST, ...]) -> bool:
        """`msg = m.load_state_dict(sd)` where `msg` is read later in the same scope: torch's
        value is its (missing_keys, unexpected_keys) report, so any later read relies on it."""
        if not isinstance(holder, ast.Assign) or holder.value is not path[-1]:
            return False
        if len(holder.targets) != 1 or not isinstance(holder.targets[0], ast.Name):
            return False
        name = holder.targets[0].id
        scope = next((n for n in reversed(path) if isinstance(n, _SCOPES)), self.tree)
        start = self.end(holder)
        end = self.end(scope) if not isinstance(scope, ast.Module) else len(self.text)
        if re.compile(rf"(?<![\w.]){re.escape(name)}\b").search(self.text, start, end) is None:
            return False  # cheap: the name does not even appear further down
        after = (holder.end_lineno or holder.lineno, holder.end_col_offset or 0)
        stack: list[ast.AST] = [scope]
        while stack:
            node = stack.pop()
            if (
                isinstance(node, ast.Name)
                and node.id == name
                and isinstance(node.ctx, ast.Load)
                and (node.lineno, node.col_offset) >= after
            ):
                return True
            for child in ast.iter_child_nodes(node):
                if (
                    child is scope
                    or not isinstance(child, _SCOPES)
                    or isinstance(child, ast.Lambda)
                ):
                    stack.append(child)
        return False
