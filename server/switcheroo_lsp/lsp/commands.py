"""Commands: ``switcheroo.migrateFile`` and ``switcheroo.migrateWorkspace``.

Both apply the engine's fix-all through ``workspace/applyEdit`` and return a report of what was
changed and what was skipped (and why). migrateWorkspace walks the workspace folders with the
CLI's file walker and exclusions, shows work-done progress and can be cancelled (by
``$/cancelRequest`` or by the progress' cancel button) until the edit is sent.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.uris import from_fs_path, to_fs_path

from .. import engine  # engine.fix_all loads libcst on first use, not at start-up
from ..engine.model import FixResult
from ..files import SourceError, iter_python_files
from ..settings import Settings
from .edits import DocumentChange, workspace_edit
from .migration import Migration, disk_text
from .module_mode import (
    fix_settings,
    module_mode,
    module_operations,
    plan_workspace,
    write_modules,
)
from .notebook_actions import migrate_notebook

# Imported at run time: pygls reads command handlers' annotations with get_type_hints.
from .state import EXECUTE_COMMAND_PARAMS, SwitcherooServer

MIGRATE_FILE = "switcheroo.migrateFile"
MIGRATE_WORKSPACE = "switcheroo.migrateWorkspace"
MAX_ATTEMPTS = 3  # recomputations of a document that moved on before its edit was sent


@dataclass
class MigrationReport:
    """What a migration command did: JSON-ready via :meth:`as_json`."""

    changed: list[dict[str, Any]] = field(default_factory=list)  # uri, fixed
    skipped: list[dict[str, Any]] = field(default_factory=list)  # uri, reason (and line)
    applied: bool = False
    cancelled: bool = False
    message: str = ""

    def as_json(self) -> dict[str, Any]:
        """The command's result."""
        return {
            "applied": self.applied,
            "cancelled": self.cancelled,
            "changed": self.changed,
            "skipped": self.skipped,
            "message": self.message,
        }

    def summary(self) -> str:
        """One line for the user."""
        calls = sum(item["fixed"] for item in self.changed)
        files = len(self.changed)
        text = f"switcheroo: migrated {calls} call(s) in {files} file(s)"
        if self.skipped:
            text += f", skipped {len(self.skipped)} (see the output log)"
        return text


def migrate_text(uri: str, version: int | None, text: str, result: FixResult) -> Migration:
    """Translate one fix-all result into a document change plus skip notes."""
    skipped: list[dict[str, Any]] = [
        {"uri": uri, "line": finding.line + 1, "reason": why} for finding, why in result.skipped
    ]
    if result.error is not None:
        return Migration(None, 0, [{"uri": uri, "reason": result.error}, *skipped])
    if not result.edits:
        return Migration(None, 0, skipped)
    return Migration(DocumentChange(uri, version, text, result.edits), result.fixed, skipped)


async def source_of(ls: SwitcherooServer, uri: str, path: Path | None) -> tuple[str, int | None]:
    """The text to migrate: the editor's buffer if open (unsaved changes included), else the file
    (read off the event loop: a workspace can be thousands of files)."""
    document = ls.open_document(uri)
    if document is not None:
        return document.source, document.version
    if path is None:
        raise SourceError(Path(uri), "not open in the editor and not a file")
    limit = ls.settings.max_file_size
    try:
        return await ls.run_engine(disk_text, path, limit), None
    except SourceError as error:
        if "size limit" in error.message:
            raise SourceError(path, f"larger than maxFileSize ({limit} bytes)") from None
        raise


