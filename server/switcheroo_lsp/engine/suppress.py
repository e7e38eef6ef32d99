"""Suppression comments, as ruff users write them.

- ``# noqa: checkpoint-keys`` (codes separated by commas or spaces) on the call's first line or on
  the first line of the statement holding it silences those codes for that call;
- a bare ``# noqa`` silences every code;
- ``# switcheroo: noqa`` on a line of its own silences the whole file (``# switcheroo: noqa:
  checkpoint-keys`` only those codes).

Only real comments count (a ``# noqa`` inside a string does not): comments are found with
:mod:`tokenize`. A suppressed call is neither reported nor fixed, by the CLI and the server alike,
because :mod:`switcheroo_lsp.engine.scan` drops it before anyone sees it.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from switcheroo_lsp.engine.model import Edit
from switcheroo_lsp.engine.text import LineIndex, make_edit

# `# noqa`, `# noqa: a-b, c`, `#noqa:a-b c`, also after other text in the comment.
_NOQA = re.compile(
    r"#\s*noqa(?![\w-])(?P<colon>\s*:\s*(?P<codes>[A-Za-z][\w-]*(?:[\s,]+[A-Za-z][\w-]*)*))?",
    re.IGNORECASE,
)
_FILE_NOQA = re.compile(
    r"^#\s*switcheroo\s*:\s*noqa(?![\w-])(?:\s*:\s*(?P<codes>[A-Za-z][\w-]*(?:[\s,]+[A-Za-z][\w-]*)*))?",
    re.IGNORECASE,
)
_SPLIT = re.compile(r"[\s,]+")
# Physical lines as Python counts them (str.splitlines also breaks at form feeds and U+2028).
_PHYSICAL_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")

ALL = None  # a bare noqa: every code


@dataclass(frozen=True)
class Suppressions:
    """The suppression comments of one text."""

    lines: dict[int, frozenset[str] | None] = field(default_factory=dict)  # 0-based line -> codes
    file: frozenset[str] | None = frozenset()  # codes silenced in the whole file (None: all)

    def silences(self, code: str, lines: Iterable[int]) -> bool:
        """True when ``code`` is silenced for a call whose relevant lines are ``lines``."""
        if self.file is ALL or code in self.file:
            return True
        for line in lines:
            codes = self.lines.get(line, frozenset())
            if codes is ALL or code in codes:
                return True
        return False


NONE = Suppressions()


def _codes(raw: str | None) -> frozenset[str] | None:
    if raw is None:
        return ALL
    return frozenset(code.lower() for code in _SPLIT.split(raw.strip()) if code)


_CANDIDATE = re.compile(r"#[^\r\n]*noqa", re.IGNORECASE)
_FILE_CANDIDATE = re.compile(r"^[ \t]*#\s*switcheroo\s*:\s*noqa", re.IGNORECASE | re.MULTILINE)


def find_suppressions(text: str, relevant: Iterable[int] | None = None) -> Suppressions:
    """Every ``# noqa`` and ``# switcheroo: noqa`` comment of ``text``. With ``relevant`` lines
    (0-based), only comments on those lines matter: when none of them (and no line of its own)
    mentions noqa, the text is not tokenized at all (that costs as much as half a scan)."""
    if "noqa" not in text.lower():
        return NONE
    if relevant is not None and _FILE_CANDIDATE.search(text) is None:
        index = LineIndex(text)
        candidates = {index.line_of(m.start()) for m in _CANDIDATE.finditer(text)}
        if not candidates.intersection(relevant):
            return NONE
    lines: dict[int, frozenset[str] | None] = {}
    file: frozenset[str] | None = frozenset()
    for line, column, comment, alone in _comments(text):
        del column
        file_match = _FILE_NOQA.match(comment) if alone else None
        if file_match is not None:
            codes = _codes(file_match.group("codes"))
            file = ALL if codes is ALL or file is ALL else file | codes
            continue
        match = _NOQA.search(comment)
        if match is not None:
            lines[line] = _codes(match.group("codes"))
    return Suppressions(lines, file)


def _comments(text: str) -> list[tuple[int, int, str, bool]]:
    """(0-based line, column, comment text, alone on its line) of every comment token."""
    found: list[tuple[int, int, str, bool]] = []
    source_lines = _PHYSICAL_LINE.findall(text)
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                row, column = token.start
                alone = source_lines[row - 1][:column].strip() == ""
                found.append((row - 1, column, token.string, alone))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass  # a text that does not tokenize to its end: the comments found so far count
    return found


def _lines_ending_in_strings(text: str) -> set[int]:
    """0-based lines whose end lies inside a multi-line string (a comment cannot go there)."""
    inside: set[int] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.STRING and token.end[0] > token.start[0]:
                inside.update(range(token.start[0] - 1, token.end[0] - 1))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    return inside


def add_noqa(text: str, wanted: Mapping[int, Iterable[str]]) -> tuple[str, int]:
    """``text`` with each code of ``wanted`` (0-based line -> codes) added to that line's
    ``# noqa`` comment, or a ``  # noqa: codes`` comment appended to the line. Other comments
    and codes already there are kept; a line ending inside a multi-line string is left alone.
    Returns the new text and the number of lines changed."""
    comments = {line: (column, comment) for line, column, comment, _ in _comments(text)}
    in_strings = _lines_ending_in_strings(text)
    lines = _PHYSICAL_LINE.findall(text)
    changed = 0
    for number in sorted(wanted):
        if number >= len(lines) or number in in_strings:
            continue
        raw = lines[number]
        body = raw.rstrip("\r\n")
        ending = raw[len(body) :]
        new_body = _line_with_codes(body, comments.get(number), sorted(set(wanted[number])))
        if new_body != body:
            lines[number] = new_body + ending
            changed += 1
    return "".join(lines), changed


def _line_with_codes(body: str, comment: tuple[int, str] | None, codes: list[str]) -> str:
    if comment is not None:
        column, text = comment
        match = _NOQA.search(text)
        if match is not None:
            present = _codes(match.group("codes"))
            if present is ALL:
                return body
            missing = [code for code in codes if code not in present]
            if not missing:
                return body
            end = column + match.end()
            return f"{body[:end]}, {', '.join(missing)}{body[end:]}"
    return f"{body.rstrip()}  # noqa: {', '.join(codes)}"


def noqa_edit(text: str, line: int, code: str) -> Edit | None:
    """The edit adding ``code`` to the ``# noqa`` of ``line`` (0-based), as --add-noqa would;
    None when there is nothing to add or no comment can go there."""
    new_text, changed = add_noqa(text, {line: [code]})
    if not changed:
        return None
    index = LineIndex(text)
    start = index.offset(line, 0)
    end = start + len(index.line_text(line).rstrip("\r\n"))
    new_index = LineIndex(new_text)
    new_line = new_index.line_text(line).rstrip("\r\n")
    return make_edit(index, start, end, new_line)
