"""Where the KeyMapper goes in a file, and its text.

The preamble is written once per file: after a shebang, encoding cookie and license header, the
module docstring, ``from __future__`` imports and the top import block (which may be interleaved
with setup code such as ``sys.path.append``), before any module-level code that uses it, with
PEP 8 blank lines. Its imports are left out when the file already has them before that point.

Inserting it never changes what a name of the file means: when a line it would insert (an
import, the class) binds a name the file binds to something else at module level (`import
jax.numpy as np` against the preamble's `import numpy as np`, a `KeyMapper` of the user's own),
no preamble is written and the fix says why (``PreambleConflict``).
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from switcheroo_lsp.engine.import_order import sorted_insertion
from switcheroo_lsp.engine.text import LineIndex, detect_newline
from switcheroo_lsp.settings import PreambleMode

_IMPORT_LINE = "from switcheroo_lsp.runtime import KeyMapper"
_INDENT = re.compile(
    r":[ \t]*(?:#[^\r\n]*)?(?:\r\n|\r|\n)(?:[ \t]*(?:#[^\r\n]*)?(?:\r\n|\r|\n))*([ \t]+)\S"
)
_CODING = re.compile(r"^[ \t\f]*#.*?coding[:=]")


class PreambleConflict(ValueError):
    """The preamble would rebind a name the file binds to something else."""


@dataclass(frozen=True)
class HeadStatement:
    """A top-level statement of the file's head: where it starts, where its last line ends."""

    start: int
    end: int  # offset of the start of the line after the statement
    importish: bool  # an import, or a guard (try/if) holding only imports


@dataclass(frozen=True)
class HeadFacts:
    """What the preamble placement needs to know about a file's top, computed at scan time."""

    top: int  # after shebang, coding cookie, license header, docstring, __future__ imports
    top_has_content: bool  # something (docstring, header...) precedes `top`
    statements: tuple[HeadStatement, ...]  # candidates for the import block, in order
    bindings: tuple[tuple[str, str, int], ...]  # (bound name, `import` statement text key, end)
    keymapper_bound: bool  # the module defines or imports KeyMapper already
    newline: str
    indent: str  # the file's indentation unit
    # every module-level binding: (name, `name=module.path` for an import, "" for anything else)
    module_bindings: tuple[tuple[str, str], ...] = ()
    foreign_keymapper: str | None = None  # how the file binds a KeyMapper that is not ours


def _binding_keys(node: ast.stmt) -> list[str]:
    """Normalized keys for what an import binds: `np=numpy`, `jax=jax`, `jnp=jax.numpy`."""
    keys = []
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                keys.append(f"{alias.asname}={alias.name}")
            elif "." not in alias.name:
                keys.append(f"{alias.name}={alias.name}")
    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
        for alias in node.names:
            keys.append(f"{alias.asname or alias.name}={node.module}.{alias.name}")
    return keys


def _stored(node: ast.AST | None) -> list[tuple[str, str]]:
    """Names an assignment target (or a statement's own parts, not its blocks) binds."""
    if node is None:
        return []
    return [
        (n.id, "")
        for n in ast.walk(node)
        if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)
    ]


def _module_bindings(body: list[ast.stmt]) -> list[tuple[str, str]]:
    """(name, meaning) for every name bound at module level, in blocks too (not in defs):
    an import's meaning is `name=module.path`, anything else binds ""."""
    out: list[tuple[str, str]] = []
    stack = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.asname or alias.name.split(".")[0]
                out.append((name, f"{name}={alias.name if alias.asname else name}"))
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            for alias in node.names:
                name = alias.asname or alias.name
                out.append((name, f"{name}={module}.{alias.name}"))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            out.append((node.name, ""))
        elif isinstance(node, ast.For | ast.AsyncFor):
            out += _stored(node.target)
            stack += [*node.body, *node.orelse]
        elif isinstance(node, ast.With | ast.AsyncWith):
            for item in node.items:
                out += _stored(item.optional_vars)
            stack += node.body
        elif isinstance(node, ast.If | ast.While):
            out += _stored(node.test)  # (a walrus)
            stack += [*node.body, *node.orelse]
        elif isinstance(node, ast.Try | ast.TryStar):
            stack += [*node.body, *node.orelse, *node.finalbody]
            for handler in node.handlers:
                out += [(handler.name, "")] if handler.name else []
                stack += handler.body
        elif isinstance(node, ast.Match):
            for case in node.cases:
                captures = ast.MatchAs | ast.MatchStar
                out += [
                    (n.name, "")
                    for n in ast.walk(case.pattern)
                    if isinstance(n, captures) and n.name
                ]
                stack += case.body
        else:
            out += _stored(node)
    return out


