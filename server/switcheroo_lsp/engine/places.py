"""Where a receiver lives, for placing its tree: what a function binds and returns, the name a
receiver starts from, and whether a file may bind a name (for new tree names)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


class FunctionFacts:
    """What a function binds locally and what it hands back (nested defs and classes excluded)."""

    def __init__(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        arguments = function.args
        every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
        every += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
        self.parameters = {a.arg for a in every}
        self.local: set[str] = set()
        self.outer: set[str] = set()  # declared global or nonlocal
        self.returned: list[ast.AST] = []  # values of `return <value>`
        self.generator = False
        stack: list[ast.AST] = list(function.body)
        while stack:
            node = stack.pop()
            if isinstance(node, (*_FUNCTIONS, ast.ClassDef)):
                self.local.add(node.name)
                continue
            if isinstance(node, ast.Lambda):
                continue
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                self.local.add(node.id)
            elif isinstance(node, ast.alias):
                self.local.add((node.asname or node.name).split(".")[0])
            elif isinstance(node, ast.Global | ast.Nonlocal):
                self.outer.update(node.names)
            elif isinstance(node, ast.Return) and node.value is not None:
                self.returned.append(node.value)
            elif isinstance(node, ast.Yield | ast.YieldFrom):
                self.generator = True
            stack.extend(ast.iter_child_nodes(node))

    def is_local(self, name: str) -> bool:
        """Bound in the function itself (not a parameter, not from an outer scope)."""
        return name in self.local and name not in self.parameters and name not in self.outer

    def returns_name(self, name: str) -> bool:
        """`return model`, `return model, optimizer`, `return {"model": model}`: handed back."""
        stack = list(self.returned)
        while stack:
            value = stack.pop()
            if isinstance(value, ast.Name) and value.id == name:
                return True
            if isinstance(value, ast.Tuple | ast.List | ast.Set):
                stack.extend(value.elts)
            elif isinstance(value, ast.Dict):
                stack.extend(value.values)
            elif isinstance(value, ast.Starred | ast.NamedExpr):
                stack.append(value.value)
            elif isinstance(value, ast.IfExp):
                stack += [value.body, value.orelse]
        return False


def base_name(node: ast.AST) -> str | None:
    """The name a receiver expression starts from: `models[0].head` -> models."""
    while isinstance(node, ast.Attribute | ast.Subscript | ast.Call):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def loop_names(target: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}


def function_names(facts: Iterable[FunctionFacts]) -> frozenset[str]:
    """Parameters and locals of the functions holding loads (a new tree name avoids them)."""
    names: set[str] = set()
    for function in facts:
        names |= function.parameters | function.local | function.outer
    return frozenset(names)


_ASSIGNED_AFTER = re.compile(r"\s*(?:(?:[-+*/%&|^@]|<<|>>|\*\*|//)?=(?!=)|:=)")
_ANNOTATED_AFTER = re.compile(r"\s*:(?!=)")  # `variables: dict = ...`, at a statement's start
_BINDING_BEFORE = re.compile(r"\b(?:for|as|def|class|import|global|nonlocal|lambda)\b")
_TARGET_LIST_AFTER = re.compile(r"\s*[,)\]][^#\n]*?(?<![=!<>])=(?!=)")


def binds_name(text: str, name: str, skip: tuple[int, int] = (0, 0)) -> bool:
    """Whether the file may bind ``name`` somewhere, judged from the text around each of its
    occurrences (an over-approximation: fast, and a false "yes" only makes a new tree name
    more careful). A name only read (`variables` in code written for the migrated load) is not
    bound. Occurrences inside ``skip`` (the inlined KeyMapper) are not the user's."""
    position = text.find(name)
    while position >= 0:
        start, end = position, position + len(name)
        position = text.find(name, end)
        if skip[0] <= start < skip[1]:
            continue
        if (start and (text[start - 1].isalnum() or text[start - 1] in "_.")) or (
            end < len(text) and (text[end].isalnum() or text[end] == "_")
        ):
            continue  # part of a longer name, or an attribute
        line_start = text.rfind("\n", 0, start) + 1
        line_end = text.find("\n", end)
        before = text[line_start:start]
        after = text[end : line_end if line_end >= 0 else len(text)]
        if (
            _ASSIGNED_AFTER.match(after)
            or (_ANNOTATED_AFTER.match(after) and before.strip() == "")
            or _bound_by_keyword(before)
            or _TARGET_LIST_AFTER.match(after)
        ):
            return True
    return False


def _bound_by_keyword(before: str) -> bool:
    """Whether the last binding keyword on the line before a name binds it: `lambda x:` binds
    its parameters, not the body's names (`lambda p: p - variables[...]`); `for x in` binds the
    targets, not the iterable."""
    found = list(_BINDING_BEFORE.finditer(before))
    if not found:
        return False
    keyword, tail = found[-1].group(), before[found[-1].end() :]
    if keyword == "lambda":
        return ":" not in tail
    if keyword == "for":
        return re.search(r"\bin\b", tail) is None
    if keyword in ("as", "class"):
        return tail.strip() == ""
    return True
