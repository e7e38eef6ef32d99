"""Fix-all over generated files mixing the forms seen in the wild: always parses, one preamble,
idempotent, line endings and indentation style kept."""

from __future__ import annotations

import ast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from switcheroo_lsp.engine import apply_edits, fix_all, scan
from switcheroo_lsp.settings import Settings

pytestmark = pytest.mark.slow  # hypothesis, about 10 s

UNSAFE = Settings(unsafe_fixes=True)  # every fixable call, sure or not: all forms are exercised

TOPS = [
    "",
    "#!/usr/bin/env python\n",
    "# -*- coding: utf-8 -*-\n",
    "# Copyright 2024 Somebody\n# SPDX-License-Identifier: Apache-2.0\n\n",
    '"""Module docstring."""\n',
    '# Copyright\n\n"""Doc after license."""\n\nfrom __future__ import annotations\n',
]
IMPORTS = [
    "",
    "import torch\n",
    "import os\nimport sys\nsys.path.append('..')\nimport torch\nimport numpy as np\n",
    "try:\n    import apex\nexcept ImportError:\n    apex = None\n",
]
STATEMENTS = [
    'model.load_state_dict(ckpt["model"])',
    'net.load_state_dict(torch.load(p, map_location="cpu"), strict=False)',
    "missing, unexpected = model.load_state_dict(sd, strict=False)",
    "model.module.load_state_dict(sd, assign=True)",
    "msg = model.load_state_dict(sd)",
    "print(model.load_state_dict(sd))",
    "model.load_state_dict(  # c\n{i}    sd,  # d\n{i}    strict=True,\n{i})",
    'optimizer.load_state_dict(ckpt["optimizer"])',
    "scheduler.load_state_dict(s)",
    "model.load_state_dict(sd, **kwargs)",
    "a.load_state_dict(x) if c else b.load_state_dict(y)",
    "x = 'model.load_state_dict(sd)'  # model.load_state_dict(sd)",
    "modèle.load_state_dict(état)  # é",
]


@st.composite
def files(draw: st.DrawFn) -> str:
    indent = draw(st.sampled_from(["    ", "  ", "\t"]))
    body = [draw(st.sampled_from(STATEMENTS)) for _ in range(draw(st.integers(1, 6)))]
    at_module_level = draw(st.booleans())
    lines = []
    if at_module_level:
        lines.extend(s.replace("{i}", "") for s in body)
    else:
        lines.append("def restore(model, net, optimizer, scheduler, ckpt, sd, p, kwargs):")
        lines.extend(indent + s.replace("{i}", indent) for s in body)
    text = (
        draw(st.sampled_from(TOPS))
        + draw(st.sampled_from(IMPORTS))
        + "\n\n"
        + "\n".join(lines)
        + "\n"
    )
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    return text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files())
def test_fix_all_always_produces_a_parsing_idempotent_file(text: str) -> None:
    result = fix_all(text, UNSAFE)
    assert result.error is None
    out = apply_edits(text, result.edits)
    tree = ast.parse(out)
    assert result.fixed == sum(f.fixable for f in scan(text).findings)
    if result.fixed:
        assert [n.name for n in tree.body if isinstance(n, ast.ClassDef)] == ["KeyMapper"]
    assert fix_all(out, UNSAFE).edits == ()
    if "\r\n" in text:
        assert "\n" not in out.replace("\r\n", "")
    if "\n\t" in text and "\n " not in text:  # a file indented with tabs only
        class_body = out[out.find("class KeyMapper") :].split("\n")[1:10]
        assert not any(line.startswith(" ") for line in class_body)
