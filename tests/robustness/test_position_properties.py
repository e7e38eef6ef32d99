"""Property tests of the LSP shell's position arithmetic against an editor's.

Texts mix astral-plane characters (two UTF-16 units, four UTF-8 bytes), CJK, accents, LF, CRLF
and lone CR line breaks, and characters Python's ``str.splitlines`` treats as line breaks but
LSP does not (form feed, U+2028, U+0085). An incremental change sent in the client's encoding
must produce, in the server's document, exactly the text the editor has; positions and offsets
must convert back and forth losslessly.
"""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from clientside import client_position
from switcheroo_lsp.lsp.documents import LspTextDocument
from switcheroo_lsp.lsp.positions import Encoding, LineIndex

ROBUST = settings.get_profile("robustness")
PIECES = [
    "a",
    "x = 1",
    "é",
    "模型",
    "🚀",
    "𝔘",
    "\n",
    "\r\n",
    "\r",
    "\x0c",
    "\u2028",
    "\x85",
    "\t",
    " ",
]
TEXTS = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)
ENCODINGS = st.sampled_from([Encoding.UTF16, Encoding.UTF8, Encoding.UTF32])


def valid_offsets(text: str) -> list[int]:
    """Offsets an editor can name: never between the \\r and \\n of one line break."""
    return [o for o in range(len(text) + 1) if text[o - 1 : o + 1] != "\r\n"]


@ROBUST
@given(data=st.data(), text=TEXTS, new_text=TEXTS, encoding=ENCODINGS)
def test_incremental_change_gives_the_editors_text(
    data: st.DataObject, text: str, new_text: str, encoding: Encoding, figures: Counter[str]
) -> None:
    offsets = valid_offsets(text)
    start = data.draw(st.sampled_from(offsets))
    end = data.draw(st.sampled_from([o for o in offsets if o >= start]))
    document = LspTextDocument(
        "file:///doc.py", source=text, version=1, position_codec=PositionCodec(encoding.value)
    )
    change = types.TextDocumentContentChangePartial(
        range=types.Range(
            start=client_position(text, start, encoding.value),
            end=client_position(text, end, encoding.value),
        ),
        text=new_text,
    )
    document.apply_change(change)
    assert document.source == text[:start] + new_text + text[end:]
    figures["positions: incremental changes checked"] += 1


@ROBUST
@given(text=TEXTS, encoding=ENCODINGS)
def test_offsets_and_positions_round_trip(text: str, encoding: Encoding) -> None:
    index = LineIndex(text)
    for offset in valid_offsets(text):
        position = index.position(offset, encoding)
        assert position == client_position(text, offset, encoding.value)
        assert index.offset(position, encoding) == offset
