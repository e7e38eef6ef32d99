"""Code-point offsets <-> LSP positions in the negotiated encoding (UTF-8, UTF-16 or UTF-32).

The engine speaks code-point offsets into a ``str``. LSP speaks (line, character) where lines end at
``\\n``, ``\\r\\n`` or ``\\r`` only (not at form feeds or U+2028 as ``str.splitlines`` would) and
characters are counted in the client's code units. Everything that crosses that border goes through
a :class:`LineIndex`.
"""

from __future__ import annotations

import bisect
import enum
import itertools
import re

from lsprotocol import types

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class Encoding(enum.Enum):
    """The position encodings LSP defines; the value is what goes over the wire."""

    UTF8 = "utf-8"
    UTF16 = "utf-16"
    UTF32 = "utf-32"

    @classmethod
    def parse(cls, value: object) -> Encoding:
        """The encoding named by ``value``; UTF-16 (the LSP default) for anything unknown."""
        raw = getattr(value, "value", value)
        for member in cls:
            if member.value == raw:
                return member
        return cls.UTF16

    def units(self, text: str) -> int:
        """How many code units ``text`` takes in this encoding."""
        if self is Encoding.UTF32 or text.isascii():
            return len(text)
        if self is Encoding.UTF16:
            return len(text.encode("utf-16-le", "surrogatepass")) // 2
        return len(text.encode("utf-8", "surrogatepass"))

    def char_units(self, char: str) -> int:
        """Code units of one code point."""
        point = ord(char)
        if self is Encoding.UTF32 or point < 0x80:
            return 1
        if self is Encoding.UTF16:
            return 2 if point > 0xFFFF else 1
        if point < 0x800:
            return 2
        return 3 if point < 0x10000 else 4


def split_lines(text: str) -> list[str]:
    """The text's lines as LSP counts them, each with its line break (the last may have none)."""
    lines: list[str] = []
    start = 0
    for match in _LINE_BREAK.finditer(text):
        lines.append(text[start : match.end()])
        start = match.end()
    lines.append(text[start:])
    return lines


class LineIndex:
    """Line starts of one text, for converting offsets and positions both ways."""

    __slots__ = ("text", "_starts", "_content_ends")

    def __init__(self, text: str) -> None:
        self.text = text
        if "\r" not in text:
            # Fast path for the common case: only \n line breaks.
            lengths = [len(line) + 1 for line in text.split("\n")]
            self._starts = [0, *itertools.accumulate(lengths[:-1])]
            self._content_ends = [
                start + length - 1 for start, length in zip(self._starts, lengths, strict=True)
            ]
        else:
            self._starts = [0]
            self._content_ends = []
            for match in _LINE_BREAK.finditer(text):
                self._content_ends.append(match.start())
                self._starts.append(match.end())
            self._content_ends.append(len(text))

    @property
    def line_count(self) -> int:
        """Number of lines (a text ending in a line break has an empty last line)."""
        return len(self._starts)

    def line_of(self, offset: int) -> int:
        """The 0-based line holding ``offset``."""
        return bisect.bisect_right(self._starts, offset) - 1

    def line_text(self, line: int) -> str:
        """The content of ``line`` without its line break."""
        return self.text[self._starts[line] : self._content_ends[line]]

    def position(self, offset: int, encoding: Encoding) -> types.Position:
        """The LSP position of a code-point offset (clamped to the text)."""
        offset = min(max(offset, 0), len(self.text))
        line = self.line_of(offset)
        start = self._starts[line]
        # An offset inside a \r\n pair (or past the content) is the end of the line's content.
        column_end = min(offset, self._content_ends[line])
        return types.Position(line=line, character=encoding.units(self.text[start:column_end]))

    def range(self, start: int, end: int, encoding: Encoding) -> types.Range:
        """The LSP range of the code-point offsets ``[start, end)``."""
        return types.Range(start=self.position(start, encoding), end=self.position(end, encoding))

    def offset(self, position: types.Position, encoding: Encoding) -> int:
        """The code-point offset of an LSP position.

        Out-of-range positions are clamped as the specification says: a line past the end means the
        end of the text, a character past the line's end means the line's end. A character inside a
        multi-unit code point (half a surrogate pair) resolves to that code point's start.
        """
        line = position.line
        if line < 0:
            return 0
        if line >= len(self._starts):
            return len(self.text)
        start = self._starts[line]
        content_end = self._content_ends[line]
        wanted = max(position.character, 0)
        content = self.text[start:content_end]
        if encoding is Encoding.UTF32 or content.isascii():
            return start + min(wanted, len(content))
        units = 0
        for index, char in enumerate(content):
            width = encoding.char_units(char)
            if units + width > wanted:
                return start + index
            units += width
        return content_end

    def offset_range(self, range_: types.Range, encoding: Encoding) -> tuple[int, int]:
        """Code-point offsets of an LSP range, ordered even if the client sent them reversed."""
        start = self.offset(range_.start, encoding)
        end = self.offset(range_.end, encoding)
        return (start, end) if start <= end else (end, start)
