"""The shell's own small rules, as tables: code action kind matching, carried-over diagnostics."""

from __future__ import annotations

import pytest

from switcheroo_lsp.engine import scan
from switcheroo_lsp.lsp.actions import FIX_ALL_KIND, QUICKFIX_KIND, kind_requested
from switcheroo_lsp.lsp.diagnostics import analyse, carried_over
from switcheroo_lsp.lsp.positions import Encoding
from switcheroo_lsp.settings import Settings


@pytest.mark.parametrize(
    ("only", "kind", "requested"),
    [
        (None, QUICKFIX_KIND, True),  # no filter: everything but source actions
        (None, FIX_ALL_KIND, False),
        (["source"], FIX_ALL_KIND, True),
        (["source.fixAll"], FIX_ALL_KIND, True),
        (["source.fixAll.switcheroo"], FIX_ALL_KIND, True),
        (["source.fix"], FIX_ALL_KIND, False),  # a prefix ends at a dot
        (["source.fixAll.ruff"], FIX_ALL_KIND, False),
        ([""], FIX_ALL_KIND, False),
        (["quickfix"], FIX_ALL_KIND, False),
        (["quickfix"], QUICKFIX_KIND, True),
        (["source"], QUICKFIX_KIND, False),
        (["refactor", "source.fixAll"], FIX_ALL_KIND, True),
    ],
)
def test_code_action_kinds_match_by_prefix(only, kind, requested):
    assert kind_requested(only, kind) is requested


GOOD = "import torch\nmodel.load_state_dict(a)\nx = 1\nnet.load_state_dict(b)\n"


def good_analysis():
    return analyse("file:///t.py", 1, GOOD, Settings(), 0, Encoding.UTF16, None)


def test_a_broken_edit_keeps_calls_that_did_not_move():
    broken = GOOD.replace("x = 1", "x = (")  # same length: nothing moves
    kept = carried_over(good_analysis(), broken)
    assert [GOOD[f.span.start : f.span.end] for f in kept] == [
        "model.load_state_dict(a)",
        "net.load_state_dict(b)",
    ]


def test_a_broken_edit_drops_calls_that_moved():
    broken = GOOD.replace("x = 1", "x = (((")  # the second call shifts by two
    kept = carried_over(good_analysis(), broken)
    assert [GOOD[f.span.start : f.span.end] for f in kept] == ["model.load_state_dict(a)"]


def test_without_a_good_version_nothing_is_carried_over():
    assert carried_over(None, GOOD) == ()


def test_analysis_of_a_broken_text_shows_only_carried_over_calls_at_their_new_place():
    broken = "# one more line\n" + GOOD.replace("x = 1", "x = (")
    analysis = analyse("file:///t.py", 2, broken, Settings(), 0, Encoding.UTF16, good_analysis())
    assert scan(broken).syntax_error is not None
    assert analysis.diagnostics == ()  # everything moved down a line: nothing is shown stale
    assert analysis.fixable == ()