async def migrate_one(
    ls: SwitcherooServer, uri: str, path: Path | None, settings: Settings | None = None
) -> Migration:
    """Fix-all for one document or file; never raises for bad input."""
    if uri.endswith(".ipynb") or ls.workspace.get_notebook_document(notebook_uri=uri) is not None:
        return await migrate_notebook(ls, uri, path)
    try:
        text, version = await source_of(ls, uri, path)
    except SourceError as error:
        return Migration(None, 0, [{"uri": uri, "reason": error.message}])
    except OSError as error:
        return Migration(None, 0, [{"uri": uri, "reason": str(error)}])
    if ls.too_large(uri, text):
        limit = ls.settings_for(uri).max_file_size
        return Migration(
            None, 0, [{"uri": uri, "reason": f"larger than maxFileSize ({limit} bytes)"}]
        )
    settings = settings or await fix_settings(ls, uri, text)
    result: FixResult = await ls.run_fix(engine.fix_all, text, settings)
    return migrate_text(uri, version, text, result)


def is_stale(ls: SwitcherooServer, change: DocumentChange) -> bool:
    """True when the editor no longer holds the text ``change`` was computed from, as far as the
    server knows: a file read from disk that has been opened since, or an open document (or
    notebook cell) whose version moved on or that was closed."""
    document = ls.open_document(change.uri)
    if change.version is None:
        return document is not None
    return document is None or document.version != change.version


def _changed_on_disk(path: Path, text: str, max_bytes: int | None) -> bool:
    """True when a closed file no longer holds ``text`` (or can no longer be read)."""
    try:
        return disk_text(path, max_bytes) != text
    except SourceError:
        return True


def _files_changed(files: Sequence[tuple[Path, str]], max_bytes: int) -> list[bool]:
    """:func:`_changed_on_disk` for each (path, text)."""
    return [_changed_on_disk(path, text, max_bytes) for path, text in files]


def _path_of(uri: str) -> Path | None:
    fs_path = to_fs_path(uri)
    return Path(fs_path) if fs_path and uri.startswith("file:") else None


async def refreshed(ls: SwitcherooServer, migrations: Sequence[Migration]) -> list[Migration]:
    """The migrations, each recomputed (up to MAX_ATTEMPTS times) until it was computed from the
    text the client holds now; one still stale after that is dropped with a skip note. The last
    check runs with no ``await`` before the edit is sent, so no didOpen/didChange can slip in
    between the check and the send."""
    current = list(migrations)
    notebook_limit = 16 * ls.settings.max_file_size  # outputs make notebook files big
    for _attempt in range(MAX_ATTEMPTS):
        closed = [
            (i, change, path)
            for i, m in enumerate(current)
            if (change := m.change) is not None
            and change.version is None
            and (path := _path_of(change.uri)) is not None
        ]
        if closed:  # files read from disk: still the same on disk?
            flags = await ls.run_engine(
                _files_changed, [(path, change.text) for _, change, path in closed], notebook_limit
            )
            moved = {i for (i, _, _), flag in zip(closed, flags, strict=True) if flag}
        else:
            moved = set()
        stale = [
            i
            for i, m in enumerate(current)
            if m.change is not None
            and (i in moved or any(is_stale(ls, c) for c in (m.change, *m.more)))
        ]
        if not stale:
            return current
        for i in stale:
            uri = current[i].document_uri
            current[i] = await migrate_one(ls, uri, _path_of(uri))
    # Still moving after MAX_ATTEMPTS: leave those documents alone and say so.
    result = []
    for m in current:
        if m.change is not None and any(is_stale(ls, c) for c in (m.change, *m.more)):
            reason = "changed while it was being migrated; run the command again"
            result.append(Migration(None, 0, [{"uri": m.document_uri, "reason": reason}]))
        else:
            result.append(m)
    return result