def _is_ours(node: ast.stmt) -> bool:
    """A KeyMapper the fix may use: imported (switcheroo's, or a vendored copy), or a class of
    the file's own with `from_torch`; not a stub, a function or some other value."""
    if isinstance(node, ast.Import | ast.ImportFrom):
        return True
    if isinstance(node, ast.ClassDef):
        return any(isinstance(n, ast.FunctionDef) and n.name == "from_torch" for n in node.body)
    if isinstance(node, ast.If | ast.Try):
        inner = [*node.body, *node.orelse]
        return any(_binds_keymapper(s) and _is_ours(s) for s in inner)
    return False


def _is_main_guard(node: ast.stmt) -> bool:
    """`if __name__ == "__main__":`, where a script's code starts."""
    return isinstance(node, ast.If) and any(
        isinstance(n, ast.Name) and n.id == "__name__" for n in ast.walk(node.test)
    )


def _is_importish(node: ast.stmt) -> bool:
    """An import, or a guard holding imports: `try: import apex` / `except ImportError: ...`,
    `if TYPE_CHECKING:` / `if sys.version_info ...:`. Never `if __name__ == "__main__":`."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return True
    if isinstance(node, ast.Try):
        guarded = [*node.body, *node.orelse, *node.finalbody]
        handlers = [s for h in node.handlers for s in h.body]
    elif isinstance(node, ast.If):
        if _is_main_guard(node):
            return False
        guarded, handlers = [*node.body, *node.orelse], []
    else:
        return False
    has_import = any(isinstance(s, (ast.Import, ast.ImportFrom)) for s in guarded + handlers)
    simple = (ast.Import, ast.ImportFrom, ast.Pass, ast.Assign, ast.AnnAssign, ast.Raise)
    return (
        has_import
        and all(
            isinstance(s, simple) or (isinstance(s, ast.If) and _is_importish(s)) for s in guarded
        )
        and all(isinstance(s, (*simple, ast.Expr)) for s in handlers)
    )


def _binds_keymapper(node: ast.stmt) -> bool:
    if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
        return node.name == "KeyMapper"
    if isinstance(node, ast.Import | ast.ImportFrom):
        return any((a.asname or a.name.split(".")[0]) == "KeyMapper" for a in node.names)
    if isinstance(node, ast.Assign):
        return any(isinstance(t, ast.Name) and t.id == "KeyMapper" for t in node.targets)
    if isinstance(node, ast.AnnAssign):
        return isinstance(node.target, ast.Name) and node.target.id == "KeyMapper"
    if isinstance(node, ast.If | ast.Try):
        inner = [*node.body, *node.orelse]
        if isinstance(node, ast.Try):
            inner += [*node.finalbody, *(s for h in node.handlers for s in h.body)]
        return any(_binds_keymapper(s) for s in inner)
    return False


_LICENSE_WORDS = re.compile(r"copyright|licen[cs]e|spdx-license-identifier|\(c\)", re.IGNORECASE)


def _header_end(index: LineIndex, first_code_line: int) -> int:
    """Offset after the shebang, coding cookie and license header: a leading comment block set off
    by a blank line, or one that says copyright/license even when code follows right below it."""
    end_line = 0
    for line in range(first_code_line):
        stripped = index.line_text(line).lstrip("\ufeff").strip()
        if line < 2 and (stripped.startswith("#!") or _CODING.match(stripped)):
            end_line = line + 1
        elif not stripped:
            # a blank line closes the comment block above it: that block is header
            end_line = line + 1
        elif end_line == line and stripped.startswith("#") and _LICENSE_WORDS.search(stripped):
            # a license block: header down to its last comment line
            last = line
            while last + 1 < first_code_line and index.line_text(last + 1).strip().startswith("#"):
                last += 1
            end_line = last + 1
    return index.starts[end_line] if end_line < len(index.starts) else len(index.text)


def head_facts(tree: ast.Module, index: LineIndex) -> HeadFacts:
    """Compute the preamble placement facts of a parsed file."""
    body = tree.body
    text = index.text

    def line_after(node: ast.stmt) -> int:
        end = node.end_lineno or node.lineno
        return index.starts[end] if end < len(index.starts) else len(text)

    first_code_line = body[0].lineno - 1 if body else len(index.starts) - 1
    if (
        body
        and isinstance(body[0], ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and body[0].decorator_list
    ):
        first_code_line = body[0].decorator_list[0].lineno - 1
    top = _header_end(index, first_code_line) if body else len(text)
    top_has_content = top > 0
    if index.bom:
        top = max(top, 1)  # never above a byte order mark: mid-file it is a SyntaxError
    i = 0
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        top = line_after(body[0])
        top_has_content = True
        i = 1
    while i < len(body) and isinstance(body[i], ast.ImportFrom) and body[i].module == "__future__":  # type: ignore[attr-defined]
        top = line_after(body[i])
        top_has_content = True
        i += 1
    statements: list[HeadStatement] = []
    for node in body[i:]:
        if isinstance(
            node,
            ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.With | ast.For | ast.While,
        ) or _is_main_guard(node):
            break
        importish = _is_importish(node)
        if not importish and not isinstance(
            node, ast.Expr | ast.Assign | ast.AugAssign | ast.AnnAssign | ast.If | ast.Try
        ):
            break
        start = index.offset_from_ast(node.lineno, node.col_offset)
        statements.append(HeadStatement(start, line_after(node), importish))
    bindings: list[tuple[str, str, int]] = []
    keymapper_bound = False
    foreign: str | None = None
    mentions_keymapper = "KeyMapper" in text
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            for key in _binding_keys(node):
                bindings.append((key.split("=")[0], key, line_after(node)))
        if mentions_keymapper and not keymapper_bound and _binds_keymapper(node):
            keymapper_bound = True
            if not _is_ours(node):
                foreign = f"line {node.lineno}"
    indent = "    "
    match = _INDENT.search(text)
    if match:
        indent = match.group(1)
        if "\t" in indent:
            indent = "\t"
    return HeadFacts(
        top=top,
        top_has_content=top_has_content,
        statements=tuple(statements),
        bindings=tuple(bindings),
        keymapper_bound=keymapper_bound,
        newline=detect_newline(text),
        indent=indent,
        module_bindings=tuple(_module_bindings(body)),
        foreign_keymapper=foreign,
    )


@dataclass(frozen=True)
class PreambleSource:
    """The KeyMapper module split for inlining: its import lines and the rest."""

    imports: tuple[tuple[str, str], ...]  # (binding key, import line)
    body: str
    definition_time_names: frozenset[str]  # names the class uses while being defined
    defined: tuple[str, ...] = ()  # names the body binds at module level besides KeyMapper


def _definition_time_names(node: ast.ClassDef) -> set[str]:
    """Names read while a class statement runs (not when its methods are called): decorators,
    defaults, annotations, class-level values outside lambdas, nested classes likewise."""
    used: set[str] = set()

    def read(expression: ast.AST | None) -> None:
        if expression is None:
            return
        stack = [expression]
        while stack:
            current = stack.pop()
            if isinstance(current, ast.Lambda):
                stack.extend(current.args.defaults)
                continue
            if isinstance(current, ast.Name):
                used.add(current.id)
            stack.extend(ast.iter_child_nodes(current))

    for expression in [*node.decorator_list, *node.bases, *node.keywords]:
        read(expression)
    for item in node.body:
        if isinstance(item, ast.ClassDef):
            used |= _definition_time_names(item)
        elif isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = item.args
            for value in [*item.decorator_list, *arguments.defaults, item.returns]:
                read(value)
            for default in arguments.kw_defaults:
                read(default)
            every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
            every += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
            for argument in every:
                read(argument.annotation)
        else:
            read(item)
    return used


@functools.lru_cache(maxsize=4)
def _split_source(source: str) -> PreambleSource:
    tree = ast.parse(source)
    lines = source.splitlines()
    skip: set[int] = set()
    imports: list[tuple[str, str]] = []
    body = tree.body
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        skip.update(range(body[0].lineno - 1, body[0].end_lineno or body[0].lineno))
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            line_numbers = range(node.lineno - 1, node.end_lineno or node.lineno)
            skip.update(line_numbers)
            keys = _binding_keys(node)
            imports.append(("|".join(keys), "\n".join(lines[n] for n in line_numbers)))
    rest = "\n".join(line for n, line in enumerate(lines) if n not in skip)
    rest = re.sub(r"\n{3,}", "\n\n\n", rest.strip("\n"))
    used: set[str] = set()
    for node in body:
        if isinstance(node, ast.ClassDef):
            used |= _definition_time_names(node)
        elif not isinstance(node, ast.Import | ast.ImportFrom | ast.FunctionDef):
            used |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    defined = [
        name
        for name, meaning in _module_bindings(
            [n for n in body if not isinstance(n, ast.Import | ast.ImportFrom)]
        )
        if name != "KeyMapper" and not meaning
    ]
    return PreambleSource(tuple(imports), rest, frozenset(used), tuple(defined))


def keymapper_preamble_source() -> PreambleSource:
    """The KeyMapper runtime's source, split for inlining."""
    from switcheroo_lsp.runtime import keymapper_source

    return _split_source(keymapper_source())


