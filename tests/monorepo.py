"""A training script, and a monorepo with a `[tool.switcheroo]` at its root and a different one in
each of two packages: for the CLI and the server tests of one configuration (per file)."""

from __future__ import annotations

from pathlib import Path

TRAIN = (
    "import torch\n"
    "\n"
    "model = Net()\n"
    "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
    "checkpoint = torch.load('last.pt', map_location='cpu')\n"
    "model.load_state_dict(checkpoint['model'])\n"
    "optimizer.load_state_dict(checkpoint['optimizer'])\n"
)
PKG_A = (
    '[tool.switcheroo]\nassignment-name = "params"\npreamble = "inline"\nhint-non-model = false\n'
)
PKG_B = '[tool.switcheroo]\nassignment-name = "weights"\npreamble = "import"\n'
ROOT = '[tool.switcheroo]\nassignment-name = "root_tree"\npreamble = "inline"\n'
SCRIPTS = ("pkg_a/src/train.py", "pkg_b/src/train.py", "tools/train.py")


def write(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) at ``path``, creating its folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def monorepo(root: Path) -> Path:
    """The root's table, a script under tools/, and pkg_a, pkg_b with tables of their own."""
    write(root / "pyproject.toml", ROOT)
    write(root / "tools" / "train.py", TRAIN)
    for name, table in (("pkg_a", PKG_A), ("pkg_b", PKG_B)):
        write(root / name / "pyproject.toml", f'[project]\nname = "{name}"\n\n{table}')
        write(root / name / "src" / "train.py", TRAIN)
    return root
