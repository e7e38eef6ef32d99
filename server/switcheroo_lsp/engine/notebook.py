"""Notebook cells <-> one Python text, so the file engine serves notebooks unchanged.

The code cells that parse (after their IPython magics are masked) are joined into one text and
scanned together, so a receiver assigned in one cell is classified in another. Findings and edits
are mapped back to the cell they came from, in that cell's own offsets. A cell that does not parse
is left out (and reported) without hiding the findings of the others. The KeyMapper preamble goes
into the first Python code cell, after its leading imports, once per notebook, whichever cell
the fix ran from: a language server cannot create cells, and the editor and the command line
must give the same result.

Masking never changes a text's length or its line breaks, so offsets in the masked text are
offsets in the cell as the user wrote it.
"""

from __future__ import annotations

import ast
import bisect
import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, fields

from switcheroo_lsp.engine.cache import TextCache
from switcheroo_lsp.engine.model import Edit, Finding, FixResult, Span
from switcheroo_lsp.engine.preamble import PreambleConflict, head_facts, preamble_text_edit
from switcheroo_lsp.engine.scan import NAME, scan
from switcheroo_lsp.engine.text import LineIndex, apply_edits, make_edit
from switcheroo_lsp.settings import Settings

# Cell magics whose body is Python run in the kernel: the body is scanned, the magic line masked.
# Any other cell magic (%%bash, %%writefile, %%html, %%sql, ...) holds no kernel Python: skipped.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "memit", "debug"})

# Line magics whose argument is one Python statement run in the kernel: the statement is scanned
# (``%time model.load_state_dict(sd)``). %time and %prun run it in the notebook's namespace, so
# it can be rewritten; %timeit and %memit run it in a scope of their own, where a rewritten
# `variables = ...` would bind nothing: reported, never fixed. Value: (options taking a value,
# options that are flags); a line with any other option is masked whole.
STATEMENT_MAGICS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "time": (frozenset(), frozenset()),
    "prun": (frozenset("lsTD"), frozenset("rq")),
    "timeit": (frozenset("nrp"), frozenset("tcqo")),
    "memit": (frozenset("rt"), frozenset("cioq")),
}
SCOPED_STATEMENT_MAGICS = frozenset({"timeit", "memit"})
SCOPED_MAGIC_REASON = (
    "%{magic} runs its statement in a scope of its own: a rewritten assignment would bind "
    "nothing in the notebook; move the call out of the magic to migrate it"
)
_LINE_MAGIC = re.compile(r"^([ \t]*)%([A-Za-z_]\w*)(?=[ \t])(.*)$")
_LINE = re.compile(r"([^\r\n]*)(\r\n|\r|\n|$)")
_ASSIGNMENT_TARGET = re.compile(r"[\w.\[\]'\", ()]+")  # what may stand before ``= %magic``
_HELP = re.compile(r"^[ \t]*(?:\?{1,2}[\w.]+|[\w.\[\]()'\"]+\?{1,2})[ \t]*$")
_MAGIC_START = re.compile(r"^[ \t]*[%!?]|\?[ \t]*$|=[ \t]*[%!]", re.MULTILINE)


@dataclass(frozen=True)
class NotebookCell:
    """One cell as the engine needs it: its text and whether it is a Python code cell."""

    text: str
    is_code: bool = True


@dataclass(frozen=True)
class CellFinding(Finding):
    """A finding whose span is in the offsets and lines of one cell."""

    cell: int = 0  # 0-based index of the cell in the notebook (markdown cells counted)


@dataclass(frozen=True)
class BrokenCell:
    """A code cell left out because it does not parse (with its magics masked)."""

    cell: int
    message: str  # e.g. "line 2: invalid syntax", lines counted in the cell
    line: int  # 0-based line in the cell
    mentions_call: bool  # the cell's text contains `load_state_dict`


@dataclass(frozen=True)
class NotebookScan:
    """Every finding of a notebook, per cell, and the code cells that were left out."""

    findings: tuple[CellFinding, ...] = ()
    broken: tuple[BrokenCell, ...] = ()

    def in_cell(self, cell: int) -> tuple[CellFinding, ...]:
        """The findings of one cell."""
        return tuple(f for f in self.findings if f.cell == cell)


