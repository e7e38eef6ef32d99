"""Module mode in the editor: a quick fix (or fix-all, fix on save) in a file whose project
already has switcheroo's KeyMapper module imports it instead of inlining a second copy, and
migrateWorkspace writes one module per project. Modules are looked for and planned on disk
(project.py); the engine stays pure."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.uris import to_fs_path

from ..engine.module_file import ModuleState
from ..engine.scan import NAME, scan
from ..files import SourceError, read_source
from ..project import (
    ModuleToWrite,
    ProjectRun,
    existing_module_import,
    keymapper_module_text,
    modules_needed,
    prepare,
    write_module,
)
from ..settings import PreambleMode, Settings

if TYPE_CHECKING:
    from .state import SwitcherooServer


async def fix_settings(ls: SwitcherooServer, uri: str, text: str) -> Settings:
    """The settings to fix ``uri`` with: module mode with the project's import when its module
    exists, else the configured mode (import mode is left as it is)."""
    settings = ls.settings_for(uri)
    if settings.preamble is PreambleMode.IMPORT or not uri.startswith("file:"):
        return settings
    fs_path = to_fs_path(uri)
    if not fs_path or not fs_path.endswith(".py"):
        return settings  # notebooks keep a self-contained copy
    try:
        folders = [to_fs_path(folder.uri) for folder in ls.workspace.folders.values()]
        roots = [Path(folder) for folder in folders if folder]
        found = await ls.run_engine(
            existing_module_import, Path(fs_path), text, settings.keymapper_module, roots
        )
    except (OSError, ValueError):
        return settings
    if found is None:
        return dataclasses.replace(settings, preamble=PreambleMode.INLINE)
    line, first_party = found
    return dataclasses.replace(
        settings, preamble=PreambleMode.MODULE, keymapper_import=line, first_party=first_party
    )


def module_mode(ls: SwitcherooServer, arguments: Sequence[Any]) -> bool:
    """migrateWorkspace writes one KeyMapper module per project unless the preamble setting is
    "import", or the command is asked for copies: ``[{"preamble": "inline"}]``."""
    if ls.settings.preamble is PreambleMode.IMPORT:
        return False
    asked = arguments[0] if arguments and isinstance(arguments[0], dict) else {}
    return asked.get("preamble") != PreambleMode.INLINE.value


@dataclass
class WorkspaceModules:
    """migrateWorkspace in module mode: the plan, and each file's settings."""

    run: ProjectRun
    settings: dict[str, Settings] = field(default_factory=dict)  # path -> settings to fix it with


def _plan(paths: Sequence[Path], base: Settings, roots: Sequence[Path]) -> WorkspaceModules:
    """Scan the files (cheap: no rewrite) to find the fixable ones, then plan their modules."""
    fixable: list[Path] = []
    others: list[Path] = []
    for path in paths:
        if path.suffix == ".ipynb":
            continue  # notebooks keep a self-contained copy
        try:
            text = read_source(path)
        except (SourceError, OSError):
            continue
        if NAME in text and any(f.fixable for f in scan(text).findings):
            fixable.append(path)
        else:
            others.append(path)
    run = prepare(fixable, others, base.keymapper_module, roots)
    plan = WorkspaceModules(run)
    for path in fixable:
        line = run.imports.get(str(path))
        if line:
            plan.settings[str(path)] = dataclasses.replace(
                base,
                preamble=PreambleMode.MODULE,
                keymapper_import=line,
                first_party=run.first_party.get(str(path), ()),
            )
        elif str(path) not in run.blocked:
            plan.settings[str(path)] = dataclasses.replace(base, preamble=PreambleMode.INLINE)
    return plan


async def plan_workspace(
    ls: SwitcherooServer, paths: Sequence[Path], roots: Sequence[Path]
) -> WorkspaceModules:
    """The module-mode plan for migrateWorkspace (``roots``: the workspace folders), computed
    off the event loop."""
    return await ls.run_engine(_plan, list(paths), ls.settings, list(roots))


def module_operations(
    ls: SwitcherooServer, plan: WorkspaceModules, changed: Sequence[str]
) -> tuple[list[types.CreateFile | types.TextDocumentEdit], list[ModuleToWrite]]:
    """The modules the changed files need: CreateFile plus an insert of the module's text when
    the client can create files (and refuses the edit where the file exists), else written by
    the server once the client has applied the edit (a log line says so)."""
    operations: list[types.CreateFile | types.TextDocumentEdit] = []
    server_writes: list[ModuleToWrite] = []
    for module in modules_needed(plan.run, changed):
        if module.state is ModuleState.MISSING and ls.support.create_files:
            uri = module.path.as_uri()
            options = types.CreateFileOptions(overwrite=False, ignore_if_exists=False)
            start = types.Position(line=0, character=0)
            insert = types.TextEdit(
                range=types.Range(start=start, end=start), new_text=keymapper_module_text()
            )
            document = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None)
            operations.append(types.CreateFile(uri=uri, options=options))
            operations.append(types.TextDocumentEdit(text_document=document, edits=[insert]))
        elif module.state in (ModuleState.MISSING, ModuleState.OUTDATED):
            server_writes.append(module)
        elif module.state is ModuleState.EDITED:
            ls.log(f"{module.path}: the KeyMapper module was edited since switcheroo wrote it")
    return operations, server_writes


async def write_modules(
    ls: SwitcherooServer, modules: Sequence[ModuleToWrite]
) -> list[dict[str, Any]]:
    """Write the modules from the server (the client cannot create files, or one is outdated);
    returns the problems, as migrateWorkspace's skip notes."""
    problems: list[dict[str, Any]] = []
    for module in modules:
        try:
            await ls.run_engine(write_module, module.path)
        except OSError as error:
            reason = f"cannot write the KeyMapper module ({error})"
            problems.append({"uri": module.path.as_uri(), "reason": reason})
            continue
        ls.log(f"switcheroo: wrote the KeyMapper module {module.path}", types.MessageType.Info)
    return problems
