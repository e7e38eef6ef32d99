"""Hypothesis strategies for Python source that stresses the engine.

Programs mix ``load_state_dict`` calls (statements, assignments, unpacking, conditional
expressions, multi-line calls with comments, ``strict=``/``assign=``) with look-alikes in strings,
comments and f-strings, decorators, nested brackets, non-ASCII names and text (astral-plane
characters take two UTF-16 units and four UTF-8 bytes), and are laid out with LF, CRLF or CR line
breaks and space or tab indentation, with or without shebang, coding cookie, license header,
docstring and ``from __future__`` imports.
"""

from __future__ import annotations

from hypothesis import strategies as st

NAMES = st.sampled_from(
    [
        "model",
        "net",
        "modèle",
        "网络",
        "σ_model",
        "student",
        "model.module",
        "self.net",
        "self.encoder.backbone",
        "models[0]",
        "getattr(self, 'net')",
        "ema",
        "optimizer",
        "scheduler",
        "scaler",
        "torch.optim.SGD(params)",
    ]
)
TEXT = st.sampled_from(
    [
        "plain",
        "état du modèle",
        "模型权重",
        "emoji 🚀🔥 weights",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
        "tab\\there",
        "quote ' and \\\" inside",
        "model.load_state_dict(sd)",
        "{not a field}",
        "e\u0301 combining",
        "zero\u200bwidth",
    ]
)
STATES = st.sampled_from(
    [
        "sd",
        "torch.load(path)",
        "torch.load(path, map_location='cpu')",
        'ckpt["model"]',
        "ckpt['state_dict']",
        "{k.replace('module.', ''): v for k, v in sd.items()}",
        "dict(a=[1, (2, {3: 4})])",
        'torch.load(f"{run_dir}/ckpt_{step:04d}.pt")',
        "state_dicts[0][1]",
        "(lambda: sd)()",
        "load_state_dict_from_url(URL)",
    ]
)
KEYWORDS = st.sampled_from(
    [
        "",
        ", strict=False",
        ", strict=True",
        ", assign=True",
        ", strict=False, assign=True",
        ", False",
        ", strict=STRICT",
    ]
)


@st.composite
def call(draw: st.DrawFn, receiver: str | None = None) -> str:
    """``receiver.load_state_dict(state[, keywords])``, sometimes spread over lines with comments."""
    receiver = receiver or draw(NAMES)
    state = draw(STATES)
    keywords = draw(KEYWORDS)
    layout = draw(st.integers(0, 3))
    if layout == 0:
        return f"{receiver}.load_state_dict({state}{keywords})"
    if layout == 1:
        return f"{receiver}.load_state_dict(\n    {state}{keywords}\n)"
    if layout == 2:
        comment = draw(TEXT).replace("\\", "")
        return f"{receiver}.load_state_dict(  # {comment}\n    {state},  # the weights\n{keywords.lstrip(', ') and '    ' + keywords.lstrip(', ') + ','}\n)"
    return f"{receiver}.load_state_dict({state}{keywords},)"


@st.composite
def simple_statement(draw: st.DrawFn) -> str:
    """One statement (possibly spanning lines)."""
    kind = draw(st.integers(0, 13))
    text = draw(TEXT)
    if kind == 0:
        return draw(call())
    if kind == 1:
        return f"msg = {draw(call())}"
    if kind == 2:
        return f"missing, unexpected = {draw(call())}"
    if kind == 3:
        return f"{draw(call())} if {draw(NAMES)} is not None else {draw(call())}"
    if kind == 4:
        return f"note = {text!r}  # {text}"
    if kind == 5:
        plain = "".join(c for c in text if c not in "{}'\"\\")
        receiver = draw(NAMES.filter(lambda name: "'" not in name))
        return f'print(f"{{{receiver}.load_state_dict(sd)}} {plain}")'
    if kind == 6:
        return "\n".join(f"# {line}" for line in draw(call()).split("\n"))
    if kind == 7:
        return f'doc = """\n{draw(call())}\n{text.replace(chr(92), "")}\n"""'
    if kind == 8:
        return f"result = {draw(call())}.missing_keys"
    if kind == 9:
        return f"values = [x for x in ({{'k': [1, 2, (3, 4)]}}, {draw(call())})]"
    if kind == 10:
        return f"{draw(NAMES).split('.')[0].split('(')[0].split('[')[0]}_名 = {text!r}"
    if kind == 11:
        return f"x = {draw(call())}; y = 1"
    if kind == 12:
        return f"print({draw(call())}, {text!r})"
    return f"load_state_dict(torch.load(path))  # bare function: {text}"


