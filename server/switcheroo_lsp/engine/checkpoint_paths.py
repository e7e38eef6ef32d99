"""Where a source text names a checkpoint file: string literals and the loads that read them.

The preview (hover, code lens) needs to know which file a ``load_state_dict(...)`` or
``KeyMapper.from_torch(...)`` call reads, without running the program: only literals count,
followed through ``torch.load(...)``, ``Path(...) / "..."``, ``os.path.join(...)``, subscripts
(``checkpoint["model"]``) and simple assignments in the same scope. Pure: text in, references out.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from switcheroo_lsp.engine.syntax import SCOPES, statement_nodes
from switcheroo_lsp.engine.text import LineIndex

# File names a checkpoint has: safetensors (single or the index of a sharded one) and torch's.
CHECKPOINT_SUFFIXES = (
    ".safetensors",
    ".safetensors.index.json",
    ".bin.index.json",
    ".pt",
    ".pth",
    ".bin",
    ".ckpt",
)
PATH_CONSTRUCTORS = frozenset({"Path", "PurePath", "PosixPath", "WindowsPath"})
LOAD_METHODS = frozenset({"load_state_dict"})
MAX_HOPS = 8  # name -> assignment -> name ...: a chain longer than this is not followed


@dataclass(frozen=True)
class CheckpointRef:
    """A checkpoint named in the text: ``start``/``end`` (code points) cover the literal or the
    call; ``path`` is as written (joined with ``/``); ``keys`` index into what the file holds
    (``checkpoint["model"]`` -> ``("model",)``); ``call`` is the method of a load
    (``load_state_dict`` or ``from_torch``), ``""`` for a bare literal."""

    start: int
    end: int
    path: str
    keys: tuple[str, ...] = ()
    call: str = ""


def is_checkpoint_name(name: str) -> bool:
    """True for a file name with a checkpoint's suffix."""
    return name.lower().endswith(CHECKPOINT_SUFFIXES)


def checkpoint_refs(text: str) -> tuple[CheckpointRef, ...]:
    """Every checkpoint literal and every load call whose checkpoint is a literal, in text
    order. A text that does not parse has none."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ()
    finder = _Finder(LineIndex(text))
    finder.visit_scope(tree, ())
    return tuple(sorted(finder.refs, key=lambda ref: (ref.start, ref.end)))


def ref_at(refs: tuple[CheckpointRef, ...], offset: int) -> CheckpointRef | None:
    """The innermost reference covering ``offset`` (a literal inside a call wins)."""
    covering = [ref for ref in refs if ref.start <= offset <= ref.end]
    return min(covering, key=lambda ref: ref.end - ref.start, default=None)


class _Finder:
    """One pass over the scopes of a module, collecting references."""

    def __init__(self, index: LineIndex) -> None:
        self.index = index
        self.refs: list[CheckpointRef] = []
        self.seen_literals: set[tuple[int, int]] = set()

    def span(self, node: ast.expr) -> tuple[int, int]:
        start = self.index.offset_from_ast(node.lineno, node.col_offset)
        end_line, end_col = node.end_lineno or node.lineno, node.end_col_offset or 0
        return start, self.index.offset_from_ast(end_line, end_col)

    def visit_scope(
        self, scope: ast.AST, enclosing: tuple[dict[str, list[ast.Assign]], ...]
    ) -> None:
        """Collect the scope's assignments, then its calls and literals; recurse into nested
        scopes with this one's assignments as a fallback for names it does not bind."""
        body = getattr(scope, "body", [])
        if not isinstance(body, list):  # a lambda's body is an expression
            return
        assignments: dict[str, list[ast.Assign]] = {}
        statements = list(statement_nodes(body))
        for statement in statements:
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                target = statement.targets[0]
                if isinstance(target, ast.Name):
                    assignments.setdefault(target.id, []).append(statement)
        names = (assignments, *enclosing)
        for statement in statements:
            if isinstance(statement, SCOPES):
                self.visit_scope(statement, names)
                continue
            for node in _expressions(statement):
                self.visit_expression(node, names)

    def visit_expression(
        self, node: ast.expr, names: tuple[dict[str, list[ast.Assign]], ...]
    ) -> None:
        method = _load_method(node)
        if method and isinstance(node, ast.Call) and node.args:
            found = self.follow(node.args[0], names, node.lineno, MAX_HOPS)
            if found is not None:
                start, end = self.span(node)
                self.refs.append(CheckpointRef(start, end, found[0], found[1], call=method))
        path = _literal_path(node)
        if path is None and _is_joining(node):
            # Path(cfg) / "m.pt": the literal is a part of a path that is not known
            self.seen_literals.add(self.span(node))
        if path is not None and is_checkpoint_name(path):
            where = self.span(node)
            if not any(s <= where[0] and where[1] <= e for s, e in self.seen_literals):
                self.seen_literals.add(where)
                self.refs.append(CheckpointRef(*where, path))

    def follow(
        self,
        node: ast.expr,
        names: tuple[dict[str, list[ast.Assign]], ...],
        before_line: int,
        hops: int,
    ) -> tuple[str, tuple[str, ...]] | None:
        """(path, keys) of the checkpoint an expression evaluates from, or None."""
        if hops <= 0:
            return None
        path = _literal_path(node)
        if path is not None:
            return (path, ()) if is_checkpoint_name(path) else None
        if isinstance(node, ast.Subscript):
            key = node.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                inner = self.follow(node.value, names, before_line, hops - 1)
                return None if inner is None else (inner[0], (*inner[1], key.value))
            return None
        if isinstance(node, ast.Call) and node.args:  # torch.load(p), load_file(p), ...
            found = self.follow(node.args[0], names, before_line, hops - 1)
            return found if found is not None and not found[1] else None
        if isinstance(node, ast.Name):
            for scope in names:
                earlier = [a for a in scope.get(node.id, []) if a.lineno < before_line]
                if earlier:
                    last = earlier[-1]
                    return self.follow(last.value, names, last.lineno, hops - 1)
        return None


