"""The platform-specific .vsix in real VS Code (code-server): it carries the server, so an
interpreter WITHOUT switcheroo-lsp installed (a fresh venv without pip) still gets the diagnostic
and the quick fix, from the bundled server run with that interpreter and PYTHONPATH on the bundle.

The .vsix is dist/switcheroo-lsp-linux-x64.vsix, which .ci/check-install.sh builds (or
`npm run package:linux-x64` in vscode-client, then copy it there; $SWITCHEROO_BUNDLED_VSIX
overrides). The harness (code-server, Chromium, the browser driver) is test_vscode.py's.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_vscode import (
    MODEL_CALL,
    OPTIMIZER_CALL,
    REPO,
    TRAIN,
    CodeServer,
    _assert_migrated_program,
    _drive,
    _find_tools,
    _missing,
    _workspace,
    start_code_server,
)

pytestmark = [pytest.mark.editor, pytest.mark.slow]


def _bundled_vsix() -> Path:
    configured = os.environ.get("SWITCHEROO_BUNDLED_VSIX")
    return Path(configured) if configured else REPO / "dist" / "switcheroo-lsp-linux-x64.vsix"


@pytest.fixture(scope="module")
def bundled_code_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CodeServer]:
    if sys.platform != "linux" or platform.machine() != "x86_64":
        pytest.skip("the bundled .vsix is built for linux-x64 only")
    vsix = _bundled_vsix()
    if not vsix.is_file():
        _missing(f"{vsix} not built (bash .ci/check-install.sh)")
    tools = dataclasses.replace(_find_tools(), vsix=vsix)
    yield from start_code_server(tools, tmp_path_factory)


def _bare_venv(root: Path) -> Path:
    """A venv without pip and without system site-packages: switcheroo_lsp is not importable."""
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=60
    )
    python = root / "bin" / "python"
    probe = subprocess.run(
        [str(python), "-c", "import switcheroo_lsp"],
        capture_output=True,
        cwd=root,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert probe.returncode != 0, "the bare venv must not see switcheroo_lsp"
    return python


def test_interpreter_without_switcheroo_gets_the_diagnostic_and_quick_fix_from_the_bundle(
    bundled_code_server: CodeServer, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    python = _bare_venv(tmp_path / "bare-venv")
    target = _workspace(tmp_path, "bundled", TRAIN, {"switcheroo.interpreter": str(python)})

    report = _drive(bundled_code_server, request, "quickfix", target)

    squiggled = [s["line"] for s in report["squiggles"] if s["kind"] != "squiggly-hint"]
    assert any(MODEL_CALL in line for line in squiggled), report
    assert not any(OPTIMIZER_CALL in line for line in squiggled), report
    text = _assert_migrated_program(target, migrated_calls=1)
    assert 'variables = KeyMapper.from_torch(checkpoint["model"]' in text
    channel = bundled_code_server.extension_log(target.parent)
    assert f"{python}: running the server bundled with the extension" in channel, channel[-3000:]