@dataclass(frozen=True)
class NotebookFix:
    """Edits per cell (in that cell's offsets); ``error`` set means no edits."""

    edits: dict[int, tuple[Edit, ...]] = field(default_factory=dict)
    error: str | None = None
    fixed: int = 0
    skipped: tuple[tuple[CellFinding, str], ...] = ()

    @property
    def ok(self) -> bool:
        """True when there are edits and no error."""
        return self.error is None and bool(self.edits)

    def apply(self, cells: Sequence[NotebookCell]) -> dict[int, str]:
        """The new text of every cell this fix changes."""
        return {index: apply_edits(cells[index].text, edits) for index, edits in self.edits.items()}


# -- masking ------------------------------------------------------------------------------------


def _neutral(length: int) -> str:
    """A Python expression of exactly ``length`` characters (``length`` >= 1)."""
    return ("..." if length >= 3 else "0").ljust(length)


def _comment(content: str) -> str:
    """The line as a comment of the same length (its first non-blank character becomes ``#``)."""
    stripped = content.lstrip(" \t")
    if not stripped:
        return content
    indent = len(content) - len(stripped)
    return content[:indent] + "#" + stripped[1:]


def _statement(content: str) -> str:
    """The line as a neutral statement of the same length and indentation."""
    stripped = content.lstrip(" \t")
    indent = len(content) - len(stripped)
    if indent == 0:
        return "#" + stripped[1:]  # a comment: the preamble placement reads it as a header
    return content[:indent] + _neutral(len(stripped.rstrip()) or 1).ljust(len(stripped))


def _assigned_magic(content: str) -> tuple[str, str] | None:
    """``("x = ", "!ls")`` for a line ``x = !ls`` (or ``= %magic``), else None; one pass over the
    line (a regular expression for this backtracks in cubic time on a long run of blanks)."""
    equals = content.find("=")  # only the first can follow a target: "=" is not a target char
    if equals <= 0:
        return None
    before = content[:equals]
    target = before.strip(" \t")
    if target and not _ASSIGNMENT_TARGET.fullmatch(target):
        return None
    if not target and " " not in before:
        return None
    value_start = len(content) - len(content[equals + 1 :].lstrip(" \t"))
    if value_start == len(content) or content[value_start] not in "%!":
        return None
    return content[:value_start], content[value_start:]


def cell_magic(text: str) -> str | None:
    """The name of the cell magic a cell starts with (``time`` for ``%%time``), else None."""
    first = text.lstrip("\ufeff").lstrip(" \t\r\n")
    if not first.startswith("%%"):
        return None
    words = first[2:].split(None, 1)
    return words[0] if words else ""


def _statement_of_magic(content: str, wrap: frozenset[str]) -> str | None:
    """``%time stmt`` as ``0;    stmt`` (same length: the statement keeps its columns) when the
    magic is one of ``wrap`` and its options can be read; else None."""
    match = _LINE_MAGIC.match(content)
    if match is None or match.group(2) not in wrap or content.endswith("\\"):
        return None
    indent, magic, rest = match.group(1), match.group(2), match.group(3)
    takes_value, flags = STATEMENT_MAGICS[magic]
    words = rest.split()
    position = len(indent) + 1 + len(magic)
    consumed = 0
    while consumed < len(words) and words[consumed].startswith("-"):
        option = words[consumed]
        if len(option) < 2 or option[1] not in takes_value | flags:
            return None
        if option[1] in flags and len(option) > 2:
            return None  # `-qo`: combined flags are not read
        if len(option) == 2 and option[1] in takes_value:
            consumed += 1  # `-n 10`: the value is the next word (`-n10` holds it)
        consumed += 1
    if consumed >= len(words):
        return None
    for word in words[:consumed]:
        position = content.index(word, position) + len(word)
    start = position + len(content[position:]) - len(content[position:].lstrip(" \t"))
    if start - len(indent) < 3:
        return None
    return indent + "0;" + " " * (start - len(indent) - 2) + content[start:]


def magic_of_line(line: str) -> str | None:
    """The line magic a line starts with (``timeit`` for ``  %timeit -n 3 f()``), else None."""
    match = _LINE_MAGIC.match(line)
    return match.group(2) if match is not None else None


