"""Offsets, positions and edits over source text, all in code points.

Python's parser breaks lines only at ``\\r\\n``, ``\\r`` and ``\\n`` (not at the other characters
``str.splitlines`` knows), and reports columns in UTF-8 bytes: this module is where both are
turned into code-point offsets.
"""

from __future__ import annotations

import operator
import re
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate

from switcheroo_lsp.engine.model import Edit, Position

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class LineIndex:
    """Start offsets of every line of a text, for offset <-> (line, column) conversions."""

    __slots__ = ("text", "starts", "bom")

    def __init__(self, text: str) -> None:
        self.text = text
        # Python parses a UTF-8 file's BOM away; ast columns on line 1 do not count it
        self.bom = text.startswith("\ufeff")
        if "\r" in text and text.count("\r") != text.count("\r\n"):
            self.starts = [0, *(m.end() for m in _LINE_BREAK.finditer(text))]
        else:
            parts = text.split("\n")
            # start of line i = total length of the lines before it + one separator per line
            self.starts = list(
                map(operator.add, accumulate(map(len, parts[:-1]), initial=0), range(len(parts)))
            )

    def line_text(self, line: int) -> str:
        """The text of a 0-based line, including its line break."""
        end = self.starts[line + 1] if line + 1 < len(self.starts) else len(self.text)
        return self.text[self.starts[line] : end]

    def offset(self, line: int, column: int) -> int:
        """Offset of a 0-based (line, code-point column)."""
        return self.starts[line] + column

    def offset_from_ast(self, lineno: int, col_offset: int) -> int:
        """Offset of an ``ast`` position: 1-based line, column in UTF-8 bytes."""
        line = lineno - 1
        start = self.starts[line]
        text = self.line_text(line)
        if line == 0 and self.bom:
            start += 1
            text = text[1:]
        if col_offset == 0:
            return start
        if text.isascii():
            return start + col_offset
        prefix = text.encode("utf-8", "surrogatepass")[:col_offset]
        return start + len(prefix.decode("utf-8", "surrogatepass"))

    def position(self, offset: int) -> Position:
        """The 0-based (line, column) of an offset."""
        line = bisect_right(self.starts, offset) - 1
        return Position(line, offset - self.starts[line])

    def line_of(self, offset: int) -> int:
        """The 0-based line holding an offset."""
        return bisect_right(self.starts, offset) - 1

    def next_line_start(self, offset: int) -> int:
        """Offset of the start of the line after the one holding ``offset`` (or the text's end)."""
        line = self.line_of(offset)
        return self.starts[line + 1] if line + 1 < len(self.starts) else len(self.text)


def make_edit(index: LineIndex, start: int, end: int, new_text: str) -> Edit:
    """An edit replacing ``text[start:end]``, with its positions filled in."""
    return Edit(start, end, new_text, index.position(start), index.position(end))


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    """Apply edits given in offsets of the ORIGINAL text; they must not overlap."""
    ordered = sorted(edits, key=lambda e: (e.start, e.end))
    pieces: list[str] = []
    cursor = 0
    for edit in ordered:
        if edit.start < cursor or edit.end < edit.start or edit.end > len(text):
            raise ValueError(f"overlapping or out-of-range edit at offset {edit.start}")
        pieces.append(text[cursor : edit.start])
        pieces.append(edit.new_text)
        cursor = edit.end
    pieces.append(text[cursor:])
    return "".join(pieces)


def line_after_edits(edits: Sequence[Edit], offset: int, line: int) -> int:
    """The 0-based line that the text at ``offset`` (on ``line``) of the ORIGINAL text is on
    once ``edits`` are applied. Edits ending at or before ``offset`` move it by the lines they
    add or remove (an insertion right at ``offset`` pushes it down); an edit replacing the text
    around ``offset`` puts it where that edit starts."""
    anchor = line
    shift = 0
    for edit in edits:
        if edit.end <= offset:
            removed = edit.end_pos.line - edit.start_pos.line
            shift += len(_LINE_BREAK.findall(edit.new_text)) - removed
        elif edit.start < offset:
            anchor = min(anchor, edit.start_pos.line)
    return anchor + shift


def detect_newline(text: str) -> str:
    """The text's line break: that of its first line (``\\n`` when it has none)."""
    match = _LINE_BREAK.search(text)
    return match.group() if match else "\n"
