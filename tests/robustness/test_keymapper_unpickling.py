"""The KeyMapper written into users' files never unpickles anything itself.

Given a path, it loads with ``torch.load(..., weights_only=True)``: a checkpoint carrying a
pickled payload (here one that would run a shell command creating a marker file) is refused
with a clear error and the payload never runs, in every format torch reads (zip, legacy, a bare
pickle, any extension). The check runs against the KeyMapper exactly as the engine inlines it
into a migrated file, and against the importable runtime.
"""

from __future__ import annotations

import ast
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from switcheroo_lsp.engine import apply_edits, fix_all


class Payload:
    """Unpickling this runs ``touch <marker>``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


def write_checkpoint(path: Path, marker: Path, fmt: str) -> Path:
    state = {"layer.weight": torch.ones(2, 3), "layer.bias": torch.zeros(2), "x": Payload(marker)}
    if fmt == "zip":
        torch.save(state, path)
    elif fmt == "legacy":
        torch.save(state, path, _use_new_zipfile_serialization=False)
    else:
        path.write_bytes(pickle.dumps(state))
    return path


FORMATS = [("zip", "model.pt"), ("legacy", "model.pth"), ("pickle", "pytorch_model.bin")]


def inlined_keymapper() -> type:
    """The KeyMapper class as the engine writes it into a migrated file, executed on its own."""
    text = "import torch\nmodel.load_state_dict(torch.load(path))\n"
    fixed = apply_edits(text, fix_all(text).edits)
    tree = ast.parse(fixed)
    preamble = [
        node
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        or (isinstance(node, ast.ClassDef) and node.name == "KeyMapper")
        or (isinstance(node, ast.Assign | ast.FunctionDef) and "KeyMapper" not in ast.unparse(node))
    ]
    namespace: dict[str, Any] = {"__name__": "inlined_preamble"}
    exec(compile(ast.Module(body=preamble, type_ignores=[]), "<preamble>", "exec"), namespace)
    return namespace["KeyMapper"]


def runtime_keymapper() -> type:
    from switcheroo_lsp.runtime import KeyMapper

    return KeyMapper


@pytest.mark.parametrize(("fmt", "name"), FORMATS, ids=[f for f, _ in FORMATS])
def test_the_payload_is_live(tmp_path: Path, fmt: str, name: str) -> None:
    """The trap works: a plain (unsafe) unpickling does run it."""
    marker = tmp_path / "PWNED"
    path = write_checkpoint(tmp_path / name, marker, fmt)
    if fmt == "pickle":
        pickle.loads(path.read_bytes())
    else:
        torch.load(path, weights_only=False)
    assert marker.exists()


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")
@pytest.mark.parametrize(
    "keymapper", [inlined_keymapper, runtime_keymapper], ids=["inlined", "runtime"]
)
@pytest.mark.parametrize(("fmt", "name"), FORMATS, ids=[f for f, _ in FORMATS])
def test_keymapper_refuses_a_checkpoint_carrying_code(
    tmp_path: Path, fmt: str, name: str, keymapper: Callable[[], type]
) -> None:
    marker = tmp_path / "PWNED"
    path = write_checkpoint(tmp_path / name, marker, fmt)
    mapper = keymapper()
    for given in (str(path), path):
        with pytest.raises((ValueError, pickle.UnpicklingError, RuntimeError)) as error:
            mapper.from_torch(given)
        assert str(path) in str(error.value) or "weights_only" in str(error.value)
    assert not marker.exists()


def test_a_plain_checkpoint_still_loads(tmp_path: Path) -> None:
    """Safe loading is not a refusal of everything: plain tensors load through the same path."""
    path = tmp_path / "plain.pt"
    torch.save({"layer.weight": torch.ones(2, 3), "layer.bias": torch.zeros(2)}, path)
    variables = inlined_keymapper().from_torch(str(path))
    assert variables["params"]["layer"]["kernel"].shape == (3, 2)


def test_the_inlined_source_loads_only_with_weights_only() -> None:
    """Statically: every torch.load in the preamble passes weights_only=True; nothing in it
    unpickles, evaluates or imports code by name."""
    text = "import torch\nmodel.load_state_dict(torch.load(path))\n"
    fixed = apply_edits(text, fix_all(text).edits)
    start = fixed.index("class KeyMapper")
    tree = ast.parse(fixed[start : fixed.index("\nvariables =")])
    loads = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            assert name not in (
                "eval",
                "exec",
                "compile",
                "__import__",
                "pickle.load",
                "pickle.loads",
            )
            assert not name.startswith(
                ("pickle.", "marshal.", "dill.", "cloudpickle.", "importlib.")
            )
            if name == "torch.load":
                loads += 1
                keywords = {k.arg: k.value for k in node.keywords}
                assert isinstance(keywords.get("weights_only"), ast.Constant)
                assert keywords["weights_only"].value is True
    assert loads >= 1