def mask_magics(text: str, *, for_fix: bool = False) -> str | None:
    """The cell's text with IPython syntax replaced by same-length Python, or None when the cell
    is not kernel Python (``%%bash`` and other cell magics).

    Line magics (``%pip install x``), shell escapes (``!ls``), ``x = !cmd``, ``obj?`` help and the
    first line of a Python cell magic (``%%time``) become comments or ``...``; lines continued
    with a backslash go along. The statement of ``%time``/``%prun`` (and, unless ``for_fix``,
    ``%timeit``/``%memit``) stays visible behind ``0;``. Text that parses as it is, is returned
    unchanged.
    """
    wrap = _WRAP_FOR_FIX if for_fix else _WRAP_FOR_SCAN
    masked = (_mask_for_fix if for_fix else _mask_for_scan)(text)
    if masked is not None and wrap and masked != text and not _parses(masked):
        return _mask(text, frozenset())  # a wrapped statement that does not parse: hide it
    return masked


def _mask(text: str, wrap: frozenset[str]) -> str | None:
    """The cell's text with IPython syntax replaced by same-length Python, or None when the cell
    is not kernel Python (``%%bash`` and other cell magics).

    Line magics (``%pip install x``), shell escapes (``!ls``), ``x = !cmd``, ``obj?`` help and the
    first line of a Python cell magic (``%%time``) become comments or ``...``; lines continued
    with a backslash go along. Text that parses as it is, is returned unchanged.
    """
    magic = cell_magic(text)
    if magic is not None and magic not in PYTHON_CELL_MAGICS:
        return None
    if magic is None and not _MAGIC_START.search(text.replace("\r", "\n")):
        return text
    if magic is None and _parses(text):
        return text
    out: list[str] = []
    continued = False
    seen_magic_line = magic is None
    for match in _LINE.finditer(text):
        content, newline = match.group(1), match.group(2)
        if not content and not newline:
            break
        stripped = content.lstrip(" \t")
        masked = content
        if continued:
            masked = _comment(content)
            continued = content.endswith("\\")
        elif not seen_magic_line and stripped.startswith("%%"):
            masked = _comment(content)
            seen_magic_line = True
        elif (statement := _statement_of_magic(content, wrap)) is not None:
            masked = statement
        elif stripped.startswith(("%", "!", "?")) or _HELP.match(content):
            masked = _statement(content)
            continued = content.endswith("\\")
        elif (assigned := _assigned_magic(content)) is not None:
            target, value = assigned
            masked = target + _neutral(len(value))
            continued = content.endswith("\\")
        out.append(masked + newline)
    return "".join(out)


# Per cell text (masked and as typed): while one cell is edited, the others are not re-parsed.
# Bounded by characters: each keystroke in a cell is a new text (see engine/cache.py).
CACHED_CELL_CHARS = 500_000
_WRAP_FOR_SCAN = frozenset(STATEMENT_MAGICS)
_WRAP_FOR_FIX = _WRAP_FOR_SCAN - SCOPED_STATEMENT_MAGICS
_mask_for_scan = TextCache(lambda text: _mask(text, _WRAP_FOR_SCAN), CACHED_CELL_CHARS)
_mask_for_fix = TextCache(lambda text: _mask(text, _WRAP_FOR_FIX), CACHED_CELL_CHARS)


def _parse_text(text: str) -> tuple[ast.Module | None, str | None, int]:
    """(tree, None, 0) for a parsing text, else (None, "line N: message", 0-based line)."""
    try:
        return ast.parse(text.removeprefix("\ufeff")), None, 0
    except SyntaxError as exc:
        line = exc.lineno or 1
        return None, f"line {line}: {exc.msg or 'invalid syntax'}", max(line - 1, 0)
    except (ValueError, RecursionError, MemoryError) as exc:
        return None, f"cannot parse: {exc}", 0


_parse = TextCache(_parse_text, CACHED_CELL_CHARS)


def _parses(text: str) -> bool:
    return _parse(text)[0] is not None


# -- the joined text ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Part:
    """One parsing code cell inside the joined text."""

    cell: int
    start: int  # offset of the cell's first character in the joined text
    masked: str
    tree: ast.Module

    @property
    def end(self) -> int:
        return self.start + len(self.masked)


