"""Formatting kept (issue 11): arguments the rewrite adds or moves in a multi-line call follow
the call's own layout (continuation indentation as in the original, the closing line unchanged),
with no trailing whitespace; the rewritten file is clean under
`ruff check --select E1,E9,W291,W293` where the original was."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from switcheroo_lsp.engine import apply_edits, fix_all

HEADER = "from switcheroo_lsp.runtime import KeyMapper\n\n\ndef f(sd, base):\n    model = Net()\n"

MULTI_LINE = [
    (
        "arguments_on_one_continuation_line",
        "    missing, unexpected = model.load_state_dict(\n        sd, strict=False\n    )\n",
        "    variables, (missing, unexpected) = KeyMapper.from_torch(\n"
        "        sd, strict=False, return_report=True\n    )\n",
    ),
    (
        "one_argument_per_line_with_a_trailing_comma",
        "    missing, unexpected = model.load_state_dict(\n        sd,\n        strict=False,\n    )\n",
        "    variables, (missing, unexpected) = KeyMapper.from_torch(\n"
        "        sd,\n        strict=False,\n        return_report=True,\n    )\n",
    ),
    (
        "one_argument_per_line_without_a_trailing_comma",
        "    missing, unexpected = model.load_state_dict(\n        sd,\n        strict=False\n    )\n",
        "    variables, (missing, unexpected) = KeyMapper.from_torch(\n"
        "        sd,\n        strict=False,\n        return_report=True\n    )\n",
    ),
    (
        "a_lone_argument_on_its_own_line",
        "    missing, unexpected = model.load_state_dict(\n        sd\n    )\n",
        "    variables, (missing, unexpected) = KeyMapper.from_torch(\n"
        "        sd, return_report=True\n    )\n",
    ),
    (
        "visually_aligned_arguments",
        "    msg = model.load_state_dict(sd,\n                                strict=False)\n"
        "    print(msg)\n",
        "    variables, msg = KeyMapper.from_torch(sd,\n                                strict=False,\n"
        "                                return_report=True)\n    print(msg)\n",
    ),
    (
        "the_state_moved_first",
        "    missing, unexpected = model.load_state_dict(\n"
        "        strict=False,\n        state_dict=sd,\n    )\n",
        "    variables, (missing, unexpected) = KeyMapper.from_torch(\n"
        "        sd,\n        strict=False,\n        return_report=True,\n    )\n",
    ),
    (
        "assign_dropped_from_the_last_line",
        "    missing, unexpected = model.load_state_dict(\n        sd,\n        assign=True,\n    )\n",
        "    variables, (missing, unexpected) = KeyMapper.from_torch(\n"
        "        sd,\n        return_report=True,\n    )\n",
    ),
    (
        "target_added_to_a_later_load",
        "    model.load_state_dict(base)\n    model.load_state_dict(\n        sd,\n"
        "        strict=False,\n    )\n",
        "    variables = KeyMapper.from_torch(base)\n    variables = KeyMapper.from_torch(\n"
        "        sd,\n        target=variables,\n        strict=False,\n    )\n",
    ),
    (
        "comments_stay_on_their_lines",
        "    missing, unexpected = model.load_state_dict(\n"
        "        sd,  # the weights\n        strict=False,  # the head is new\n    )\n",
        "    variables, (missing, unexpected) = KeyMapper.from_torch(\n"
        "        sd,  # the weights\n        strict=False, return_report=True,  # the head is new\n"
        "    )\n",
    ),
]


def migrate(body: str) -> str:
    text = HEADER + body
    result = fix_all(text)
    assert result.error is None and result.fixed, (result.error, result.skipped)
    return apply_edits(text, result.edits)


@pytest.mark.parametrize(
    ("before", "after"), [r[1:] for r in MULTI_LINE], ids=[r[0] for r in MULTI_LINE]
)
def test_multi_line_call_keeps_its_layout(before: str, after: str) -> None:
    out = migrate(before)
    assert out == HEADER + after
    assert not any(line != line.rstrip() for line in out.splitlines())


def ruff_problems(path: Path) -> list[str]:
    ruff = shutil.which("ruff")
    assert ruff is not None, "ruff is in the test extra"
    done = subprocess.run(
        [ruff, "check", "--isolated", "--select", "E1,E9,W291,W293", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    return [line for line in done.stdout.splitlines() if path.name in line]


def test_rewritten_multi_line_calls_are_clean_under_ruff(tmp_path: Path) -> None:
    original = tmp_path / "original.py"
    original.write_text(HEADER + "".join(before for _, before, _ in MULTI_LINE))
    assert ruff_problems(original) == []
    migrated = tmp_path / "migrated.py"
    migrated.write_text(migrate("".join(before for _, before, _ in MULTI_LINE)))
    assert ruff_problems(migrated) == []
