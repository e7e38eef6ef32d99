"""Property-based tests of the engine on generated Python (see source_strategies.py).

For every generated text: scanning never raises; every fix result (fix-all and each single fix)
parses; fix-all is idempotent; edits are sorted and never overlap; only the edited calls'
statements and blank lines at the preamble's place change, comments inside them survive, and
everything else is byte-for-byte the same; the edits converted by the LSP shell to UTF-16 and
UTF-8 positions and applied as an editor applies them give the engine's own result.
"""

from __future__ import annotations

from collections import Counter

import pytest
from engine_properties import check_fix_result, check_program, client_apply
from hypothesis import example, given, settings
from hypothesis import strategies as st
from source_strategies import damaged_programs, python_programs

from switcheroo_lsp.engine import apply_edits, fix, fix_all, scan
from switcheroo_lsp.engine.model import Edit, Position
from switcheroo_lsp.lsp.positions import Encoding

pytestmark = pytest.mark.slow  # hypothesis over generated programs, about 50 s

ROBUST = settings.get_profile("robustness")
# whole programs with every single fix checked cost ~10x a scan: a third of the examples
HEAVY = settings(ROBUST, max_examples=max(10, ROBUST.max_examples // 3))


@HEAVY
@given(text=python_programs())
@example(text="model.load_state_dict(sd)\r\n")
@example(text="\ufeffimport torch\nmodel.load_state_dict(sd)")
@example(text="\ufeff\nmodel.load_state_dict(sd)")  # bug: the preamble went above the BOM
@example(text="\ufeff#!/usr/bin/env python\nmodel.load_state_dict(sd)\n")
@example(text="\ufeffmodel.load_state_dict(sd)\n")
@example(text='# -*- coding: utf-8 -*-\r"""🚀"""\rx = \'𝔘\'; net.load_state_dict(sd)\r')
def test_generated_programs_keep_every_property(text: str, figures: Counter[str]) -> None:
    figures["engine: generated programs"] += 1
    figures["engine: edits checked"] += check_program(text)


@ROBUST
@given(text=damaged_programs())
def test_damaged_programs_never_raise_and_never_get_edits(text: str, figures: Counter[str]) -> None:
    figures["engine: damaged programs"] += 1
    result = scan(text)
    if result.syntax_error is not None:
        assert result.findings == ()
        assert result.syntax_error_line is not None and result.syntax_error_line >= 0
        assert fix_all(text).edits == ()
    elif "load_state_dict" not in text:  # not even parsed: nothing to find, nothing to fix
        assert result.findings == () and fix_all(text).edits == ()
    else:
        figures["engine: edits checked"] += check_program(text, each_call=False)


@ROBUST
@given(
    text=st.text(
        alphabet=st.characters(codec=None, exclude_categories=()),
        max_size=300,
    ).map(lambda noise: "model.load_state_dict(sd)\n" + noise)
)
def test_arbitrary_text_never_raises(text: str, figures: Counter[str]) -> None:
    """Any code points at all, lone surrogates and NULs included (a JSON client can send them)."""
    figures["engine: arbitrary texts"] += 1
    scan(text)
    result = fix_all(text)
    if result.edits:
        figures["engine: edits checked"] += check_fix_result(text, result)


@ROBUST
@given(text=python_programs(), offset=st.integers(-5, 10_000))
def test_fix_at_any_offset_never_raises(text: str, offset: int, figures: Counter[str]) -> None:
    """A stale or wrong offset from a client gets an error, never an exception or a wrong edit."""
    figures["engine: fix at arbitrary offsets"] += 1
    starts = {f.span.start for f in scan(text).findings if f.fixable}
    result = fix(text, offset)
    if offset in starts:
        figures["engine: edits checked"] += check_fix_result(text, result)
    else:
        assert result.error is not None and result.edits == ()


@pytest.mark.parametrize("encoding", [Encoding.UTF16, Encoding.UTF8])
def test_client_application_catches_a_wrong_conversion(encoding: Encoding) -> None:
    """The client-side check can fail: a code-point column sent as is is wrong after 🚀."""
    text = "x = '🚀'; model.load_state_dict(sd)\n"
    start = text.index("model")
    edit = Edit(
        start, start + 5, "net", Position(0, start), Position(0, start + 5)
    )  # what the engine would produce
    assert client_apply(text, [edit], encoding) == apply_edits(text, [edit])
    shifted = Edit(start - 1, start + 4, "net", Position(0, start - 1), Position(0, start + 4))
    assert client_apply(text, [shifted], encoding) != apply_edits(text, [edit])


def test_the_property_check_rejects_an_edit_outside_the_call() -> None:
    """check_fix_result is not vacuous: an edit that also rewrites a neighbouring line fails it."""
    text = "import torch\nx = 1  # keep\nmodel.load_state_dict(sd)\n"
    good = fix_all(text)
    assert check_fix_result(text, good) == 2
    call = next(e for e in good.edits if e.new_text.startswith("variables ="))
    start = text.index("x = 1")
    widened = Edit(start, call.end, call.new_text, Position(1, 0), call.end_pos)
    bad = type(good)(edits=tuple(e if e is not call else widened for e in good.edits), fixed=1)
    with pytest.raises(AssertionError):
        check_fix_result(text, bad)


def _deep_texts() -> list[str]:
    texts = []
    for depth in (300, 900, 990, 5000):
        texts += [
            "x = " + "+".join(["a"] * depth) + "; model.load_state_dict(sd)\n",
            "model.load_state_dict(" + "-" * depth + "a)\n",
            "model.load_state_dict(sd)" + ".x" * depth + "\n",
            "model.load_state_dict(" + "[" * min(depth, 199) + "]" * min(depth, 199) + ")\n",
        ]
    return texts


@pytest.mark.parametrize("text", _deep_texts(), ids=lambda t: f"{t[:12]}...{len(t)}")
def test_absurd_nesting_under_a_deep_caller_stack(text: str) -> None:
    """Nesting near and past the interpreter's limits, scanned from an already deep stack (as in
    a server's worker): a result or a clear error, never RecursionError."""

    def called_from_depth(levels: int) -> None:
        if levels:
            return called_from_depth(levels - 1)
        result = scan(text)
        assert (result.syntax_error is None) == bool(result.findings)
        fixed = fix_all(text)
        if fixed.edits:
            check_fix_result(text, fixed)
        else:
            assert fixed.error or fixed.skipped

    called_from_depth(150)


INVALID_ESCAPES = 'import re\nPATTERN = re.compile("\\d+\\.\\w")\nmodel.load_state_dict(sd)\n'


def test_the_users_invalid_escapes_print_no_warning(recwarn: pytest.WarningsRecorder) -> None:
    """Regex-heavy code is full of invalid escapes; the compiler warns about them (a
    SyntaxWarning on stderr from Python 3.12, on every scan). Those are not the tool's output."""
    import warnings

    warnings.simplefilter("always")
    assert len(scan(INVALID_ESCAPES + "# fresh").findings) == 1
    fixed = fix_all(INVALID_ESCAPES + "# fresh too")
    assert fixed.fixed == 1
    assert [str(w.message) for w in recwarn] == []


def test_invalid_escapes_under_warnings_as_errors_still_parse() -> None:
    """``python -W error`` turns that warning into a SyntaxError: the file must still be read."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = scan(INVALID_ESCAPES + "# under -W error")
        assert result.syntax_error is None and len(result.findings) == 1
        assert fix_all(INVALID_ESCAPES + "# under -W error, fixed").fixed == 1


NAME_CANDIDATES = st.one_of(
    st.sampled_from(
        [*__import__("keyword").kwlist, *__import__("keyword").softkwlist]
        + ["KeyMapper", "np", "jax", "jnp", "variables\n", " x", "x-y", "1st", "é", "_", "self"]
    ),
    st.text(alphabet="abcXYZ_019\n ", min_size=1, max_size=8),
)


@ROBUST
@given(name=NAME_CANDIDATES)
def test_every_accepted_assignment_name_gives_a_file_that_runs(name: str) -> None:
    """Settings accept an assignmentName only if the rewrite with it parses and leaves the
    inlined KeyMapper usable (a keyword, `np` or `KeyMapper` itself would not)."""
    from switcheroo_lsp.settings import Settings

    settings, problems = Settings.from_dict({"assignmentName": name})
    accepted = not problems
    assert accepted == (settings.assignment_name == name)
    text = "import torch\nmodel.load_state_dict(sd)\nnet.load_state_dict(sd)\n"
    finding = scan(text).findings[0]
    single = fix(text, finding.span.start, settings)
    fixed = apply_edits(text, single.edits)
    compile(fixed, "<fixed>", "exec", dont_inherit=True)
    assert settings.assignment_name not in ("KeyMapper", "np", "jax", "jnp")
    assert fix_all(text, settings).error is None


ODD_CONSTRUCTS = [
    "f = lambda: model.load_state_dict(sd)\n",
    "@register(model.load_state_dict(sd))\ndef f(): pass\n",
    "def f(x=model.load_state_dict(sd)): pass\n",
    "class A:\n    model.load_state_dict(sd)\n",
    "match x:\n    case 1:\n        model.load_state_dict(sd)\n",
    "if (r := model.load_state_dict(sd)): pass\n",
    "async def f():\n    await model.load_state_dict(sd)\n    async with x: model.load_state_dict(sd)\n",
    "if x: model.load_state_dict(sd)\nelse: net.load_state_dict(sd)\n",
    "while 1: model.load_state_dict(sd); break\n",
    "model.load_state_dict(\\\n    sd)\n",
    "model.load_state_dict \\\n    (sd)\n",
    "model .load_state_dict (sd)\n",
    "(model\n  .load_state_dict(sd))\n",
    "x = 1; model.load_state_dict(sd); y = 2\n",
    "model.load_state_dict(sd)  # type: ignore[attr-defined]\n",
    "for m in models: m.load_state_dict(sd)\n",
    "try: model.load_state_dict(sd)\nexcept: pass\nfinally: net.load_state_dict(sd)\n",
    "model.load_state_dict(sd) or net.load_state_dict(sd)\n",
    "assert model.load_state_dict(sd)\n",
    "print(*model.load_state_dict(sd))\n",
    "x: Any = model.load_state_dict(sd)\n",
    "x += model.load_state_dict(sd)\n",
    "a = b = model.load_state_dict(sd)\n",
    "(missing, unexpected) = model.load_state_dict(sd)\n",
    "[missing, unexpected] = model.load_state_dict(sd)\n",
    "missing, *rest = model.load_state_dict(sd)\n",
    "def g():\n    yield model.load_state_dict(sd)\n    return model.load_state_dict(sd)\n",
    "type(model).load_state_dict(model, sd)\n",
    "super(Net, self).load_state_dict(sd)\n",
    "model.load_state_dict(state_dict=sd, strict=False)\n",
    "model.load_state_dict(sd, False, True)\n",
    "model.load_state_dict(*args)\n",
    "model.load_state_dict(**kw)\n",
    "model.load_state_dict()\n",
    "model.load_state_dict(sd) ;\n",
    "x = [\n    model.load_state_dict(sd),  # first\n    net.load_state_dict(sd),\n]\n",
    "print(f'{x!r:>{model.load_state_dict(sd)}}')\n",
    "\x0cmodel.load_state_dict(sd)\n",
    "model.load_state_dict(sd)\n\x0c\nclass A: pass\n",
]


@pytest.mark.parametrize("text", ODD_CONSTRUCTS)
def test_odd_constructs_keep_every_property(text: str, figures: Counter[str]) -> None:
    """Calls in lambdas, decorators, defaults, class bodies, match, one-line compound statements,
    backslash continuations, spaces before the parenthesis, unusual unpacking and arguments."""
    figures["engine: edits checked"] += check_program(text)
