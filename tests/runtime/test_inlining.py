"""keymapper.py is inlined into users' files: it must follow the inlining rules of API.md, bind
nothing but KeyMapper, and work when executed on its own."""

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np

import switcheroo_lsp.runtime
from switcheroo_lsp.runtime import KeyMapper, keymapper_source

SOURCE = keymapper_source()
TREE = ast.parse(SOURCE)


def test_source_is_the_module_file() -> None:
    path = Path(switcheroo_lsp.runtime.__file__).with_name("keymapper.py")
    assert path.read_text(encoding="utf-8") == SOURCE


def test_module_docstring_then_the_class_and_no_module_level_imports() -> None:
    """Inserting it must not rebind a name the user's file has (`import jax.numpy as np`)."""
    body = TREE.body
    assert isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
    assert [type(n) for n in body[1:]] == [ast.ClassDef]
    assert "from __future__" not in SOURCE


def test_top_level_names_cannot_collide_with_user_code() -> None:
    names = [n.name for n in TREE.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))]
    names += [
        t.id
        for n in TREE.body
        if isinstance(n, ast.Assign)
        for t in n.targets
        if isinstance(t, ast.Name)
    ]
    assert names == ["KeyMapper"] or all(n == "KeyMapper" or n.startswith("_") for n in names)


def test_works_when_executed_from_its_source_without_the_package() -> None:
    body = "\n".join(
        SOURCE.splitlines()[TREE.body[1].lineno - 1 :]
    )  # the engine drops the docstring
    namespace: dict = {}
    exec(compile(body, "<inlined preamble>", "exec"), namespace)  # noqa: S102
    variables = namespace["KeyMapper"].from_torch(
        {"fc.weight": np.ones((2, 3), np.float32), "fc.bias": np.zeros(2, np.float32)}
    )
    assert variables["params"]["fc"]["kernel"].shape == (3, 2)


def test_importing_it_pulls_in_neither_torch_nor_flax() -> None:
    code = ("import sys; import switcheroo_lsp.runtime.keymapper\n"
            "print(sorted(m for m in ('torch', 'flax', 'safetensors', 'ml_dtypes') if m in sys.modules))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() in ("[]", "['ml_dtypes']")  # jax itself imports ml_dtypes


def test_public_api_is_re_exported() -> None:
    assert switcheroo_lsp.runtime.KeyMapper is KeyMapper
    assert (
        callable(KeyMapper.from_torch)
        and callable(KeyMapper.map_name)
        and callable(KeyMapper.map_value)
    )


USER_FILE = '''\
"""A half-ported script: numpy is jax.numpy here."""

import jax.numpy as np
import torch


def predict(x):
    return np.tanh(x)


model = Net()
model.load_state_dict(torch.load("model.pt"))
'''


def _ruff_findings(path: Path, lines: range | None = None) -> set[tuple[str, str]]:
    """(rule, message) of ruff's defaults plus E, W, isort, bugbear, pyupgrade, simplify, RUF."""
    out = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--output-format", "json",
         "--select", "E,F,W,I,B,UP,SIM,RUF", str(path)],
        capture_output=True, text=True,
    )  # fmt: skip
    import json

    found = json.loads(out.stdout)
    return {
        (f["code"], f["message"]) for f in found if lines is None or f["location"]["row"] in lines
    }


def test_inlined_into_a_user_file_it_adds_no_ruff_findings_and_rebinds_nothing(
    tmp_path: Path,
) -> None:
    """The class and the lines around it bring nothing new (what the rewritten call itself may
    bring is the rewrite's business, tested with the engine)."""
    from switcheroo_lsp.engine import apply_edits, fix_all

    fixed = apply_edits(USER_FILE, fix_all(USER_FILE).edits)
    tree = ast.parse(fixed)
    top = [ast.unparse(n) for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    assert top == ["import jax.numpy as np", "import torch"]  # np still means jax.numpy
    (keymapper,) = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    first_user_line = min(n.lineno for n in tree.body if isinstance(n, ast.FunctionDef))
    around = range(1, first_user_line)  # imports, the class, the blank lines after it
    (tmp_path / "before.py").write_text(USER_FILE, encoding="utf-8")
    (tmp_path / "after.py").write_text(fixed, encoding="utf-8")
    assert keymapper.lineno in around
    assert _ruff_findings(tmp_path / "after.py", around) <= _ruff_findings(tmp_path / "before.py")


def test_the_source_has_no_golf() -> None:
    """Read by users: no tables of lambdas, no `# fmt: skip`, no `# type: ignore`."""
    assert "# fmt: skip" not in SOURCE and "# type: ignore" not in SOURCE
    tables = [n for n in ast.walk(TREE) if isinstance(n, ast.Dict | ast.List | ast.Tuple)]
    assert not any(isinstance(v, ast.Lambda) for t in tables for v in ast.walk(t))