def _expressions(statement: ast.stmt) -> list[ast.expr]:
    """The expressions of one statement, outermost first, without nested scopes' insides."""
    found: list[ast.expr] = []
    stack: list[ast.AST] = [statement]
    while stack:
        node = stack.pop()
        if node is not statement and isinstance(node, (*SCOPES, ast.stmt)):
            continue  # nested statements are visited as statements of their own
        if isinstance(node, ast.expr):
            found.append(node)
        if isinstance(node, ast.JoinedStr):
            continue  # an f-string's literal parts are not paths of their own
        stack.extend(reversed(list(ast.iter_child_nodes(node))))
    return found


def _load_method(node: ast.expr) -> str:
    """``load_state_dict`` for ``x.load_state_dict(...)``, ``from_torch`` for
    ``KeyMapper.from_torch(...)``, else ``""``."""
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return ""
    func = node.func
    if func.attr in LOAD_METHODS:
        return func.attr
    if (
        func.attr == "from_torch"
        and isinstance(func.value, ast.Name)
        and func.value.id == "KeyMapper"
    ):
        return func.attr
    return ""


def _literal_path(node: ast.expr) -> str | None:
    """The path a literal expression spells: ``"a/b.pt"``, ``Path("a") / "b.pt"``,
    ``os.path.join("a", "b.pt")``, ``Path("a", "b.pt")``, with the document's own folder
    (``Path(__file__).parent``, ``os.path.dirname(__file__)``) as ``.``; None for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if _is_document_folder(node):
        return "."
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        left, right = _literal_path(node.left), _literal_path(node.right)
        if left is None or right is None or not _is_path_expression(node.left):
            return None
        return _join(left, right)
    if isinstance(node, ast.Call) and not node.keywords and node.args:
        name = (
            node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        )
        joining = name in PATH_CONSTRUCTORS or (
            name == "join" and _dotted(node.func) in ("os.path.join", "path.join", "osp.join")
        )
        parts = [_literal_path(arg) for arg in node.args]
        if joining and all(part is not None for part in parts):
            joined = parts[0] or ""
            for part in parts[1:]:
                joined = _join(joined, part or "")
            return joined
    return None


def _is_joining(node: ast.expr) -> bool:
    """``a / b``, ``Path(...)`` or ``os.path.join(...)``: an expression putting a path together."""
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, ast.Div)
    if isinstance(node, ast.Call):
        name = _dotted(node.func)
        return name.split(".")[-1] in PATH_CONSTRUCTORS or name in (
            "os.path.join",
            "path.join",
            "osp.join",
        )
    return False


def _is_path_expression(node: ast.expr) -> bool:
    """The left side of ``/`` is a path (a Path(...) call, the document's folder or another
    ``/``), not a string."""
    if isinstance(node, ast.BinOp):
        return _is_path_expression(node.left)
    return isinstance(node, ast.Call) or _is_document_folder(node)


def _is_document_folder(node: ast.expr) -> bool:
    """``Path(__file__).parent`` (``.resolve()``/``.absolute()`` on the way allowed) or
    ``os.path.dirname(__file__)`` (of ``os.path.abspath``/``realpath`` of it)."""
    if isinstance(node, ast.Attribute) and node.attr == "parent":
        inner = node.value
        while (
            isinstance(inner, ast.Call)
            and isinstance(inner.func, ast.Attribute)
            and inner.func.attr in ("resolve", "absolute")
            and not inner.args
        ):
            inner = inner.func.value
        return (
            isinstance(inner, ast.Call)
            and _dotted(inner.func).split(".")[-1] in PATH_CONSTRUCTORS
            and len(inner.args) == 1
            and _is_dunder_file(inner.args[0])
        )
    if isinstance(node, ast.Call) and _dotted(node.func) in ("os.path.dirname", "path.dirname"):
        if len(node.args) != 1:
            return False
        arg = node.args[0]
        while (
            isinstance(arg, ast.Call)
            and _dotted(arg.func) in ("os.path.abspath", "os.path.realpath")
            and len(arg.args) == 1
        ):
            arg = arg.args[0]
        return _is_dunder_file(arg)
    return False


def _is_dunder_file(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id == "__file__"


def _join(left: str, right: str) -> str:
    if right.startswith("/") or not left:
        return right
    return left.rstrip("/") + "/" + right


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""
