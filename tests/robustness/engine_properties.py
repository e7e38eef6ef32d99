"""The engine's safety properties as plain checks, shared by the hypothesis tests and the benchmark.

Each check raises AssertionError with the offending detail and returns how many edits it checked.
Position arithmetic here (and the editor's, in tests/clientside.py) is written independently of
the engine's and of the LSP shell's, so a bug in theirs cannot hide itself.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Sequence

from clientside import apply_text_edits, line_starts
from switcheroo_lsp.engine import apply_edits, fix, fix_all, scan
from switcheroo_lsp.engine.model import Edit, FixResult
from switcheroo_lsp.lsp.edits import text_edits
from switcheroo_lsp.lsp.positions import Encoding


def compiles(text: str) -> bool:
    """The text compiles (a leading BOM is what a UTF-8 file may start with)."""
    try:
        compile(text.removeprefix("\ufeff"), "<text>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def parses(fixed: str, original: str) -> None:
    """The fixed text parses; it also compiles whenever the original did (``ast.parse`` accepts
    a few things only the compiler rejects, e.g. an unknown ``__future__`` feature)."""
    ast.parse(fixed.removeprefix("\ufeff"))
    if compiles(original):
        compile(fixed.removeprefix("\ufeff"), "<fixed>", "exec", dont_inherit=True)


def _node_span(node: ast.AST, starts: list[int], text: str) -> tuple[int, int]:
    """Code-point offsets of an ast node (ast columns are UTF-8 bytes)."""
    bom = 1 if text.startswith("\ufeff") else 0

    def offset(line: int, column: int) -> int:
        start = starts[line - 1] + (bom if line == 1 else 0)
        end = starts[line] if line < len(starts) else len(text)
        raw = text[start:end].encode("utf-8", "surrogatepass")[:column]
        return start + len(raw.decode("utf-8", "surrogatepass"))

    return (
        offset(node.lineno, node.col_offset),  # type: ignore[attr-defined]
        offset(node.end_lineno, node.end_col_offset),  # type: ignore[attr-defined]
    )


def simple_statement_spans(text: str) -> list[tuple[int, int]]:
    """Spans of every non-compound statement of a parsing text."""
    tree = ast.parse(text.removeprefix("\ufeff"))
    starts = line_starts(text)
    compound = (
        ast.FunctionDef,
        ast.AsyncFunctionDef,
        ast.ClassDef,
        ast.If,
        ast.For,
        ast.AsyncFor,
        ast.While,
        ast.With,
        ast.AsyncWith,
        ast.Try,
        ast.Match,
    )
    return [
        _node_span(node, starts, text)
        for node in ast.walk(tree)
        if isinstance(node, ast.stmt) and not isinstance(node, compound)
    ]


def comments_in(text: str, start: int, end: int) -> list[str]:
    """Comment tokens lying inside ``text[start:end]``."""
    starts = line_starts(text)
    source = text.removeprefix("\ufeff")
    shift = len(text) - len(source)
    found = []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source, newline="").readline))
    except (tokenize.TokenError, SyntaxError):
        return []
    for token in tokens:
        if token.type != tokenize.COMMENT:
            continue
        line, column = token.start
        offset = starts[line - 1] + column + (shift if line == 1 else 0)
        if start <= offset and offset + len(token.string) <= end:
            found.append(token.string)
    return found


def is_preamble(edit: Edit) -> bool:
    return "class KeyMapper" in edit.new_text or "import KeyMapper" in edit.new_text


def check_positions(text: str, edit: Edit) -> None:
    """Edit positions agree with its offsets (code points; LSP line breaks)."""
    starts = line_starts(text)
    for offset, position in ((edit.start, edit.start_pos), (edit.end, edit.end_pos)):
        line = max(i for i, s in enumerate(starts) if s <= offset)
        # an offset between \r and \n belongs to the line the \r ends
        assert (position.line, position.column) == (line, offset - starts[line]) or (
            text[offset - 1 : offset + 1] == "\r\n"
        ), (offset, position)


def client_apply(text: str, edits: Sequence[Edit], encoding: Encoding) -> str:
    """Convert edits with the LSP shell, then apply them the way an editor does (own arithmetic)."""
    return apply_text_edits(text, text_edits(text, edits, encoding), encoding.value)


def check_fix_result(text: str, result: FixResult) -> int:
    """Every property of one fix/fix-all result; returns the number of edits checked."""
    if result.error is not None:
        assert result.edits == (), "an error with edits"
        return 0
    edits = result.edits
    for first, second in zip(edits, edits[1:], strict=False):
        assert (first.start, first.end) <= (second.start, second.end), "edits not sorted"
        assert first.end <= second.start, f"overlapping edits {first} {second}"
    for edit in edits:
        assert 0 <= edit.start <= edit.end <= len(text), edit
        check_positions(text, edit)
    fixed = apply_edits(text, edits)
    parses(fixed, text)
    preambles = [e for e in edits if is_preamble(e)]
    assert len(preambles) <= 1, "more than one preamble edit"
    findings = [f for f in scan(text).findings if f.fixable]
    statements = simple_statement_spans(text)
    for edit in edits:
        original = text[edit.start : edit.end]
        if is_preamble(edit):
            # the preamble only replaces blank lines, at a line start
            assert original.strip() == "", repr(original)
            bom = int(text.startswith("\ufeff"))
            assert edit.start in (*line_starts(text), bom, len(text)), edit
            continue
        inside = [f for f in findings if edit.start <= f.span.start and f.span.end <= edit.end]
        assert inside, f"an edit touches no fixable call: {original!r}"
        assert any(s <= edit.start and edit.end <= e for s, e in statements) or any(
            (f.span.start, f.span.end) == (edit.start, edit.end) for f in inside
        ), f"an edit reaches beyond the statement holding its call: {original!r}"
        assert "KeyMapper.from_torch" in edit.new_text, edit.new_text  # `(` may follow a space
        for comment in comments_in(text, edit.start, edit.end):
            assert comment in edit.new_text, f"comment {comment!r} lost"
    # byte-for-byte: everything outside the edits, in order, is the text itself
    cursor = 0
    rebuilt = []
    for edit in edits:
        rebuilt.append(text[cursor : edit.start])
        cursor = edit.end
    rebuilt.append(text[cursor:])
    outside = "".join(rebuilt)
    position = 0
    for piece in rebuilt:
        found = fixed.find(piece, position)
        assert found >= 0, f"text outside the edits changed: {piece[:80]!r}"
        position = found + len(piece)
    assert len(fixed) - sum(len(e.new_text) for e in edits) == len(outside)
    for encoding in (Encoding.UTF16, Encoding.UTF8):
        assert client_apply(text, edits, encoding) == fixed, f"{encoding.value} differs"
    return len(edits)


def check_program(text: str, *, each_call: bool = True) -> int:
    """scan, fix-all (and its idempotence), and every single fix of one text; edits checked."""
    result = scan(text)
    checked = 0
    all_fixed = fix_all(text)
    if "load_state_dict" not in text:  # rejected unparsed: nothing found, nothing to fix
        assert result.findings == () and not all_fixed.edits and all_fixed.error is None
        return 0
    if result.syntax_error is not None:
        assert all_fixed.error is not None and not all_fixed.edits
        return 0
    checked += check_fix_result(text, all_fixed)
    if all_fixed.edits:
        fixed = apply_edits(text, all_fixed.edits)
        again = fix_all(fixed)
        assert not again.edits, "fix-all is not idempotent"
        assert fixed.count("class KeyMapper") <= 1
    if each_call:
        for finding in result.findings:
            single = fix(text, finding.span.start)
            if finding.fixable:
                assert single.error is None and single.edits, (finding, single.error)
            else:
                assert not single.edits
            checked += check_fix_result(text, single)
    return checked