@dataclass(frozen=True)
class _Layout:
    text: str
    parts: tuple[_Part, ...]
    broken: tuple[BrokenCell, ...]

    def part_of_cell(self, cell: int) -> _Part | None:
        return next((p for p in self.parts if p.cell == cell), None)

    def part_at(self, offset: int) -> _Part:
        starts = [p.start for p in self.parts]
        return self.parts[max(bisect.bisect_right(starts, offset) - 1, 0)]


def _layout(cells: Sequence[NotebookCell], *, for_fix: bool = False) -> _Layout:
    pieces: list[str] = []
    parts: list[_Part] = []
    broken: list[BrokenCell] = []
    offset = 0
    for index, cell in enumerate(cells):
        if not cell.is_code:
            continue
        masked = mask_magics(cell.text, for_fix=for_fix)
        if masked is None:
            continue
        tree, message, line = _parse(masked)
        if tree is None:
            broken.append(BrokenCell(index, message or "invalid syntax", line, NAME in cell.text))
            continue
        parts.append(_Part(index, offset, masked, tree))
        pieces.append(masked)
        offset += len(masked)
        if masked and not masked.endswith(("\n", "\r")):
            pieces.append("\n")
            offset += 1
    return _Layout("".join(pieces), tuple(parts), tuple(broken))


def _in_cell(finding: Finding, part: _Part, cell_text: str) -> CellFinding:
    """The finding moved from joined-text offsets to the offsets of its cell."""
    index = LineIndex(cell_text)
    start, end = finding.span.start - part.start, finding.span.end - part.start
    values = {f.name: getattr(finding, f.name) for f in fields(Finding)}
    values["span"] = Span(start, end, index.position(start), index.position(end))
    return CellFinding(**values, cell=part.cell)


def scan_notebook(cells: Sequence[NotebookCell]) -> NotebookScan:
    """Every ``load_state_dict`` call in the notebook's code cells, per cell."""
    if not any(cell.is_code and NAME in cell.text for cell in cells):
        return NotebookScan()
    layout = _layout(cells)
    result = scan(layout.text)
    findings = []
    for finding in result.findings:
        part = layout.part_at(finding.span.start)
        found = _in_cell(finding, part, cells[part.cell].text)
        magic = magic_of_line(LineIndex(cells[part.cell].text).line_text(found.line))
        if magic in SCOPED_STATEMENT_MAGICS and found.fixable:
            found = dataclasses.replace(
                found, fixable=False, reason=SCOPED_MAGIC_REASON.format(magic=magic)
            )
        findings.append(found)
    return NotebookScan(tuple(findings), layout.broken)


# -- fixes --------------------------------------------------------------------------------------


def fix_notebook_call(
    cells: Sequence[NotebookCell],
    cell: int,
    finding_start: int,
    settings: Settings | None = None,
) -> NotebookFix:
    """Fix the model call starting at ``finding_start`` (an offset in cell ``cell``), and put the
    KeyMapper into the first code cell unless the notebook has it already."""
    from switcheroo_lsp.engine.rewrite import fix

    settings = settings or Settings()
    layout = _layout(cells, for_fix=True)
    part = layout.part_of_cell(cell)
    if part is None:
        return NotebookFix(error=f"cell {cell + 1} does not parse or is not Python code")
    result = fix(layout.text, part.start + finding_start, settings)
    return _cell_edits(cells, layout, result, settings)


def fix_notebook(cells: Sequence[NotebookCell], settings: Settings | None = None) -> NotebookFix:
    """Rewrite every fixable model call of the notebook, with one KeyMapper in the first code
    cell; idempotent."""
    from switcheroo_lsp.engine.rewrite import fix_all

    settings = settings or Settings()
    if not any(cell.is_code and NAME in cell.text for cell in cells):
        return NotebookFix()
    layout = _layout(cells, for_fix=True)
    result = _cell_edits(cells, layout, fix_all(layout.text, settings), settings)
    return dataclasses.replace(result, skipped=result.skipped + _in_scoped_magics(cells))


def _in_scoped_magics(cells: Sequence[NotebookCell]) -> tuple[tuple[CellFinding, str], ...]:
    """The model calls inside %timeit/%memit lines: reported, left for manual migration."""
    return tuple(
        (finding, finding.reason)
        for finding in scan_notebook(cells).findings
        if finding.reason is not None
        and not finding.fixable
        and magic_of_line(LineIndex(cells[finding.cell].text).line_text(finding.line))
        in SCOPED_STATEMENT_MAGICS
    )


