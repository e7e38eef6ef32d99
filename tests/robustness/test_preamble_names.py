"""Inserting the preamble never changes what a module-level name of the file refers to (issue 15,
item 12, the property; the fix itself is in engine/preamble.py).

For every name the file binds at module level, each binding the fix adds (the preamble's imports
and classes) must bind it to the same thing the file does: ``import numpy as np`` beside the
file's own ``import numpy as np`` is harmless, beside ``import jax.numpy as np`` it is not.
"""

from __future__ import annotations

import ast
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switcheroo_lsp.engine import apply_edits, fix_all

pytestmark = pytest.mark.slow  # hypothesis over generated files, about 40 s

# Module-level bindings real projects write, several of them on the preamble's names.
HEADER_LINES = [
    "import jax.numpy as np",
    "import numpy as np",
    "import numpy",
    "import jax",
    "import jax.numpy as jnp",
    "from jax import numpy as np",
    "from numpy import asarray",
    "import flax.linen as nn",
    "import torch",
    "import torch as jax",
    "np = None",
    "jax = object()",
    "def np():\n    return 1",
    "class jax:\n    pass",
]
CALLS = [
    "model.load_state_dict(torch.load('m.pt'))",
    "model.load_state_dict(state['model'])",
]


def bindings(text: str) -> Counter[tuple[str, str]]:
    """(name, what it is bound to) for each module-level binding statement of ``text``."""
    found: Counter[tuple[str, str]] = Counter()
    for node in ast.parse(text).body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.asname or alias.name.split(".")[0]
                target = alias.name if alias.asname else alias.name.split(".")[0]
                found[(name, f"module {target}")] += 1
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                found[(alias.asname or alias.name, f"{node.module}.{alias.name}")] += 1
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found[(node.name, ast.dump(node))] += 1
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        found[(name.id, ast.dump(node.value) if node.value else "")] += 1
    return found


@st.composite
def programs(draw: st.DrawFn) -> str:
    header = draw(st.lists(st.sampled_from(HEADER_LINES), min_size=1, max_size=4))
    body = draw(st.lists(st.sampled_from(CALLS), min_size=1, max_size=2))
    lines = ["import torch", *header, "", "model = Net()", *body]
    uses = draw(st.sampled_from(["", "print(np)", "print(jax)", "x = np.zeros(3)"]))
    return "\n".join([*lines, uses, ""])


@settings(max_examples=150, deadline=None)
@given(programs())
def test_the_preamble_never_rebinds_a_module_level_name_of_the_file(text: str) -> None:
    result = fix_all(text)
    if result.error is not None or not result.edits:
        return
    fixed = apply_edits(text, result.edits)
    before, after = bindings(text), bindings(fixed)
    user_names = {name: {t for n, t in before if n == name} for name, _ in before}
    added = after - before
    for (name, target), _count in added.items():
        if name == "variables":  # the rewritten calls' own assignment
            continue
        if name in user_names:
            assert user_names[name] == {target}, (
                f"the fix binds {name!r} to {target} where the file binds it to "
                f"{sorted(user_names[name])}:\n{fixed}"
            )
