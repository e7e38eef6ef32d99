"""One configuration per file: each file gets the `[tool.switcheroo]` of the nearest
pyproject.toml at or above it (as the server does for a document), flags on top. In a monorepo
`switcheroo fix pkg_a pkg_b` applies each package's own table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import run

from monorepo import PKG_A, TRAIN, monorepo, write


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return monorepo(tmp_path)


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_fix_applies_each_packages_own_table(repo: Path):
    code, _, err = run("fix", "pkg_a", "pkg_b")

    assert code == 0, err
    a, b = read(repo / "pkg_a/src/train.py"), read(repo / "pkg_b/src/train.py")
    assert "params = KeyMapper.from_torch(checkpoint['model'])" in a
    assert "class KeyMapper" in a and "from switcheroo_lsp.runtime import KeyMapper" not in a
    assert "weights = KeyMapper.from_torch(checkpoint['model'])" in b
    assert "from switcheroo_lsp.runtime import KeyMapper" in b and "class KeyMapper" not in b
    assert read(repo / "tools/train.py") == TRAIN  # not named


def test_the_nearest_table_wins_over_the_one_at_the_root(repo: Path):
    code, _, err = run("fix", ".")

    assert code == 0, err
    assert "params = KeyMapper" in read(repo / "pkg_a/src/train.py")
    assert "weights = KeyMapper" in read(repo / "pkg_b/src/train.py")
    assert "root_tree = KeyMapper" in read(repo / "tools/train.py")


def test_flags_override_every_table_and_leave_the_rest_of_each(repo: Path):
    code, _, err = run("fix", "--assignment-name", "state", "pkg_a", "pkg_b")

    assert code == 0, err
    a, b = read(repo / "pkg_a/src/train.py"), read(repo / "pkg_b/src/train.py")
    assert "state = KeyMapper.from_torch" in a and "class KeyMapper" in a
    assert "state = KeyMapper.from_torch" in b and "from switcheroo_lsp.runtime import" in b


def test_check_shows_hints_where_the_files_table_wants_them(repo: Path):
    code, out, err = run("check", ".")

    assert code == 1
    codes = [(line.split(":")[0], line.split(" ")[1]) for line in out.splitlines()]
    assert codes == [
        ("pkg_a/src/train.py", "checkpoint-keys"),  # hint-non-model = false in pkg_a
        ("pkg_b/src/train.py", "checkpoint-keys"),
        ("pkg_b/src/train.py", "non-model-state"),
        ("tools/train.py", "checkpoint-keys"),
        ("tools/train.py", "non-model-state"),
    ]
    assert "Found 3 load_state_dict calls to migrate in 3 files" in err
    assert "2 non-model calls (optimizers, schedulers, ...) need none" in err


def test_sarif_fixes_use_each_files_assignment_name(repo: Path):
    _, out, _ = run("check", "--output-format", "sarif", "pkg_a", "pkg_b")

    results = json.loads(out)["runs"][0]["results"]
    inserted = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: "".join(
            rep["insertedContent"]["text"]
            for rep in r["fixes"][0]["artifactChanges"][0]["replacements"]
        )
        for r in results
        if "fixes" in r
    }
    assert "params = KeyMapper" in inserted["pkg_a/src/train.py"]
    assert "weights = KeyMapper" in inserted["pkg_b/src/train.py"]


def test_a_nested_tables_exclude_applies_below_it(repo: Path):
    write(repo / "pkg_a" / "pyproject.toml", f"{PKG_A}exclude = ['generated']\n")
    write(repo / "pkg_a" / "generated" / "train.py", TRAIN)

    _, out, _ = run("check", "--output-format", "json", ".")

    paths = {f["path"] for f in json.loads(out)["findings"]}
    assert paths == {"pkg_a/src/train.py", "pkg_b/src/train.py", "tools/train.py"}


def test_a_problem_in_a_nested_table_stops_the_run_and_names_the_file(repo: Path):
    write(repo / "pkg_b" / "pyproject.toml", '[tool.switcheroo]\nassignment-name = "class"\n')

    code, _, err = run("fix", ".")

    assert code == 2
    assert f"{repo / 'pkg_b' / 'pyproject.toml'} [tool.switcheroo]" in err
    assert read(repo / "pkg_a/src/train.py") == TRAIN  # nothing written


def test_max_file_size_in_kebab_case_is_read_from_the_table(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "pyproject.toml", "[tool.switcheroo]\nmax-file-size = 10\n")
    write(tmp_path / "train.py", TRAIN)

    code, _, err = run("check", ".")

    assert code == 2 and "larger than --max-file-size (10 bytes), skipped" in err


def test_module_mode_plans_each_package_with_its_own_keymapper_module(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("pkg_a", "pkg_b"):
        write(tmp_path / name / "src" / "train.py", TRAIN)
        write(tmp_path / name / "pyproject.toml", f'[project]\nname = "{name}"\n')
    with (tmp_path / "pkg_a" / "pyproject.toml").open("a", encoding="utf-8") as table:
        table.write('[tool.switcheroo]\nkeymapper-module = "src/weights_map.py"\n')

    code, _, err = run("fix", ".")

    assert code == 0, err
    assert (tmp_path / "pkg_a/src/weights_map.py").is_file()
    assert not (tmp_path / "pkg_a/src/_keymapper.py").exists()
    assert (tmp_path / "pkg_b/src/_keymapper.py").is_file()
    assert "from weights_map import KeyMapper" in read(tmp_path / "pkg_a/src/train.py")
    assert "from _keymapper import KeyMapper" in read(tmp_path / "pkg_b/src/train.py")


def test_an_inline_package_and_a_module_mode_package_in_one_run(repo: Path):
    write(repo / "pkg_b" / "pyproject.toml", '[project]\nname = "pkg_b"\n')  # no table: the root's
    write(repo / "pyproject.toml", "[tool.switcheroo]\n")  # no preamble chosen: module mode

    code, _, err = run("fix", ".")

    assert code == 0, err
    assert "class KeyMapper" in read(repo / "pkg_a/src/train.py")  # pkg_a: preamble = "inline"
    assert "from _keymapper import KeyMapper" in read(repo / "pkg_b/src/train.py")
    assert (repo / "pkg_b/src/_keymapper.py").is_file()
    assert "Migrated 3 calls in 3 files" in err
