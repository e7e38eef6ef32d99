"""`switcheroo check --output-format ...` and `--stdin-filename`."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from switcheroo_lsp import cli

TRAIN = (
    "import torch\n"
    "\n"
    "model = Net()\n"
    "model.load_state_dict(torch.load('ckpt.pt'), strict=False)\n"
    "optimizer.load_state_dict(state['optimizer'])\n"
    "encoder.load_state_dict(state, **options)\n"
)


def run(*argv: str, stdin: str | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    given = io.StringIO(stdin) if stdin is not None else None
    code = cli.main(list(argv), out, err, stdin=given)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def train(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train.py").write_text(TRAIN, encoding="utf-8")
    return "train.py"


def apply_sarif_replacements(text: str, replacements: list[dict]) -> str:
    """Apply SARIF replacements (1-based lines, code-point columns) the way a SARIF viewer would."""
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(line: int, column: int) -> int:
        return starts[line - 1] + column - 1

    for replacement in sorted(
        replacements,
        key=lambda r: (r["deletedRegion"]["startLine"], r["deletedRegion"]["startColumn"]),
        reverse=True,
    ):
        region = replacement["deletedRegion"]
        start = offset(region["startLine"], region["startColumn"])
        end = offset(region["endLine"], region["endColumn"])
        text = text[:start] + replacement["insertedContent"]["text"] + text[end:]
    return text


def test_concise_is_the_default_and_the_old_text_format(train: str):
    default = run("check", train)
    assert default == run("check", "--output-format", "concise", train)
    assert default == run("check", "--format", "text", train)
    assert default[1].splitlines()[0].startswith("train.py:4:1: checkpoint-keys ")


def test_format_json_is_kept_as_an_alias(train: str):
    code, out, _ = run("check", "--format", "json", train)

    assert (code, out) == run("check", "--output-format", "json", train)[:2]
    assert [f["line"] for f in json.loads(out)["findings"]] == [4, 5, 6]


def test_full_shows_the_call_underlined_and_whether_it_can_be_fixed(train: str):
    _, out, _ = run("check", "--output-format", "full", train)

    call = "model.load_state_dict(torch.load('ckpt.pt'), strict=False)"
    assert (
        f"  4 | {call}\n    | {'^' * len(call)}\n  = help: fixable with `switcheroo fix`\n" in out
    )
    assert "  = help: no automatic fix\n" in out  # the **options call


def test_json_lines_are_the_json_findings_one_per_line(train: str):
    _, lines, _ = run("check", "--output-format", "json-lines", train)
    _, document, _ = run("check", "--output-format", "json", train)

    assert [json.loads(line) for line in lines.splitlines()] == json.loads(document)["findings"]


def test_github_prints_workflow_annotations(train: str):
    code, out, err = run("check", "--output-format", "github", train)

    assert code == 1 and err == ""
    first, second, third = out.splitlines()
    assert first.startswith(
        "::error file=train.py,line=4,col=1,endLine=4,endColumn=59,"
        "title=switcheroo (checkpoint-keys)::`model.load_state_dict(...)` loads PyTorch weights"
    )
    assert second.startswith(
        "::notice file=train.py,line=5,col=1,endLine=5,endColumn=46,"
        "title=switcheroo (non-model-state)::"
    )
    assert third.startswith("::error file=train.py,line=6,")


def test_github_escapes_commas_and_colons_in_properties(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a,b:c.py").write_text("model.load_state_dict(sd)\n", encoding="utf-8")

    _, out, _ = run("check", "--output-format", "github", "a,b:c.py")

    assert out.startswith("::error file=a%2Cb%3Ac.py,line=1,")


def test_github_reports_a_file_that_does_not_parse(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.py").write_text("model.load_state_dict(\n", encoding="utf-8")

    code, out, _ = run("check", "--output-format", "github", "bad.py")

    assert code == 2 and out.startswith("::error file=bad.py,line=1,title=switcheroo (error)::")


def test_gitlab_code_quality_issues(train: str):
    _, out, _ = run("check", "--output-format", "gitlab", train)

    issues = json.loads(out)
    assert [(i["check_name"], i["severity"], i["location"]) for i in issues] == [
        ("checkpoint-keys", "major", {"path": "train.py", "lines": {"begin": 4}}),
        ("non-model-state", "info", {"path": "train.py", "lines": {"begin": 5}}),
        ("checkpoint-keys", "major", {"path": "train.py", "lines": {"begin": 6}}),
    ]
    assert all(i["description"] for i in issues)
    assert len({i["fingerprint"] for i in issues}) == 3


def test_gitlab_fingerprints_do_not_move_with_the_line(train: str):
    before = [
        i["fingerprint"] for i in json.loads(run("check", "--output-format", "gitlab", train)[1])
    ]
    Path(train).write_text("# a new first line\n" + TRAIN, encoding="utf-8")

    after = json.loads(run("check", "--output-format", "gitlab", train)[1])

    assert [i["fingerprint"] for i in after] == before
    assert after[0]["location"]["lines"]["begin"] == 5


def test_sarif_has_rules_with_help_results_with_regions_and_fixes(train: str):
    code, out, _ = run("check", "--output-format", "sarif", train)

    sarif = json.loads(out)
    assert code == 1 and sarif["version"] == "2.1.0" and "sarif-2.1.0" in sarif["$schema"]
    [run_] = sarif["runs"]
    rules = run_["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [
        "checkpoint-keys",
        "non-model-state",
        "model-copy",
        "model-materialize",
    ]
    assert all(r["help"]["text"] and r["help"]["markdown"] for r in rules)
    assert run_["columnKind"] == "unicodeCodePoints"
    results = run_["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [
        ("checkpoint-keys", "error"),
        ("non-model-state", "note"),
        ("checkpoint-keys", "error"),
    ]
    assert results[0]["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "train.py"},
        "region": {"startLine": 4, "startColumn": 1, "endLine": 4, "endColumn": 59},
    }
    assert [("fixes" in r) for r in results] == [True, False, False]  # **options: no fix


def test_sarif_fix_applied_gives_what_switcheroo_fix_writes(train: str):
    Path(train).write_text(TRAIN.replace("encoder.load_state_dict(state, **options)\n", ""))
    original = Path(train).read_text()
    sarif = json.loads(run("check", "--output-format", "sarif", train)[1])
    [fix] = sarif["runs"][0]["results"][0]["fixes"]
    [change] = fix["artifactChanges"]

    fixed_by_sarif = apply_sarif_replacements(original, change["replacements"])

    assert run("fix", train)[0] == 0
    assert fixed_by_sarif == Path(train).read_text()


def test_sarif_lists_a_file_that_does_not_parse_as_a_notification(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.py").write_text("model.load_state_dict(\n", encoding="utf-8")

    sarif = json.loads(run("check", "--output-format", "sarif", "bad.py")[1])

    [invocation] = sarif["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    [note] = invocation["toolExecutionNotifications"]
    assert "does not parse" in note["message"]["text"]


def test_stdin_check_reports_under_the_given_name(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    code, out, _ = run("check", "--stdin-filename", "pkg/train.py", stdin=TRAIN)

    assert code == 1 and out.startswith("pkg/train.py:4:1: checkpoint-keys")
    assert not (tmp_path / "pkg").exists()


def test_stdin_fix_writes_the_fixed_text_to_stdout(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train.py").write_text("model.load_state_dict(sd)\n", encoding="utf-8")

    code, out, err = run("fix", "--stdin-filename", "train.py", "--preamble", "import", stdin=TRAIN)

    assert "variables = KeyMapper.from_torch(torch.load('ckpt.pt'), strict=False)" in out
    assert "from switcheroo_lsp.runtime import KeyMapper" in out
    assert code == 1 and "left for manual migration" in err  # the **options call
    assert (tmp_path / "train.py").read_text() == "model.load_state_dict(sd)\n"  # not touched


def test_stdin_fix_diff_writes_the_diff(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    code, out, _ = run(
        "fix", "--diff", "--stdin-filename", "t.py", stdin="model.load_state_dict(sd)\n"
    )

    assert code == 1 and out.startswith("--- a/t.py\n+++ b/t.py\n")
    assert "+variables = KeyMapper.from_torch(sd)\n" in out


def test_stdin_fix_of_a_text_that_does_not_parse_echoes_it_and_exits_2(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    broken = "model.load_state_dict(\n"

    code, out, _ = run("fix", "--stdin-filename", "t.py", stdin=broken)

    assert (code, out) == (2, broken)


def test_stdin_keeps_crlf_line_endings_through_a_real_pipe(tmp_path: Path):
    source = b"import torch\r\nmodel.load_state_dict(sd)\r\n"

    proc = subprocess.run(
        [sys.executable, "-m", "switcheroo_lsp.cli", "fix", "--stdin-filename", "t.py"],
        input=source,
        capture_output=True,
        cwd=tmp_path,
        timeout=120,
    )

    assert proc.returncode == 0, proc.stderr
    assert b"variables = KeyMapper.from_torch(sd)\r\n" in proc.stdout
    assert b"\n" not in proc.stdout.replace(b"\r\n", b"")


def test_stdin_add_noqa_writes_the_commented_text_to_stdout(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    code, out, _ = run(
        "check", "--add-noqa", "--stdin-filename", "t.py", stdin="model.load_state_dict(sd)\n"
    )

    assert (code, out) == (0, "model.load_state_dict(sd)  # noqa: checkpoint-keys\n")
