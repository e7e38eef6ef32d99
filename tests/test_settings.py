"""Settings: loose JSON in, typed settings out, never an exception."""

import pytest

from switcheroo_lsp.settings import PreambleMode, RunMode, Settings, Severity


def test_defaults_when_nothing_is_given():
    settings, problems = Settings.from_dict(None)
    assert settings == Settings()
    assert settings.severity is Severity.INFORMATION
    assert settings.assignment_name == "variables"
    assert problems == []


def test_camel_case_and_section_wrapper_are_accepted():
    settings, problems = Settings.from_dict(
        {
            "switcheroo": {
                "severity": "Warning",
                "fixOnSave": True,
                "run": "onSave",
                "preamble": "import",
            }
        }
    )
    assert settings.severity is Severity.WARNING
    assert settings.fix_on_save is True
    assert settings.run is RunMode.ON_SAVE
    assert settings.preamble is PreambleMode.IMPORT
    assert problems == []


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"severity": "loud"}, "severity"),
        ({"assignmentName": "not an identifier"}, "assignmentName"),
        ({"maxFileSize": -3}, "maxFileSize"),
        ({"fixOnSave": "yes"}, "fixOnSave"),
        ({"exclude": [1, 2]}, "exclude"),
    ],
)
def test_invalid_values_fall_back_to_defaults_with_a_problem(raw, field):
    settings, problems = Settings.from_dict(raw)
    assert settings == Settings()
    assert len(problems) == 1 and field in problems[0]


def test_unknown_keys_and_non_objects_are_reported_not_raised():
    settings, problems = Settings.from_dict({"bogus": 1})
    assert settings == Settings() and "bogus" in problems[0]
    settings, problems = Settings.from_dict(["not", "an", "object"])
    assert settings == Settings() and "object" in problems[0]


def test_unsafe_fixes_is_off_by_default_and_read_in_both_spellings():
    assert Settings().unsafe_fixes is False
    assert Settings.from_dict({"unsafeFixes": True}) == (Settings(unsafe_fixes=True), [])
    assert Settings.from_dict({"unsafe_fixes": True})[0].unsafe_fixes is True
    settings, problems = Settings.from_dict({"unsafeFixes": "yes"})
    assert settings.unsafe_fixes is False and problems


def test_tree_names_setting_accepts_receiver_and_single() -> None:
    from switcheroo_lsp.settings import TreeNames

    assert Settings().tree_names is TreeNames.RECEIVER
    settings, problems = Settings.from_dict({"treeNames": "single"})
    assert settings.tree_names is TreeNames.SINGLE and problems == []
    settings, problems = Settings.from_dict({"tree_names": "per-call"})
    assert settings.tree_names is TreeNames.RECEIVER and "receiver, single" in problems[0]


def test_preview_settings_default_to_lenses_on_and_reading_only_the_workspace() -> None:
    settings, problems = Settings.from_dict(
        {"codeLens": False, "preview_outside_workspace": True, "checkpoint-diagnostics": True}
    )

    assert problems == []
    assert (settings.code_lens, settings.preview_outside_workspace) == (False, True)
    assert settings.checkpoint_diagnostics is True
    default = Settings()
    assert (default.code_lens, default.preview_outside_workspace) == (True, False)
    assert default.checkpoint_diagnostics is False
    _, wrong = Settings.from_dict({"codeLens": "yes"})
    assert wrong == [
        "invalid value 'yes' for 'codeLens' (expected true or false); using the default"
    ]