def _top_level_start(part: _Part, offset: int) -> int:
    """Offset (in the cell) of the top-level statement holding ``offset``."""
    index = LineIndex(part.masked)
    for node in part.tree.body:
        start = index.offset_from_ast(node.lineno, node.col_offset)
        end = index.offset_from_ast(node.end_lineno or node.lineno, node.end_col_offset or 0)
        if start <= offset < max(end, start + 1):
            return start
    return len(part.masked) + 1


def _cell_edits(
    cells: Sequence[NotebookCell], layout: _Layout, result: FixResult, settings: Settings
) -> NotebookFix:
    """The engine's result on the joined text as edits per cell, with the notebook's preamble."""

    def located(finding: Finding) -> CellFinding:
        part = layout.part_at(finding.span.start)
        return _in_cell(finding, part, cells[part.cell].text)

    skipped = tuple((located(finding), why) for finding, why in result.skipped)
    if result.error is not None:
        return NotebookFix(error=result.error, skipped=skipped)
    calls = [(f.span.start, f.span.end) for f in scan(layout.text).findings]
    per_cell: dict[int, list[Edit]] = {}
    for edit in result.edits:
        if not any(edit.start <= start and end <= edit.end for start, end in calls):
            continue  # the engine's file-level preamble: a notebook gets its own, below
        part = layout.part_at(edit.start)
        start, end = edit.start - part.start, edit.end - part.start
        original = cells[part.cell].text
        if end > len(part.masked) or original[start:end] != part.masked[start:end]:
            return NotebookFix(
                error="the call's statement overlaps IPython syntax", skipped=skipped
            )
        per_cell.setdefault(part.cell, []).append(
            make_edit(LineIndex(original), start, end, edit.new_text)
        )
    if not per_cell:
        return NotebookFix(skipped=skipped, fixed=0)
    try:
        preamble = _preamble_edit(cells, layout, per_cell, settings)
    except PreambleConflict as exc:
        return NotebookFix(error=str(exc), skipped=skipped)
    if preamble is not None:
        cell, edit = preamble
        per_cell.setdefault(cell, []).append(edit)
    edits: dict[int, tuple[Edit, ...]] = {}
    for cell, cell_edits in sorted(per_cell.items()):
        ordered = tuple(sorted(cell_edits, key=lambda e: (e.start, e.end)))
        try:
            new_text = apply_edits(cells[cell].text, ordered)
        except ValueError as exc:
            return NotebookFix(error=f"internal error: {exc}", skipped=skipped)
        masked = mask_magics(new_text)
        if masked is None or not _parses(masked):
            return NotebookFix(
                error=f"internal error: cell {cell + 1} would not parse after the fix",
                skipped=skipped,
            )
        edits[cell] = ordered
    return NotebookFix(edits=edits, fixed=result.fixed, skipped=skipped)


def _preamble_edit(
    cells: Sequence[NotebookCell],
    layout: _Layout,
    per_cell: dict[int, list[Edit]],
    settings: Settings,
) -> tuple[int, Edit] | None:
    """Where the KeyMapper goes: the first parsing code cell, after its leading imports and
    before any of its statements that run a rewritten call; None when the notebook has one."""
    for part in layout.parts:
        if (
            "KeyMapper" in part.masked
            and head_facts(part.tree, LineIndex(part.masked)).keymapper_bound
        ):
            return None
    part = layout.parts[0]
    limit = min(
        (_top_level_start(part, edit.start) for edit in per_cell.get(part.cell, ())),
        default=len(part.masked) + 1,
    )
    index = LineIndex(part.masked)
    placement = preamble_text_edit(
        part.masked, head_facts(part.tree, index), limit, settings.preamble
    )
    if placement is None:
        return None
    start, end, new_text = placement
    original = cells[part.cell].text
    if end == len(original) and not original.endswith(("\n", "\r")):
        # notebook cells do not end with a line break: start on a new line, add none at the end
        if start == len(original) and original and not new_text.startswith(("\n", "\r")):
            new_text = "\n" + new_text
        for newline in ("\r\n", "\n", "\r"):
            if new_text.endswith(newline):
                new_text = new_text[: -len(newline)]
                break
    return part.cell, make_edit(LineIndex(original), start, end, new_text)
