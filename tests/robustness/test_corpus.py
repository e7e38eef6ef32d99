"""The project's corpus of realistic training and inference scripts (tests/corpus) through the CLI.

One ``switcheroo fix`` over a copy of the whole corpus: every file still compiles, keeps its line
endings and its bytes outside the rewritten calls, and the migrated ``KeyMapper.from_torch`` calls
are exactly where tests/corpus/manifest.json says, no more, no fewer; optimizer, scheduler, EMA...
calls stay as they are.
"""

from __future__ import annotations

import ast
import difflib
import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from switcheroo_lsp.engine import scan

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))["files"]
FILES = sorted(p.name for p in CORPUS.glob("*.py"))
# unsure calls (the receiver may not be a model) are left by `switcheroo fix`: exit code 1
EXPECTED_EXIT = 1 if any(entry.get("unsure") for entry in MANIFEST.values()) else 0


def keymapper_call_lines(text: str) -> list[int]:
    """1-based lines of ``KeyMapper.from_torch(...)`` calls outside the inserted KeyMapper class."""
    tree = ast.parse(text.removeprefix("\ufeff"))
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "KeyMapper":
            inside.update(id(n) for n in ast.walk(node))
    return sorted(
        {
            node.lineno
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and id(node) not in inside
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "from_torch"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "KeyMapper"
        }
    )


def original_line(old: list[str], new: list[str], new_line: int) -> int | None:
    """The original line a line of the fixed file comes from (None: an inserted line)."""
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if j1 <= new_line - 1 < j2:
            if tag == "insert":
                return None
            return i1 + 1 + min(new_line - 1 - j1, i2 - i1 - 1)
    return None


def fix_in_place(root: Path) -> subprocess.CompletedProcess[str]:
    """``switcheroo fix --quiet .`` in ``root``, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "switcheroo_lsp.cli", "fix", "--quiet", "."],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def fixed_corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A copy of the corpus after one ``switcheroo fix`` run (as a user runs it)."""
    root = tmp_path_factory.mktemp("corpus")
    for name in FILES:
        shutil.copyfile(CORPUS / name, root / name)
    done = fix_in_place(root)
    # model calls left for manual migration (each with its reason) and unsure calls left for
    # --unsafe-fixes make the exit code 1
    left = any(e["kind"] == "model" for entry in MANIFEST.values() for e in entry["left"])
    assert done.returncode == int(left or EXPECTED_EXIT), done.stderr
    assert "Traceback" not in done.stderr
    return root, done.stderr


def test_manifest_covers_the_corpus() -> None:
    assert sorted(MANIFEST) == FILES
    assert len(FILES) >= 12
    assert sum(e.get("calls", 1) for v in MANIFEST.values() for e in v["migrated"]) >= 15


@pytest.mark.parametrize("name", FILES)
def test_scanner_finds_exactly_the_manifest_calls(name: str) -> None:
    text = (CORPUS / name).read_bytes().decode("utf-8")
    findings = scan(text).findings
    sure = Counter(f.span.start_pos.line + 1 for f in findings if f.bulk_fixable)
    assert sure == Counter({e["line"]: e.get("calls", 1) for e in MANIFEST[name]["migrated"]})
    unsure = sorted(f.span.start_pos.line + 1 for f in findings if f.fixable and not f.bulk_fixable)
    assert unsure == sorted(e["line"] for e in MANIFEST[name].get("unsure", []))
    left = sorted((f.span.start_pos.line + 1, f.kind.value) for f in findings if not f.fixable)
    assert left == sorted((e["line"], e["kind"]) for e in MANIFEST[name]["left"])


@pytest.mark.parametrize("name", FILES)
def test_fixed_file_compiles_and_calls_sit_where_the_manifest_says(
    name: str, fixed_corpus: tuple[Path, str], figures: Counter[str]
) -> None:
    root, _ = fixed_corpus
    old_bytes = (CORPUS / name).read_bytes()
    new_bytes = (root / name).read_bytes()
    new = new_bytes.decode("utf-8")
    compile(new, name, "exec", dont_inherit=True)
    old = old_bytes.decode("utf-8")
    # line endings: a CRLF file stays CRLF throughout, an LF file gets no CR
    if b"\r\n" in old_bytes:
        assert new_bytes.count(b"\n") == new_bytes.count(b"\r\n")
    else:
        assert b"\r" not in new_bytes
    old_lines, new_lines = old.splitlines(), new.splitlines()
    found = []
    for line in keymapper_call_lines(new):
        source = original_line(old_lines, new_lines, line)
        assert source is not None, f"KeyMapper call on inserted line {line}: {new_lines[line - 1]}"
        found.append({"line": source, "code": new_lines[line - 1].strip()})
    migrated = MANIFEST[name]["migrated"]
    expected = [
        {"line": e["line"], "code": e["code"]} for e in migrated if "KeyMapper" in e["code"]
    ]
    for entry in migrated:  # copies: a tree assignment where the call was
        if "KeyMapper" not in entry["code"]:
            assert entry["code"] in [line.strip() for line in new_lines], entry
    assert sorted(found, key=lambda e: e["line"]) == sorted(expected, key=lambda e: e["line"])
    # the calls left alone are still there, untouched
    for entry in [*MANIFEST[name]["left"], *MANIFEST[name].get("unsure", [])]:
        line = old_lines[entry["line"] - 1]
        assert line in new_lines, line
    # `fix .` is module mode: the flat folder's one _keymapper.py, imported (tests/cli/test_module_mode.py)
    assert "class KeyMapper" not in new
    assert ("from _keymapper import KeyMapper" in new) == bool(expected)
    figures["corpus: files fixed and compiled"] += 1
    figures["corpus: calls migrated where the manifest says"] += sum(
        e.get("calls", 1) for e in MANIFEST[name]["migrated"]
    )


def test_the_corpus_gets_one_keymapper_module(fixed_corpus: tuple[Path, str]) -> None:
    root, _ = fixed_corpus
    copies = [p.name for p in root.glob("*.py") if "class KeyMapper" in p.read_text("utf-8")]
    assert copies == ["_keymapper.py"]


def test_fix_reports_what_it_did(fixed_corpus: tuple[Path, str]) -> None:
    _, stderr = fixed_corpus
    total = sum(e.get("calls", 1) for entry in MANIFEST.values() for e in entry["migrated"])
    files = sum(1 for entry in MANIFEST.values() if entry["migrated"])
    assert f"Migrated {total} calls in {files} files" in stderr
    for name, entry in MANIFEST.items():
        for unsure in entry.get("unsure", []):
            assert f"{name}:{unsure['line']}:" in stderr
    unsure_lines = [line for line in stderr.splitlines() if "not fixed: receiver may not" in line]
    assert len(unsure_lines) == sum(len(entry.get("unsure", [])) for entry in MANIFEST.values())


def test_second_fix_changes_nothing(fixed_corpus: tuple[Path, str]) -> None:
    root, _ = fixed_corpus
    before = {name: (root / name).read_bytes() for name in FILES}
    done = fix_in_place(root)
    assert {name: (root / name).read_bytes() for name in FILES} == before
    left = any(e["kind"] == "model" for entry in MANIFEST.values() for e in entry["left"])
    assert done.returncode == int(left or EXPECTED_EXIT), done.stderr
    assert "Traceback" not in done.stderr
