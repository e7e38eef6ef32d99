"""Reading and writing ``.ipynb`` files without disturbing them.

A fix rewrites only the ``source`` values of the cells it changes, in place in the file's text:
indentation, key order, escapes, outputs, metadata, cell ids and the trailing newline are the
bytes they were, because they are never re-serialized. A changed source keeps its form (a list
of lines or one string) and the layout of the list it replaces.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from json import JSONDecodeError
from json.decoder import scanstring  # type: ignore[attr-defined]  # public, not in typeshed
from typing import Any

from switcheroo_lsp.engine.notebook import NotebookCell

_WHITESPACE = re.compile(r"[ \t\n\r]*")
PYTHON_LANGUAGES = frozenset({"python", "python3", "python2", "ipython", "ipython3"})


class NotebookError(Exception):
    """A file that is not a notebook this tool can read; the message says why."""


@dataclass(frozen=True)
class SourceSpan:
    """Where one cell's ``source`` value sits in the file's text."""

    start: int
    end: int
    is_list: bool


@dataclass(frozen=True)
class Notebook:
    """A parsed notebook: its text, its cells, and where each cell's source is written."""

    text: str
    cells: tuple[NotebookCell, ...]
    spans: tuple[SourceSpan, ...]
    language: str | None  # from the notebook's metadata; None when it does not say

    @property
    def is_python(self) -> bool:
        """True unless the metadata names another kernel language (R, Julia, ...)."""
        return self.language is None or self.language.lower() in PYTHON_LANGUAGES

    def with_sources(self, sources: Mapping[int, str]) -> str:
        """The file's text with the given cells' sources replaced and nothing else touched."""
        pieces: list[str] = []
        cursor = 0
        ascii_only = _escapes_non_ascii(self.text)
        for index in sorted(sources):
            span = self.spans[index]
            pieces.append(self.text[cursor : span.start])
            old_value = self.text[span.start : span.end]
            pieces.append(_render(sources[index], span, old_value, self.text, ascii_only))
            cursor = span.end
        pieces.append(self.text[cursor:])
        new_text = "".join(pieces)
        check = parse_notebook(new_text)  # never hand out a file that does not read back
        for index, cell in enumerate(check.cells):
            expected = sources.get(index, self.cells[index].text)
            if cell.text != expected:
                raise NotebookError(f"internal error: cell {index + 1} did not round-trip")
        return new_text


def _escapes_non_ascii(text: str) -> bool:
    """Whether the file writes non-ASCII characters as ``\\uXXXX`` (json.dumps' default)."""
    if not text.isascii():
        return False
    return bool(re.search(r"\\u(?:00[89a-fA-F]|0[1-9a-fA-F]|[1-9a-fA-F])", text))


def _skip(text: str, position: int) -> int:
    match = _WHITESPACE.match(text, position)
    return match.end() if match else position


def _expect(text: str, position: int, char: str) -> int:
    position = _skip(text, position)
    if position >= len(text) or text[position] != char:
        raise NotebookError(f"not a notebook: expected {char!r} at offset {position}")
    return position + 1


def _members(text: str, position: int, decoder: json.JSONDecoder) -> list[tuple[str, int, int]]:
    """(key, value start, value end) of the JSON object starting at ``position``."""
    position = _expect(text, position, "{")
    members: list[tuple[str, int, int]] = []
    position = _skip(text, position)
    if position < len(text) and text[position] == "}":
        return members
    while True:
        position = _expect(text, position, '"')
        key, position = scanstring(text, position)
        position = _expect(text, position, ":")
        start = _skip(text, position)
        _, end = decoder.raw_decode(text, start)
        members.append((key, start, end))
        position = _skip(text, end)
        if position < len(text) and text[position] == ",":
            position += 1
            continue
        _expect(text, position, "}")
        return members


def _elements(text: str, position: int, decoder: json.JSONDecoder) -> list[int]:
    """Start offsets of the values of the JSON array starting at ``position``."""
    position = _expect(text, position, "[")
    starts: list[int] = []
    position = _skip(text, position)
    if position < len(text) and text[position] == "]":
        return starts
    while True:
        start = _skip(text, position)
        _, end = decoder.raw_decode(text, start)
        starts.append(start)
        position = _skip(text, end)
        if position < len(text) and text[position] == ",":
            position += 1
            continue
        _expect(text, position, "]")
        return starts


