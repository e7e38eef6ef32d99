"""Module mode's layout decisions (engine/layout.py): where the one KeyMapper module goes and the
import each fixed file gets, as tables of small project layouts."""

from __future__ import annotations

from pathlib import PurePosixPath as P

import pytest

from switcheroo_lsp.engine.layout import ProjectFacts, SourceFacts, plan
from switcheroo_lsp.engine.module_file import ModuleState, module_state, module_text


def project(*packages: str, src: bool = False, configured: str = "") -> ProjectFacts:
    return ProjectFacts(
        frozenset(P(p) for p in packages),
        (P("src"),) if src else (),
        P(configured) if configured else None,
    )


def source(
    path: str, *imports: str, relative: bool = False, beside: tuple[str, ...] = ()
) -> SourceFacts:
    return SourceFacts(P(path), imports, relative, frozenset(beside))


def decide(sources: list[SourceFacts], facts: ProjectFacts) -> tuple[list[str], dict[str, str]]:
    layout = plan(sources, facts)
    return (
        [str(m.path) for m in layout.modules],
        {str(path): line for path, (_, line) in layout.imports.items()},
    )


CASES = {
    "a package run with python -m: its nearest common package, absolute imports": (
        [source("pkg/train.py", "pkg.models"), source("pkg/models/net.py", "torch")],
        project("pkg", "pkg/models"),
        ["pkg/_keymapper.py"],
        {
            "pkg/train.py": "from pkg._keymapper import KeyMapper",
            "pkg/models/net.py": "from pkg._keymapper import KeyMapper",
        },
    ),
    "a package importing its siblings relatively gets a relative import": (
        [source("pkg/train.py", relative=True), source("pkg/models/net.py", relative=True)],
        project("pkg", "pkg/models"),
        ["pkg/_keymapper.py"],
        {
            "pkg/train.py": "from ._keymapper import KeyMapper",
            "pkg/models/net.py": "from .._keymapper import KeyMapper",
        },
    ),
    "files in one subpackage: the module goes into that subpackage": (
        [source("pkg/models/a.py"), source("pkg/models/b.py")],
        project("pkg", "pkg/models"),
        ["pkg/models/_keymapper.py"],
        {
            "pkg/models/a.py": "from pkg.models._keymapper import KeyMapper",
            "pkg/models/b.py": "from pkg.models._keymapper import KeyMapper",
        },
    ),
    "a flat scripts folder: a module beside the scripts": (
        [source("scripts/train.py", "torch"), source("scripts/eval.py", "torch")],
        project(),
        ["scripts/_keymapper.py"],
        {
            "scripts/train.py": "from _keymapper import KeyMapper",
            "scripts/eval.py": "from _keymapper import KeyMapper",
        },
    ),
    "a src layout: src is the import root; tests importing the package use it": (
        [source("src/lib/train.py"), source("tests/test_load.py", "lib.train")],
        project("src/lib", src=True),
        ["src/lib/_keymapper.py"],
        {
            "src/lib/train.py": "from lib._keymapper import KeyMapper",
            "tests/test_load.py": "from lib._keymapper import KeyMapper",
        },
    ),
    "a namespace package (no __init__.py) that imports itself by its dotted path": (
        [source("ns/plug/train.py", "ns.plug.net"), source("ns/plug/net.py", "torch")],
        project(),
        ["ns/plug/_keymapper.py"],
        {
            "ns/plug/train.py": "from ns.plug._keymapper import KeyMapper",
            "ns/plug/net.py": "from ns.plug._keymapper import KeyMapper",
        },
    ),
    "a namespace directory over two regular packages: the one with most fixed files": (
        [source("src/acme/a/x.py"), source("src/acme/a/y.py"), source("src/acme/b/z.py")],
        project("src/acme/a", "src/acme/b", src=True),
        ["src/acme/a/_keymapper.py"],
        {
            "src/acme/a/x.py": "from acme.a._keymapper import KeyMapper",
            "src/acme/a/y.py": "from acme.a._keymapper import KeyMapper",
            "src/acme/b/z.py": "from acme.a._keymapper import KeyMapper",
        },
    ),
    "a script at the root beside the package imports the package's module": (
        [source("pkg/train.py"), source("run.py")],
        project("pkg"),
        ["pkg/_keymapper.py"],
        {
            "pkg/train.py": "from pkg._keymapper import KeyMapper",
            "run.py": "from pkg._keymapper import KeyMapper",
        },
    ),
    "a script importing the package (installed) uses the package's module": (
        [source("pkg/train.py"), source("scripts/run.py", "pkg.train")],
        project("pkg"),
        ["pkg/_keymapper.py"],
        {
            "pkg/train.py": "from pkg._keymapper import KeyMapper",
            "scripts/run.py": "from pkg._keymapper import KeyMapper",
        },
    ),
    "scripts in unrelated folders: one module per script folder": (
        [source("tools/a.py"), source("examples/mnist/b.py")],
        project(),
        ["tools/_keymapper.py", "examples/mnist/_keymapper.py"],
        {
            "tools/a.py": "from _keymapper import KeyMapper",
            "examples/mnist/b.py": "from _keymapper import KeyMapper",
        },
    ),
    "a package file importing a module beside it by bare name runs as a script": (
        [source("pkg/train.py", "models", beside=("models", "train", "__init__"))],
        project("pkg"),
        ["pkg/_keymapper.py"],
        {"pkg/train.py": "from _keymapper import KeyMapper"},
    ),
    "the configured module serves package files and the scripts beside it": (
        [source("src/pkg/a.py"), source("src/pkg/sub/b.py", relative=True)],
        project("src/pkg", "src/pkg/sub", src=True, configured="src/pkg/_keymapper.py"),
        ["src/pkg/_keymapper.py"],
        {
            "src/pkg/a.py": "from pkg._keymapper import KeyMapper",
            "src/pkg/sub/b.py": "from .._keymapper import KeyMapper",
        },
    ),
    "a script that cannot import the configured module gets its folder's module": (
        [source("pkg/a.py"), source("scripts/b.py", "torch")],
        project("pkg", configured="pkg/_keymapper.py"),
        ["pkg/_keymapper.py", "scripts/_keymapper.py"],
        {
            "pkg/a.py": "from pkg._keymapper import KeyMapper",
            "scripts/b.py": "from _keymapper import KeyMapper",
        },
    ),
}


