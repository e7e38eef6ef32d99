"""What the README promises about the command line, each claim checked."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_runner import run, write

from switcheroo_lsp import __version__

MODEL = "model.load_state_dict(state)\n"


def test_a_file_named_explicitly_is_checked_even_when_an_exclude_matches_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    write(tmp_path / "pkg" / "mod.py", MODEL)
    monkeypatch.chdir(tmp_path)

    code, out, _ = run("check", "pkg/mod.py", "--exclude", "mod.py")

    assert code == 1 and out.startswith("pkg/mod.py:1:1: checkpoint-keys")


def test_force_exclude_applies_excludes_to_files_named_explicitly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    write(tmp_path / "pkg" / "mod.py", MODEL)
    monkeypatch.chdir(tmp_path)

    assert run("check", "pkg/mod.py", "--exclude", "mod.py", "--force-exclude")[:2] == (0, "")


@pytest.mark.parametrize("glob", ["pkg1", "./pkg1", "pkg1/", "./pkg1/", ".//pkg1"])
def test_exclude_globs_are_normalised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, glob: str):
    write(tmp_path / "pkg1" / "a.py", MODEL)
    write(tmp_path / "pkg2" / "b.py", MODEL)
    monkeypatch.chdir(tmp_path)

    code, out, _ = run("check", ".", "--exclude", glob)

    assert code == 1
    assert [line.split(":")[0] for line in out.splitlines()] == ["pkg2/b.py"]


def test_an_invalid_assignment_name_fails_with_one_clear_message(tmp_path: Path):
    code, out, err = run("fix", "--assignment-name", "class", str(tmp_path))

    assert code == 2 and out == ""
    assert "using the default" not in err
    assert err.count("error:") == 1
    assert "--assignment-name: 'class': expected a Python identifier" in err


def test_an_invalid_config_value_is_an_error_not_a_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    write(tmp_path / "pyproject.toml", '[tool.switcheroo]\nassignment-name = "class"\n')
    monkeypatch.chdir(tmp_path)

    code, _, err = run("check", ".")

    assert code == 2
    assert "using the default" not in err and "'assignment-name'" in err


def test_version():
    assert run("--version") == (0, f"switcheroo {__version__}\n", "")


@pytest.mark.parametrize("code", ["checkpoint-keys", "non-model-state"])
def test_rule_prints_the_rules_documentation(code: str):
    status, out, _ = run("rule", code)

    assert status == 0
    assert out.startswith("# ") and f"({code})" in out.splitlines()[0]
    assert f"# noqa: {code}" in out


def test_rule_all_prints_every_rule():
    status, out, _ = run("rule", "--all")

    assert status == 0 and "(checkpoint-keys)" in out and "(non-model-state)" in out


def test_an_unknown_rule_is_a_usage_error_naming_the_known_ones():
    status, out, err = run("rule", "E501")

    assert (status, out) == (2, "")
    assert "unknown rule 'E501'" in err and "checkpoint-keys" in err
