"""Started from a project folder that shadows the standard library (or a dependency), the server
and the CLI run none of the project's files (issue 15, item 13), in every form the README and the
editor configurations document.

``python -m`` puts the working directory first on ``sys.path`` before the interpreter imports
``runpy`` and, through it, ``importlib.util``, ``types``, ``functools``, ``collections``,
``contextlib``, ``warnings``, ``operator``, ``keyword`` and ``reprlib``. Two guards: the start-up
hook ``switcheroo-lsp-startup.pth``, which the wheel and the editable install put in site-packages,
imports runpy before that entry exists; ``switcheroo_lsp/__init__.py`` drops the entry before any
other import. ``python -P -m`` (3.11+) and the console scripts never put the folder on the path.

The end-to-end cases run in fresh virtual environments: the interpreter of this suite may import
those modules at start-up (any ``.pth`` file of its site-packages can), which would hide the gap.
"""

from __future__ import annotations

import builtins
import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest

import switcheroo_lsp

pytestmark = pytest.mark.slow  # fresh venvs with the wheel and an editable install

REPO = Path(__file__).resolve().parents[2]
HOOK = REPO / "server" / "switcheroo-lsp-startup.pth"
SMOKE = REPO / ".ci" / "lsp_smoke.py"
BUILD_FILES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md")

MODULES = [
    # What runpy imports (only the start-up hook keeps these out of `python -m`)...
    "warnings",
    "types",
    "collections",
    "functools",
    "contextlib",
    "operator",
    "keyword",
    "reprlib",
    # ... and what the server imports after it (switcheroo_lsp/__init__.py keeps these out).
    "enum",
    "re",
    "json",
    "threading",
    "typing",
    "logging",
    "argparse",
    "typing_extensions",
]
PACKAGES = ["importlib", "asyncio", "pygls", "lsprotocol", "attrs", "libcst"]


def shadowing_project(root: Path) -> None:
    """Modules and packages named like the standard library's and the dependencies', each of
    which leaves a marker file when executed, and a file with a model call to check."""
    for name in MODULES:
        (root / f"{name}.py").write_text(f"open({str(root / ('RAN_' + name))!r}, 'w').close()\n")
    for name in PACKAGES:
        (root / name).mkdir()
        (root / name / "__init__.py").write_text(
            f"open({str(root / ('RAN_' + name))!r}, 'w').close()\n"
        )
    (root / "train.py").write_text("model.load_state_dict(sd)\n")


def ran(root: Path) -> list[str]:
    return sorted(p.name.removeprefix("RAN_") for p in root.glob("RAN_*"))


def clean_env() -> dict[str, str]:
    """This suite's environment without what would put other code on the path (PYTHONPATH points
    at the work tree in development) or turn the safe path on for every form."""
    drop = {"PYTHONPATH", "PYTHONSAFEPATH", "PYTHONSTARTUP", "PYTHONHOME"}
    return {key: value for key, value in os.environ.items() if key not in drop}


# --- the rule both guards apply --------------------------------------------------------------

HOOK_LINE = next(
    line for line in HOOK.read_text(encoding="utf-8").splitlines() if line.startswith("import")
)

LAUNCHES = [
    # (sys.orig_argv, sys.argv while the module is located, is it `-m switcheroo_lsp[.sub]`)
    (["py", "-m", "switcheroo_lsp", "--version"], ["-m", "--version"], True),
    (["py", "-m", "switcheroo_lsp"], ["-m"], True),
    (["py", "-m", "switcheroo_lsp.cli", "check", "."], ["-m", "check", "."], True),
    (["py", "-mswitcheroo_lsp.cli", "check"], ["-m", "check"], True),
    (["py", "-u", "-X", "utf8", "-m", "switcheroo_lsp"], ["-m"], True),
    (["py", "-m", "switcheroo_lspx"], ["-m"], False),
    (["py", "-m", "pip", "install", "switcheroo_lsp"], ["-m", "install", "switcheroo_lsp"], False),
    (["py", "-m", "pip", "-m", "switcheroo_lsp"], ["-m", "-m", "switcheroo_lsp"], False),
    (["py", "-c", "import switcheroo_lsp", "-m", "switcheroo_lsp"], ["-c", "-m", "x"], False),
    (["py", "/venv/bin/switcheroo-lsp"], ["/venv/bin/switcheroo-lsp"], False),
    ([], ["-m"], False),  # an embedding application may leave orig_argv empty
]


@pytest.mark.parametrize(("orig_argv", "argv", "ours"), LAUNCHES)
def test_the_hook_and_the_package_tell_the_same_launches_apart(
    monkeypatch: pytest.MonkeyPatch, orig_argv: list[str], argv: list[str], ours: bool
) -> None:
    monkeypatch.setattr(sys, "orig_argv", orig_argv)
    monkeypatch.setattr(sys, "argv", argv)
    imported: list[str] = []
    real_import = builtins.__import__

    def recording_import(name: str, *args: object, **kwargs: object) -> object:
        imported.append(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", recording_import)
    exec(HOOK_LINE, {})
    monkeypatch.setattr(builtins, "__import__", real_import)
    assert ("runpy" in imported) is ours
    assert switcheroo_lsp._launched_with_dash_m() is ours


# --- end to end, in fresh environments --------------------------------------------------------


def venv_purelib(python: Path) -> Path:
    return Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )


def pip_install(python: Path, *args: str) -> None:
    """This suite's pip installs into the venv (which has none)."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=clean_env(),
    )
    assert done.returncode == 0, f"pip install {' '.join(args)} failed:\n{done.stderr[-3000:]}"


def install(python: Path, source: Path, editable: bool, out: Path) -> None:
    """pip installs ``source`` into the venv as a wheel or editable. The wheel is built by this
    suite's setuptools through the PEP 517/660 hook pip itself calls (seconds); without
    setuptools here, pip builds it in an isolated environment (setuptools from the index)."""
    if importlib.util.find_spec("setuptools") is None:
        pip_install(python, *(["-e"] if editable else []), str(source))
        return
    hook = "build_editable" if editable else "build_wheel"
    built = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from setuptools import build_meta; print(build_meta.{hook}({str(out)!r}))",
        ],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=clean_env(),
    )
    assert built.returncode == 0, f"{hook} failed:\n{built.stderr[-3000:]}"
    pip_install(python, str(out / built.stdout.strip().splitlines()[-1]))


@pytest.fixture(scope="module", params=["wheel", "editable"])
def installed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin directory of a fresh venv holding this checkout, installed by pip as a wheel or as
    an editable install (see :func:`install`). Its dependencies (pygls, lsprotocol, libcst...) are this
    suite's, made visible by a path entry: a path entry's own .pth files are not run."""
    root = tmp_path_factory.mktemp(f"install-{request.param}")
    source = root / "source"
    source.mkdir()
    for name in BUILD_FILES:
        (source / name).write_bytes((REPO / name).read_bytes())
    shutil.copytree(
        REPO / "server",
        source / "server",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"),
    )
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(root / "venv")],
        check=True,
        capture_output=True,
    )
    python = root / "venv" / "bin" / "python"
    install(python, source, request.param == "editable", root / "dist")
    deps = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    purelib = venv_purelib(python)
    (purelib / "zz-test-dependencies.pth").write_text("\n".join(sorted(deps)) + "\n")
    assert (purelib / HOOK.name).is_file(), f"the {request.param} install has no {HOOK.name}"
    origin = subprocess.run(
        [str(python), "-c", "import switcheroo_lsp; print(switcheroo_lsp.__file__)"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        env=clean_env(),
    ).stdout.strip()
    assert origin.startswith(str(purelib if request.param == "wheel" else source)), origin
    return python.parent


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    shadowing_project(tmp_path)
    yield tmp_path


FORMS = {
    "python -m switcheroo_lsp --version": (["python", "-m", "switcheroo_lsp", "--version"], 0),
    "python -m switcheroo_lsp --help": (["python", "-m", "switcheroo_lsp", "--help"], 0),
    "python -m switcheroo_lsp.cli --version": (
        ["python", "-m", "switcheroo_lsp.cli", "--version"],
        0,
    ),
    "python -m switcheroo_lsp.cli check": (["python", "-m", "switcheroo_lsp.cli", "check", "."], 1),
    "python -P -m switcheroo_lsp --version": (
        ["python", "-P", "-m", "switcheroo_lsp", "--version"],
        0,
    ),
    "switcheroo-lsp --version": (["switcheroo-lsp", "--version"], 0),
    "switcheroo check": (["switcheroo", "check", "."], 1),
}


@pytest.mark.parametrize("form", FORMS)
def test_no_documented_form_runs_a_file_of_the_folder_it_starts_in(
    installed: Path, project: Path, form: str
) -> None:
    argv, expected = FORMS[form]
    if "-P" in argv and sys.version_info < (3, 11):
        pytest.skip("-P is new in Python 3.11")
    done = subprocess.run(
        [str(installed / argv[0]), *argv[1:]],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=clean_env(),
    )
    assert ran(project) == [], done.stderr
    assert done.returncode == expected, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    if "check" in argv:
        assert "checkpoint-keys" in done.stdout, done.stdout


@pytest.mark.parametrize(
    "command",
    [["python", "-m", "switcheroo_lsp"], ["switcheroo-lsp"]],
    ids=["python -m switcheroo_lsp", "switcheroo-lsp"],
)
def test_the_server_answers_initialize_in_a_shadowing_folder(
    installed: Path, project: Path, command: list[str]
) -> None:
    done = subprocess.run(
        [sys.executable, str(SMOKE), str(installed / command[0]), *command[1:]],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env=clean_env(),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "initialize/shutdown/exit OK: switcheroo-lsp" in done.stdout
    assert ran(project) == []


def test_other_programs_still_see_the_folder_first(installed: Path, project: Path) -> None:
    """The hook changes nothing for other commands: ``python -m json.tool`` in this folder runs
    the folder's own modules that runpy imports, as Python always does (and fails for it)."""
    done = subprocess.run(
        [str(installed / "python"), "-m", "json.tool", "--help"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=clean_env(),
    )
    assert done.returncode != 0
    assert ran(project) != []
    assert set(ran(project)) <= {*MODULES[:8], "importlib"}, ran(project)