@pytest.mark.parametrize(
    ("sources", "facts", "modules", "imports"), CASES.values(), ids=CASES.keys()
)
def test_layout(sources, facts, modules, imports) -> None:
    assert decide(sources, facts) == (modules, imports)


def test_a_script_the_configured_module_cannot_serve_is_reported() -> None:
    layout = plan([source("scripts/b.py")], project("pkg", configured="pkg/_keymapper.py"))
    assert layout.notes == (
        "scripts/b.py: cannot import pkg/_keymapper.py when run as python scripts/b.py;"
        " it imports scripts/_keymapper.py",
    )


def test_a_package_whose_name_is_no_identifier_gets_no_import() -> None:
    layout = plan([source("my-pkg/sub/a.py", "my-pkg.sub")], project())
    assert [str(m.path) for m in layout.modules] == ["my-pkg/sub/_keymapper.py"]
    assert layout.imports[P("my-pkg/sub/a.py")][1] == "from _keymapper import KeyMapper"


SOURCE = "class KeyMapper:\n    pass\n"


@pytest.mark.parametrize(
    ("on_disk", "state"),
    [
        (None, ModuleState.MISSING),
        (module_text(SOURCE, "0.1.0"), ModuleState.CURRENT),
        (module_text(SOURCE, "0.1.0").replace("\n", "\r\n"), ModuleState.CURRENT),
        (module_text("class KeyMapper:\n    old = 1\n", "0.0.9"), ModuleState.OUTDATED),
        (module_text(SOURCE, "0.1.0") + "# my change\n", ModuleState.EDITED),
        ("class KeyMapper:  # the user's own\n    pass\n", ModuleState.FOREIGN),
        ("", ModuleState.FOREIGN),
    ],
    ids=["missing", "current", "current-crlf", "outdated", "edited", "foreign", "empty"],
)
def test_module_state(on_disk: str | None, state: ModuleState) -> None:
    assert module_state(on_disk, module_text(SOURCE, "0.1.0")) is state


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("src/pkg/_keymapper.py", "src/pkg/_keymapper.py"),
        ("pkg\\_keymapper.py", "pkg/_keymapper.py"),
        ("/abs/_keymapper.py", ""),
        ("../elsewhere/_keymapper.py", ""),
        ("C:/x/_keymapper.py", ""),
        ("pkg/_keymapper.txt", ""),
        (3, ""),
    ],
)
def test_keymapper_module_setting(value: object, kept: str) -> None:
    from switcheroo_lsp.settings import Settings

    settings, problems = Settings.from_dict({"keymapperModule": value})
    assert settings.keymapper_module == kept
    assert bool(problems) == (kept == "")
