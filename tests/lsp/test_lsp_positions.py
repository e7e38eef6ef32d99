"""Code-point offsets <-> LSP positions, in UTF-8, UTF-16 and UTF-32."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lsprotocol.types import Position, Range

from switcheroo_lsp.lsp.positions import Encoding, LineIndex, split_lines

EMOJI_LINE = 'x = "😀 中文"; model.load_state_dict(sd)\n'
CALL = EMOJI_LINE.index("model")


@pytest.mark.parametrize(
    ("encoding", "character"),
    [
        # 'x = "' is 5, the emoji is 4 UTF-8 bytes / 2 UTF-16 units / 1 code point,
        # ' ' 1, each CJK character 3 bytes / 1 unit / 1 code point, then '"; ' is 3.
        (Encoding.UTF8, 5 + 4 + 1 + 6 + 3),
        (Encoding.UTF16, 5 + 2 + 1 + 2 + 3),
        (Encoding.UTF32, 5 + 1 + 1 + 2 + 3),
    ],
)
def test_a_call_after_emoji_and_cjk_is_counted_in_the_clients_units(encoding, character):
    index = LineIndex("import torch\n" + EMOJI_LINE)
    offset = len("import torch\n") + CALL
    assert index.position(offset, encoding) == Position(line=1, character=character)
    assert index.offset(Position(line=1, character=character), encoding) == offset


def test_crlf_and_lone_cr_end_lines_but_form_feed_and_u2028_do_not():
    text = "a\r\nb\rc\x0cd\u2028e\nf"
    assert split_lines(text) == ["a\r\n", "b\r", "c\x0cd\u2028e\n", "f"]
    index = LineIndex(text)
    assert index.line_count == 4
    assert index.position(text.index("e"), Encoding.UTF16) == Position(line=2, character=4)
    assert index.offset(Position(line=3, character=0), Encoding.UTF16) == text.index("f")


def test_tabs_count_as_one_unit():
    index = LineIndex("\tmodel.load_state_dict(sd)")
    assert index.position(1, Encoding.UTF8) == Position(line=0, character=1)


def test_positions_past_the_line_or_the_text_are_clamped():
    index = LineIndex("ab\r\ncd")
    assert index.offset(Position(line=0, character=99), Encoding.UTF16) == 2
    assert index.offset(Position(line=7, character=0), Encoding.UTF16) == 6
    # The middle of \r\n is the end of the line's content.
    assert index.position(3, Encoding.UTF16) == Position(line=0, character=2)


def test_half_a_surrogate_pair_resolves_to_the_code_point_start():
    index = LineIndex("😀x")
    assert index.offset(Position(line=0, character=1), Encoding.UTF16) == 0
    assert index.offset(Position(line=0, character=2), Encoding.UTF16) == 1


def test_reversed_ranges_are_ordered():
    index = LineIndex("abc")
    backwards = Range(start=Position(line=0, character=3), end=Position(line=0, character=1))
    assert index.offset_range(backwards, Encoding.UTF32) == (1, 3)


def test_unknown_encodings_fall_back_to_utf16():
    assert Encoding.parse("utf-7") is Encoding.UTF16
    assert Encoding.parse(None) is Encoding.UTF16


_text = st.lists(
    st.sampled_from(["a", " ", "\t", "\n", "\r", "\r\n", "é", "中", "😀", "\x0c"]), max_size=40
).map("".join)


def _units(text: str, encoding: Encoding) -> int:
    """An independent oracle: count code units with the codec itself."""
    codec = {"utf-8": "utf-8", "utf-16": "utf-16-le", "utf-32": "utf-32-le"}[encoding.value]
    width = {"utf-8": 1, "utf-16": 2, "utf-32": 4}[encoding.value]
    return len(text.encode(codec)) // width


@given(_text, st.data(), st.sampled_from(list(Encoding)))
def test_offset_and_position_round_trip(text, data, encoding):
    offset = data.draw(st.integers(min_value=0, max_value=len(text)))
    index = LineIndex(text)
    position = index.position(offset, encoding)
    line_start = index.offset(Position(line=position.line, character=0), encoding)
    prefix = text[line_start:offset]
    if "\r" in prefix or "\n" in prefix:  # offset inside a \r\n pair
        assert text[offset - 1 : offset + 1] == "\r\n"
        return
    assert position.character == _units(prefix, encoding)
    assert index.offset(position, encoding) == offset