def _source_text(value: Any, index: int) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(line, str) for line in value):
        return "".join(value)
    raise NotebookError(f"not a notebook: cell {index + 1} has a source that is not text")


def _language(data: Mapping[str, Any]) -> str | None:
    metadata = data.get("metadata")
    if not isinstance(metadata, Mapping):
        return None
    for key, field in (("kernelspec", "language"), ("language_info", "name")):
        section = metadata.get(key)
        if isinstance(section, Mapping) and isinstance(section.get(field), str):
            return str(section[field])
    return None


def parse_notebook(text: str) -> Notebook:
    """Read a notebook's text; NotebookError with a readable reason for anything else."""
    try:
        data = json.loads(text.lstrip("\ufeff"))
    except JSONDecodeError as exc:
        raise NotebookError(
            f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except RecursionError:
        raise NotebookError("not a notebook: JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise NotebookError("not a notebook: the JSON is not an object")
    if "cells" not in data:
        if "worksheets" in data:
            raise NotebookError("nbformat 3 notebooks are not supported (convert with nbconvert)")
        raise NotebookError("not a notebook: no 'cells'")
    raw_cells = data["cells"]
    if not isinstance(raw_cells, list):
        raise NotebookError("not a notebook: 'cells' is not a list")
    decoder = json.JSONDecoder()
    try:
        top = {key: start for key, start, _ in _members(text.lstrip("\ufeff"), 0, decoder)}
    except (JSONDecodeError, NotebookError, RecursionError) as exc:
        raise NotebookError(f"cannot locate the cells in the file ({exc})") from None
    offset = len(text) - len(text.lstrip("\ufeff"))
    cells: list[NotebookCell] = []
    spans: list[SourceSpan] = []
    try:
        cell_starts = _elements(text, top["cells"] + offset, decoder)
    except (JSONDecodeError, NotebookError, RecursionError) as exc:
        raise NotebookError(f"cannot locate the cells in the file ({exc})") from None
    if len(cell_starts) != len(raw_cells):
        raise NotebookError("cannot locate the cells in the file")
    for index, (cell, start) in enumerate(zip(raw_cells, cell_starts, strict=True)):
        if not isinstance(cell, dict):
            raise NotebookError(f"not a notebook: cell {index + 1} is not an object")
        members = {key: (s, e) for key, s, e in _members(text, start, decoder)}
        if "source" not in members:
            raise NotebookError(f"not a notebook: cell {index + 1} has no source")
        source = cell["source"]
        cells.append(NotebookCell(_source_text(source, index), cell.get("cell_type") == "code"))
        value_start, value_end = members["source"]
        spans.append(SourceSpan(value_start, value_end, isinstance(source, list)))
    return Notebook(text, tuple(cells), tuple(spans), _language(data))


def source_lines(source: str) -> list[str]:
    """The source split the way Jupyter stores it: each line keeps its ``\\n``."""
    return re.findall(r"[^\n]*\n|[^\n]+", source)


def _line_indent(text: str, position: int) -> str:
    start = text.rfind("\n", 0, position) + 1
    line = text[start:position]
    return line[: len(line) - len(line.lstrip(" \t"))]


def _render(source: str, span: SourceSpan, old_value: str, text: str, ascii_only: bool) -> str:
    """A JSON value for ``source`` in the form and layout of the value it replaces."""

    def encode(value: str) -> str:
        return json.dumps(value, ensure_ascii=ascii_only)

    if not span.is_list:
        return encode(source)
    items = [encode(line) for line in source_lines(source)]
    if not items:
        return "[]"
    inner = old_value[1:-1]
    if inner.strip():
        opening = inner[: len(inner) - len(inner.lstrip())]
        closing = inner[len(inner.rstrip()) :]
        after_comma = re.search(r",(\s*)\"", inner)
        separator = "," + (after_comma.group(1) if after_comma else opening)
    else:  # was empty: one item per line, one level deeper than the key
        key_indent = _line_indent(text, span.start)
        unit = _indent_unit(text)
        if unit is None:
            opening, closing, separator = "", "", ", "
        else:
            opening = "\n" + key_indent + unit
            closing = "\n" + key_indent
            separator = "," + opening
    return "[" + opening + separator.join(items) + closing + "]"


def _indent_unit(text: str) -> str | None:
    """The file's indentation step (`` `` for nbformat's indent=1), or None for one-line JSON."""
    match = re.search(r"\{\n([ \t]+)\"", text)
    return match.group(1) if match else None
