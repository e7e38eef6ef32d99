"""`switcheroo fix --diff` prints a patch that `git apply` and `patch` accept and that gives, byte
for byte, what `switcheroo fix` writes (issue 15, item 10).

The texts below hold what breaks a diff built on Python's ``str.splitlines``: characters it takes
for line breaks that a patch does not (form feed, U+2028, U+0085, U+001C), and a
last line without a line break.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest

from switcheroo_lsp import cli
from switcheroo_lsp.diff import patch_lines

HEAD = "import torch\n\nmodel = Net()\n"
CALL = "model.load_state_dict(torch.load('m.pt'))"

CASES = {
    "form feed between sections": HEAD + "\f\n" + CALL + "\n",
    "form feed inside a line": HEAD + "x = 1  # \f page\n" + CALL + "\n",
    "U+2028 in a comment": HEAD + "# line\u2028separator\n" + CALL + "\n",
    "U+0085 in a string": HEAD + "label = 'a\x85b'\n" + CALL + "\n",
    "U+001C in a string": HEAD + "sep = 'a\x1cb'\n" + CALL + "\n",
    "CRLF line endings": (HEAD + CALL + "\n").replace("\n", "\r\n"),
    "call on the last line, no final newline": HEAD + CALL,
    "no final newline after the call": HEAD + CALL + "\nprint('done')",
}


def run(directory: Path, monkeypatch: pytest.MonkeyPatch, *argv: str) -> tuple[int, str, str]:
    monkeypatch.chdir(directory)
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.skipif(shutil.which("git") is None or shutil.which("patch") is None, reason="tools")
@pytest.mark.parametrize("text", CASES.values(), ids=CASES.keys())
def test_the_diff_applies_with_git_and_patch_and_gives_what_fix_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    copies = {name: tmp_path / name for name in ("fixed", "diffed", "git", "patch")}
    for directory in copies.values():
        directory.mkdir()
        (directory / "train.py").write_bytes(text.encode())
    code, _, err = run(copies["fixed"], monkeypatch, "fix", "train.py")
    assert code == 0, err
    fixed = (copies["fixed"] / "train.py").read_bytes()
    assert fixed != text.encode()

    code, diff, err = run(copies["diffed"], monkeypatch, "fix", "--diff", "train.py")
    assert (copies["diffed"] / "train.py").read_bytes() == text.encode()  # --diff writes nothing
    assert diff, err
    patch_file = tmp_path / "change.patch"
    patch_file.write_bytes(diff.encode())

    subprocess.run(
        ["git", "apply", "--unsafe-paths", str(patch_file)],
        cwd=copies["git"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert (copies["git"] / "train.py").read_bytes() == fixed
    subprocess.run(
        ["patch", "-p1", "--batch", "-i", str(patch_file)],
        cwd=copies["patch"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert (copies["patch"] / "train.py").read_bytes() == fixed


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("a\nb\n", ["a\n", "b\n"]),
        ("a\nb", ["a\n", "b"]),
        ("a\fb\u2028c\r\n", ["a\fb\u2028c\r\n"]),
        ("", []),
        ("\n", ["\n"]),
    ],
)
def test_patch_lines_cut_at_line_feeds_only(text: str, lines: list[str]) -> None:
    assert patch_lines(text) == lines