async def apply(
    ls: SwitcherooServer,
    report: MigrationReport,
    migrations: Sequence[Migration],
    label: str,
    operations: Sequence[types.CreateFile | types.TextDocumentEdit] = (),
) -> None:
    """Send one workspace edit for every change and record the outcome in ``report``.

    Every change is checked against what the client holds right before the edit is sent, and
    recomputed if the document moved on (see :func:`refreshed`)."""
    if ls.support.apply_edit:
        migrations = await refreshed(ls, migrations)
    changes = [c for m in migrations if m.change is not None for c in (m.change, *m.more)]
    for migration in migrations:
        report.skipped.extend(migration.skipped)
        if migration.change is not None:
            report.changed.append({"uri": migration.change.uri, "fixed": migration.fixed})
    if not changes:
        report.message = "nothing to migrate"
        return
    if not ls.support.apply_edit:
        report.message = "the client does not support workspace/applyEdit"
        return
    # Documents that moved on while we computed get a versioned edit the client will refuse.
    edit = workspace_edit(ls.support, changes)
    if operations:  # module mode: the KeyMapper module is created first (lsp/module_mode.py)
        edit.document_changes = [*operations, *(edit.document_changes or [])]
    answer = await ls.workspace_apply_edit_async(
        types.ApplyWorkspaceEditParams(edit=edit, label=label)
    )
    report.applied = bool(answer.applied)
    if not report.applied:
        report.message = (
            f"the client did not apply the edit: {answer.failure_reason or 'no reason given'}"
        )
    else:
        report.message = report.summary()


def uri_argument(arguments: Sequence[Any]) -> str:
    """The document uri from migrateFile's arguments (``[uri]`` or ``[{"uri": uri}]``)."""
    if len(arguments) >= 1:
        first = arguments[0]
        if isinstance(first, dict):
            first = first.get("uri")
        if isinstance(first, str) and first:
            return first
    raise JsonRpcInvalidParams(
        message=f"{MIGRATE_FILE} expects one argument, the document uri; got {list(arguments)!r}"
    )


async def migrate_file(ls: SwitcherooServer, *arguments: Any) -> dict[str, Any]:
    """switcheroo.migrateFile [uri]: fix-all on one document through workspace/applyEdit."""
    uri = uri_argument(arguments)
    report = MigrationReport()
    path = _path_of(uri)
    if not ls.settings_for(uri).enable:
        report.message = "switcheroo is disabled (setting enable=false)"
        return report.as_json()
    migration = await migrate_one(ls, uri, path)
    await apply(ls, report, [migration], "Migrate load_state_dict calls")
    ls.log(f"{MIGRATE_FILE}: {report.message}", types.MessageType.Info)
    for item in report.skipped:
        ls.log(f"{MIGRATE_FILE}: skipped {item['uri']}: {item['reason']}", types.MessageType.Info)
    return report.as_json()


class Progress:
    """Work-done progress for one command, with the client's cancel button wired in."""

    def __init__(self, ls: SwitcherooServer, token: types.ProgressToken | None) -> None:
        self.ls = ls
        self.token = token
        self.cancelled: Future[Any] | None = None

    @classmethod
    async def start(cls, ls: SwitcherooServer, title: str) -> Progress:
        """Use the client's token if it sent one, else create one (if the client can show it)."""
        params = EXECUTE_COMMAND_PARAMS.get()
        token = params.work_done_token if params is not None else None
        if token is None and ls.support.work_done_progress:
            token = f"switcheroo-{uuid.uuid4()}"
            try:
                await ls.work_done_progress.create_async(token)
            except Exception as error:  # refused: report no progress (LSP), but do the work
                ls.log(f"no progress shown: the client refused it ({error})", types.MessageType.Log)
                token = None
        progress = cls(ls, token)
        if token is not None:
            ls.work_done_progress.begin(
                token, types.WorkDoneProgressBegin(title=title, cancellable=True, percentage=0)
            )
            progress.cancelled = ls.work_done_progress.tokens.get(token)
            if token in ls.cancelled_progress:
                ls.cancelled_progress.discard(token)
                if progress.cancelled is not None:
                    progress.cancelled.cancel()
        return progress

    @property
    def is_cancelled(self) -> bool:
        """True once the user pressed cancel on the progress."""
        return self.cancelled is not None and self.cancelled.cancelled()

    def report(self, message: str, done: int, total: int) -> None:
        """Move the progress bar."""
        if self.token is not None:
            percentage = int(100 * done / total) if total else 100
            self.ls.work_done_progress.report(
                self.token, types.WorkDoneProgressReport(message=message, percentage=percentage)
            )

    def end(self, message: str) -> None:
        """Close the progress."""
        if self.token is not None:
            self.ls.work_done_progress.end(self.token, types.WorkDoneProgressEnd(message=message))
            self.ls.work_done_progress.tokens.pop(self.token, None)
            self.token = None