@st.composite
def block(draw: st.DrawFn, depth: int = 0) -> list[str]:
    """Lines of a statement or compound statement, indented with ``\\t`` placeholders."""
    kind = draw(st.integers(0, 6 if depth < 2 else 0))
    if kind <= 1:
        return draw(simple_statement()).split("\n")

    def body() -> list[str]:
        lines: list[str] = []
        for _ in range(draw(st.integers(1, 3))):
            lines.extend(draw(block(depth + 1)))
        if all(line.lstrip().startswith("#") for line in lines):
            lines.append("pass")  # a block of comments only is no block
        return ["\t" + line if line else line for line in lines]

    if kind == 2:
        name = draw(st.sampled_from(["restore", "charger_modèle", "载入", "_load"]))
        decorators = draw(st.sampled_from([[], ["@torch.no_grad()"], ["@staticmethod", "@cache"]]))
        return [*decorators, f"def {name}(model, sd, path=None):", *body()]
    if kind == 3:
        return [
            "class Trainer(object):",
            '\t"""Ünïcode docstring 🚀."""',
            "\tdef load(self, sd):",
            *["\t" + line for line in body()],
        ]
    if kind == 4:
        return ["try:", *body(), "except (RuntimeError, KeyError) as error:", *body()]
    if kind == 5:
        return ["with torch.no_grad(), open(path) as handle:", *body()]
    return [f"if {draw(NAMES).split('(')[0]}:", *body(), "else:", *body()]


HEADERS = st.lists(
    st.sampled_from(
        [
            "#!/usr/bin/env python3",
            "# -*- coding: utf-8 -*-",
            "# Copyright 2024 Ünïcorn Labs. All rights reserved.\n# SPDX-License-Identifier: MIT",
            '"""Train the model. Модель 🚀."""',
            "from __future__ import annotations",
        ]
    ),
    max_size=5,
    unique=True,
).map(
    lambda items: sorted(
        items,
        key=[
            "#!/usr/bin/env python3",
            "# -*- coding: utf-8 -*-",
            "# Copyright 2024 Ünïcorn Labs. All rights reserved.\n# SPDX-License-Identifier: MIT",
            '"""Train the model. Модель 🚀."""',
            "from __future__ import annotations",
        ].index,
    )
)
IMPORTS = st.lists(
    st.sampled_from(["import torch", "import numpy as np", "import jax", "import os, sys"]),
    max_size=4,
    unique=True,
)


@st.composite
def python_programs(draw: st.DrawFn) -> str:
    """A whole module: header, imports, blocks; with a drawn line break and indentation."""
    lines: list[str] = []
    header = draw(HEADERS)
    for item in header:
        lines.extend(item.split("\n"))
        if item.startswith("# Copyright"):
            lines.append("")
    lines.extend(draw(IMPORTS))
    lines.append("")
    for _ in range(draw(st.integers(1, 6))):
        lines.extend(draw(block()))
        if draw(st.booleans()):
            lines.append("")
    indent = draw(st.sampled_from(["    ", "\t", "  "]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r", "mixed"]))
    text = ""
    for number, line in enumerate(lines):
        if number:  # a file edited on two systems: its line breaks differ from line to line
            text += draw(st.sampled_from(["\n", "\r\n"])) if newline == "mixed" else newline
        text += line.replace("\t", indent)
    if draw(st.booleans()):
        text += "\r\n" if newline == "mixed" else newline
    if draw(st.integers(0, 9)) == 0:
        text = "\ufeff" + text
    return text


@st.composite
def damaged_programs(draw: st.DrawFn) -> str:
    """A generated program with random deletions/insertions: usually no longer valid Python."""
    text = draw(python_programs())
    for _ in range(draw(st.integers(1, 4))):
        if not text:
            break
        position = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:position] + text[position + draw(st.integers(1, 8)) :]
        else:
            noise = draw(st.sampled_from(["(", ")", '"', "'''", "\\", "\x00", "\ud800", "\t", ":"]))
            text = text[:position] + noise + text[position:]
    return text