def _preamble_bindings(mode: PreambleMode) -> list[tuple[str, str]]:
    """(name, meaning) of every module-level name the preamble would bind."""
    if mode is PreambleMode.IMPORT:
        return [("KeyMapper", "KeyMapper=switcheroo_lsp.runtime.KeyMapper")]
    source = keymapper_preamble_source()
    out = [(key.split("=")[0], key) for keys, _ in source.imports for key in keys.split("|") if key]
    return out + [(name, "") for name in source.defined]


def _check_names(facts: HeadFacts, mode: PreambleMode) -> None:
    """Raise PreambleConflict when a name the preamble binds means something else in the file."""
    for name, meaning in _preamble_bindings(mode):
        for bound, theirs in facts.module_bindings:
            if bound == name and (not meaning or theirs != meaning):
                what = theirs.split("=", 1)[1] if theirs else "another value"
                ours = meaning.split("=", 1)[1] if meaning else "switcheroo's KeyMapper code"
                raise PreambleConflict(
                    f"the KeyMapper code would bind `{name}` to {ours}, and the file binds "
                    f"`{name}` to {what}: inserting it would change what `{name}` means. Use "
                    '`preamble = "import"`, or rename the file\'s binding, then fix again'
                )


def _reindent(body: str, indent: str) -> str:
    """Re-indent 4-space source to the file's indentation unit (tabs stay tabs)."""
    if indent == "    ":
        return body
    out = []
    for line in body.split("\n"):
        stripped = line.lstrip(" ")
        depth, rest = divmod(len(line) - len(stripped), 4)
        out.append(indent * depth + " " * rest + stripped)
    candidate = "\n".join(out)
    try:
        ast.parse(candidate)
    except SyntaxError:
        return body
    return candidate


