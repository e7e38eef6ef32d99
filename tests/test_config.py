"""config.py: which pyproject.toml governs a directory, and how overrides lie over it."""

from __future__ import annotations

from pathlib import Path

import pytest

from switcheroo_lsp.config import ConfigFinder, find_config, merge_settings
from switcheroo_lsp.settings import PreambleMode


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_nearest_pyproject_with_a_switcheroo_table_governs(tmp_path: Path):
    write(tmp_path / "pyproject.toml", '[tool.switcheroo]\npreamble = "import"\n')
    write(tmp_path / "pkg" / "pyproject.toml", '[project]\nname = "pkg"\n')  # no table: skipped

    found = find_config(tmp_path / "pkg" / "sub")

    assert found.path == tmp_path / "pyproject.toml"
    assert dict(found.table) == {"preamble": "import"}


def test_nothing_above_the_boundary_is_read(tmp_path: Path):
    write(tmp_path / "pyproject.toml", '[tool.switcheroo]\npreamble = "import"\n')

    found = find_config(tmp_path / "folder" / "src", boundary=tmp_path / "folder")

    assert found.path is None and dict(found.table) == {}


def test_an_unreadable_pyproject_is_a_problem_not_an_exception(tmp_path: Path):
    write(tmp_path / "pyproject.toml", "[tool.switcheroo\n")

    found = find_config(tmp_path)

    assert found.path == tmp_path / "pyproject.toml"
    assert found.problems and "cannot read it" in found.problems[0]


@pytest.mark.parametrize(
    ("config", "overrides", "assignment", "preamble", "exclude"),
    [
        ({"assignment-name": "params"}, {}, "params", PreambleMode.INLINE, ()),
        (
            {"assignment-name": "params"},
            {"assignmentName": "tree"},
            "tree",
            PreambleMode.INLINE,
            (),
        ),
        ({"preamble": "import"}, {"assignment_name": "tree"}, "tree", PreambleMode.IMPORT, ()),
        (
            {"exclude": ["gen"]},
            {"exclude": ["old"]},
            "variables",
            PreambleMode.INLINE,
            ("gen", "old"),
        ),
        ({"exclude": "gen"}, {}, "variables", PreambleMode.INLINE, ("gen",)),
    ],
)
def test_overrides_replace_config_values_and_exclude_globs_add_up(
    config, overrides, assignment, preamble, exclude
):
    settings, problems = merge_settings(config, overrides)

    assert problems == []
    assert (settings.assignment_name, settings.preamble, settings.exclude) == (
        assignment,
        preamble,
        exclude,
    )


def test_problems_name_the_key_as_the_user_spelled_it():
    _, problems = merge_settings({"assignment-name": "class"}, {"maxFileSize": -1})

    assert any("'assignment-name'" in p for p in problems)
    assert any("'maxFileSize'" in p for p in problems)


def test_overrides_that_are_not_an_object_are_reported():
    settings, problems = merge_settings({"preamble": "import"}, ["x"])

    assert settings.preamble is PreambleMode.IMPORT
    assert problems and "must be an object" in problems[0]


def test_a_config_file_says_whether_it_sets_a_setting_in_any_spelling(tmp_path: Path):
    write(
        tmp_path / "pyproject.toml", "[tool.switcheroo]\nmax-file-size = 10\nhintNonModel = false\n"
    )

    found = find_config(tmp_path)

    assert found.sets("max_file_size") and found.sets("hint_non_model")
    assert not found.sets("preamble")


def test_the_finder_gives_each_file_its_nearest_table_with_the_overrides_on_top(tmp_path: Path):
    write(tmp_path / "pyproject.toml", '[tool.switcheroo]\nassignment-name = "root"\n')
    write(tmp_path / "pkg" / "pyproject.toml", '[tool.switcheroo]\npreamble = "import"\n')
    finder = ConfigFinder({"assignment_name": "flag"})

    root = finder.config_for(tmp_path / "train.py")
    pkg = finder.config_for(tmp_path / "pkg" / "src" / "train.py")

    assert root.path == tmp_path / "pyproject.toml"
    assert pkg.path == tmp_path / "pkg" / "pyproject.toml"
    assert finder.config_for(tmp_path / "pkg", directory=True) is pkg  # looked up once
    pkg_settings, problems = finder.settings_for(pkg)
    assert problems == [] and pkg_settings.preamble is PreambleMode.IMPORT
    assert pkg_settings.assignment_name == "flag"
    assert finder.settings_for(root)[0].assignment_name == "flag"
    assert ConfigFinder(read_files=False).config_for(tmp_path / "pkg" / "x.py").path is None
