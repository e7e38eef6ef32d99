"""Small questions about Python syntax trees, shared by the scanner and the classifier."""

from __future__ import annotations

import ast
from collections.abc import Iterator

SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.Module)
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def dotted(node: ast.AST) -> list[str]:
    """Names along a receiver expression, outermost first: `self.opt[0]` -> self, opt."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        return [*dotted(node.value), node.attr]
    if isinstance(node, ast.Subscript):
        names = dotted(node.value)
        if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
            names.append(node.slice.value)
        return names
    if isinstance(node, ast.Call):
        inner = dotted(node.args[0]) if node.args else []
        return [*inner, *dotted(node.func)]
    if isinstance(node, ast.Starred | ast.Await):
        return dotted(node.value)
    return []


def root_name(node: ast.AST) -> str | None:
    """The name an attribute chain starts from: `self.a.b` -> self; None for other roots."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def statement_nodes(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements of a scope, nested blocks included, nested defs and classes excluded."""
    stack = list(reversed(body))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (*FUNCTIONS, ast.ClassDef)):
            continue
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if block:
                stack.extend(reversed(block))
        for handler in getattr(node, "handlers", ()):
            stack.extend(reversed(handler.body))
        for case in getattr(node, "cases", ()):
            stack.extend(reversed(case.body))