def _ends_with_blank_line(text: str, position: int) -> bool:
    before = text[:position].replace("\r\n", "\n").replace("\r", "\n")
    return before.endswith("\n\n") or before == "\n"


def preamble_text_edit(
    text: str,
    facts: HeadFacts,
    limit: int,
    mode: PreambleMode,
    import_line: str = "",
    first_party: Sequence[str] = (),
) -> tuple[int, int, str] | None:
    """(start, end, new_text) that inserts the preamble, or None when KeyMapper is already there.

    ``limit`` is the start of the first top-level statement running a rewritten call at import
    time: the preamble must come before it. ``import_line``: module mode's import of the
    project's KeyMapper module; without one, module mode inlines (a lone file).
    """
    if facts.foreign_keymapper is not None:
        raise PreambleConflict(
            f"the file binds `KeyMapper` ({facts.foreign_keymapper}) to something other than "
            "switcheroo's: rename it, or import switcheroo's under that name, then fix again"
        )
    if facts.keymapper_bound:
        return None
    if mode is PreambleMode.MODULE:
        mode = PreambleMode.IMPORT if import_line else PreambleMode.INLINE
    _check_names(facts, mode)
    import_line = import_line or _IMPORT_LINE
    position = facts.top
    floor = 1 if text.startswith("\ufeff") else 0  # right after a BOM is the file's start
    after_imports = False
    for statement in facts.statements:
        if statement.start >= limit:
            break
        if statement.importish:
            position = statement.end
            after_imports = True
    if mode is PreambleMode.IMPORT:
        import_lines = [import_line]
        body = ""
    else:
        source = keymapper_preamble_source()
        # an import above the KeyMapper serves it; one further down serves it too, when the
        # class does not need the name while being defined and no module-level call comes first
        existing = {
            key
            for name, key, end in facts.bindings
            if end <= position or (end <= limit and name not in source.definition_time_names)
        }
        import_lines = [
            line
            for keys, line in source.imports
            if not keys or not all(k in existing for k in keys.split("|"))
        ]
        body = _reindent(source.body, facts.indent)
    # the blank lines after the insertion point are replaced, to end with exactly two
    end = position
    blank = re.compile(r"[ \t\f]*(?:\r\n|\r|\n)")
    while True:
        match = blank.match(text, end)
        if not match or match.end() == end:
            break
        end = match.end()
    at_eof = text[end:].strip() == ""
    if at_eof:
        end = len(text)
    lead = ""
    if position > floor and text[position - 1] not in "\r\n":
        lead = "\n"  # the file's last line had no line break
    if position > floor and not after_imports and not _ends_with_blank_line(text, position):
        lead += "\n"  # a blank line after the docstring / header
    following = text[end:].lstrip()
    two_blank = following.startswith(("def ", "class ", "@", "async def "))
    if not body:  # import mode: one line joining (or forming) the import block
        if after_imports:
            return sorted_insertion(text, position, import_line, facts.newline, first_party)
        tail = "" if at_eof else ("\n\n" if two_blank else "\n")
        new_text = lead + import_line + "\n" + tail
    else:
        if import_lines:
            new_text = lead + "\n".join(import_lines) + "\n\n\n"
        elif position > floor:
            new_text = lead + ("\n" if after_imports else "") + "\n"
        else:
            new_text = lead
        new_text += body + "\n" + ("" if at_eof else "\n\n")
    if facts.newline != "\n":
        new_text = new_text.replace("\n", facts.newline)
    return position, end, new_text