def workspace_roots(ls: SwitcherooServer) -> list[Path]:
    """The workspace folders as paths (the root uri when the client sent no folders)."""
    uris = [folder.uri for folder in ls.workspace.folders.values()]
    if not uris and ls.workspace.root_uri:
        uris = [ls.workspace.root_uri]
    roots = []
    for uri in uris:
        path = to_fs_path(uri)
        if path and uri.startswith("file:"):
            roots.append(Path(path))
    return roots


async def migrate_workspace(ls: SwitcherooServer, *arguments: Any) -> dict[str, Any]:
    """switcheroo.migrateWorkspace: fix-all on every Python file of the workspace, one edit."""
    report = MigrationReport()
    if not ls.settings.enable:
        report.message = "switcheroo is disabled (setting enable=false)"
        return report.as_json()
    roots = workspace_roots(ls)
    if not roots:
        report.message = "no workspace folder to migrate"
        return report.as_json()
    progress = await Progress.start(ls, "switcheroo: migrating the workspace")
    try:
        walks = [([root], ls.settings_for(root.as_uri(), directory=True).exclude) for root in roots]
        paths: list[Path] = await ls.run_engine(
            lambda: [path for top, exclude in walks for path in iter_python_files(top, exclude)]
        )
        migrations: list[Migration] = []
        modules = await plan_workspace(ls, paths, roots) if module_mode(ls, arguments) else None
        for done, path in enumerate(paths):
            if progress.is_cancelled:
                report.cancelled = True
                break
            progress.report(path.name, done, len(paths))
            uri = from_fs_path(str(path)) or path.as_uri()
            if modules is not None and str(path) in modules.run.blocked:
                why = modules.run.blocked[str(path)]
                migrations.append(Migration(None, 0, [{"uri": uri, "reason": why}]))
                continue
            settings = modules.settings.get(str(path)) if modules is not None else None
            migrations.append(await migrate_one(ls, uri, path, settings))
            await asyncio.sleep(0)  # let cancellations in
        if progress.is_cancelled:
            report.cancelled = True
        if report.cancelled:
            report.message = "cancelled; nothing was changed"
        else:
            changed = [to_fs_path(m.change.uri) or "" for m in migrations if m.change]
            operations, writes = module_operations(ls, modules, changed) if modules else ([], [])
            label = "Migrate load_state_dict calls in the workspace"
            await apply(ls, report, migrations, label, operations)
            if report.applied:
                report.skipped.extend(await write_modules(ls, writes))
    except asyncio.CancelledError:
        progress.end("cancelled")
        raise
    progress.end(report.message)
    ls.log(f"{MIGRATE_WORKSPACE}: {report.message}", types.MessageType.Info)
    for item in report.skipped:
        ls.log(
            f"{MIGRATE_WORKSPACE}: skipped {item['uri']}: {item['reason']}", types.MessageType.Info
        )
    if report.applied or report.cancelled:
        ls.window_show_message(
            types.ShowMessageParams(type=types.MessageType.Info, message=report.message)
        )
    return report.as_json()


def register(server: SwitcherooServer) -> None:
    """The two commands, and progress cancellation bookkeeping."""
    server.command(MIGRATE_FILE)(migrate_file)
    server.command(MIGRATE_WORKSPACE)(migrate_workspace)

    @server.feature(types.WINDOW_WORK_DONE_PROGRESS_CANCEL)
    def progress_cancel(ls: SwitcherooServer, params: types.WorkDoneProgressCancelParams) -> None:
        # pygls cancels tokens it knows; remember the others (a cancel can overtake the
        # response to window/workDoneProgress/create).
        if params.token not in ls.work_done_progress.tokens:
            ls.cancelled_progress.add(params.token)
