"""The language server's wiring: capabilities, lifecycle and settings.

Each feature module (diagnostics, actions, commands, and later notebooks) has a ``register(server)``
function that adds its handlers; :func:`create_server` calls them in order. Nothing here analyses
code: handlers translate between LSP and :mod:`switcheroo_lsp.engine`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import logging
from collections.abc import Callable, Generator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote

import attrs
from lsprotocol import types
from pygls.exceptions import FeatureRequestError, JsonRpcInternalError, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method
from pygls.uris import to_fs_path

from .. import __version__
from ..config import CONFIG_FILE, ConfigFile, find_config, merge_settings
from ..engine.model import FixResult
from ..settings import Settings
from .capabilities import ClientSupport, client_options
from .documents import LspTextDocument, LspWorkspace

if TYPE_CHECKING:
    from .diagnostics import DocumentDiagnostics
    from .preview import CheckpointPreviews

logger = logging.getLogger(__name__)

T = TypeVar("T")

SERVER_NAME = "switcheroo-lsp"
SETTINGS_SECTION = "switcheroo"
SETTINGS_WAIT_SECONDS = 3.0
CONFIG_WATCH_GLOB = "**/" + CONFIG_FILE
WARM_UP_SECONDS = 2.0  # after initialized: load the rewriter while the user reads

# The ExecuteCommandParams of the command being run (pygls hands command handlers only the
# arguments; the work-done token a client may send lives beside them).
EXECUTE_COMMAND_PARAMS: contextvars.ContextVar[types.ExecuteCommandParams | None] = (
    contextvars.ContextVar("execute_command_params", default=None)
)


@attrs.define
class UnreadableRequest:
    """A request whose params do not validate: answered with InvalidParams, never dropped."""

    id: int | str
    method: str
    jsonrpc: str = "2.0"


def _without_client_diagnostics(data: dict[str, Any]) -> dict[str, Any] | None:
    """A codeAction request with ``context.diagnostics`` emptied, or None for other messages."""
    params = data.get("params")
    if data.get("method") != types.TEXT_DOCUMENT_CODE_ACTION or not isinstance(params, dict):
        return None
    context = params.get("context")
    if not isinstance(context, dict):
        context = {}
    return {**data, "params": {**params, "context": {**context, "diagnostics": []}}}


class SwitcherooProtocol(LanguageServerProtocol):
    """pygls' protocol with LSP-correct documents and capabilities that depend on the client."""

    _server: SwitcherooServer

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(
        self, params: types.InitializeParams
    ) -> Generator[Any, Any, types.InitializeResult]:
        result = yield from super().lsp_initialize(params)
        # Documents opened from now on count lines as LSP does (see documents.py).
        self._workspace = LspWorkspace.replacing(self.workspace)
        server = self._server
        if not server.support.pull_diagnostics:
            # Push only: a client that can pull must not also be told it may.
            result.capabilities.diagnostic_provider = None
        return result

    def structure_message(self, data: dict[str, Any]) -> Any:
        """Read a message; a code action request survives malformed ``context.diagnostics``.

        The server never reads those diagnostics (actions are recomputed from the document), but
        pygls validates them, and a request that fails validation would get no answer at all.
        """
        try:
            return super().structure_message(data)
        except (JsonRpcInvalidParams, JsonRpcInternalError):
            if not isinstance(data, dict) or "id" not in data or "method" not in data:
                raise
            repaired = _without_client_diagnostics(data)
            if repaired is not None:
                try:
                    return super().structure_message(repaired)
                except (JsonRpcInvalidParams, JsonRpcInternalError):
                    pass
            return UnreadableRequest(id=data["id"], method=str(data["method"]))

    def handle_message(self, message: Any) -> None:
        if isinstance(message, UnreadableRequest):
            logger.warning("invalid params for %s (request %s)", message.method, message.id)
            self._send_response(
                message.id,
                error=types.ResponseError(
                    code=types.ErrorCodes.InvalidParams,
                    message=f"invalid params for {message.method}",
                ),
            )
            return
        super().handle_message(message)

    def _execute_handler(
        self,
        msg_id: Any,
        handler: Any,
        callback: Any,
        args: tuple[Any, ...] | None = None,
        kwargs: dict[str, Any] | None = None,
    ) -> None:
        # pygls 2.1.1 files every notification's future under a fresh id and never drops it
        # (20,000 didChange: 20,003 entries, +44 MiB); forget it once the handler is done.
        if callback == self._check_handler_result:
            futures = self._request_futures

            def done_then_forget(future: Any) -> None:
                # Not when cancelled: shutdown cancels every entry while iterating over them.
                if not future.cancelled():
                    futures.pop(msg_id, None)
                self._check_handler_result(future)

            callback = done_then_forget
        super()._execute_handler(msg_id, handler, callback, args, kwargs)

    def _handle_response(
        self, msg_id: Any, result: Any | None = None, error: Any | None = None
    ) -> None:
        # A late answer to a request we gave up on (the command was cancelled) is not an error.
        future = self._request_futures.get(msg_id)
        if future is not None and future.cancelled():
            self._request_futures.pop(msg_id, None)
            return
        super()._handle_response(msg_id, result, error)

    @lsp_method(types.WORKSPACE_EXECUTE_COMMAND)
    def lsp_workspace__execute_command(
        self, params: types.ExecuteCommandParams
    ) -> Generator[Any, Any, Any]:
        EXECUTE_COMMAND_PARAMS.set(params)
        return (yield from super().lsp_workspace__execute_command(params))


class SwitcherooServer(LanguageServer):
    """Server state: settings, what the client supports, and the engine's worker thread."""

    protocol: SwitcherooProtocol
    diagnostics: DocumentDiagnostics  # set by diagnostics.register
    previews: CheckpointPreviews  # set by preview.register

    def __init__(self) -> None:
        super().__init__(
            SERVER_NAME,
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            protocol_cls=SwitcherooProtocol,
        )
        # Editor settings (loose JSON) per workspace folder path; None: the editor's own.
        self.editor_sections: dict[str | None, Any] = {}
        self._editor_origin = "initializationOptions"
        self._configs: dict[tuple[Path, Path | None], ConfigFile] = {}  # (directory, folder)
        self._settings_cache: dict[tuple[str | None, Path | None], Settings] = {}
        self._logged_problems: set[str] = set()
        self.settings_generation = 0  # bumped on every change; caches key on it
        self.support = ClientSupport()
        self._initialization_settings: dict[str, Any] = {}
        # One worker: engine calls are CPU-bound under the GIL, so more threads only thrash.
        self.engine_executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="switcheroo-engine"
        )
        self.settings_listeners: list[Callable[[], None]] = []
        self.close_listeners: list[Callable[[str], None]] = []
        self.shutdown_listeners: list[Callable[[], None]] = []
        self._oversized_logged: set[str] = set()
        # Work-done tokens the client cancelled before pygls knew them (see commands.py).
        self.cancelled_progress: set[types.ProgressToken] = set()
        # Set once the first workspace/configuration answer is in (or not coming): diagnostics
        # computed before it would flash with the wrong settings.
        self.settings_ready = asyncio.Event()

    # -- engine and documents -------------------------------------------------------------------

    async def run_engine(self, function: Callable[..., T], *args: Any) -> T:
        """Run an engine function off the event loop, so requests and cancellations keep flowing."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.engine_executor, function, *args)

    async def run_fix(self, function: Callable[..., FixResult], *args: Any) -> FixResult:
        """Run ``fix`` / ``fix_all``; an engine bug becomes a FixResult error, never a crash."""
        try:
            return await self.run_engine(function, *args)
        except Exception as error:
            logger.exception("engine failure in %s", getattr(function, "__name__", function))
            self.log(f"switcheroo internal error: {error!r}", types.MessageType.Error)
            return FixResult(error=f"internal error: {error!r}")

    def warm_up(self) -> None:
        """Load the rewriter (libcst, about 0.3 s) in the engine thread once the session is
        idle, so the first quick fix does not pay for it and start-up does not either."""
        from .. import engine

        with contextlib.suppress(RuntimeError):  # the executor is shut down already
            self.engine_executor.submit(getattr, engine, "fix")

    def open_document(self, uri: str) -> LspTextDocument | None:
        """The open document for ``uri``, or None (never a document read from disk)."""
        document = self.workspace.text_documents.get(unquote(uri))
        return document if isinstance(document, LspTextDocument) else None

    def too_large(self, uri: str, text: str) -> bool:
        """True when ``text`` exceeds maxFileSize; logs once per document until it fits again."""
        limit = self.settings_for(uri).max_file_size
        # Code points <= UTF-8 bytes <= 4 * code points: encode only when it matters.
        if len(text) > limit:
            size = len(text)
        elif 4 * len(text) <= limit:
            size = 0
        else:
            size = len(text.encode("utf-8", "surrogatepass"))
        if size <= limit:
            self._oversized_logged.discard(uri)
            return False
        if uri not in self._oversized_logged:
            self._oversized_logged.add(uri)
            size = len(text.encode("utf-8", "surrogatepass"))  # once per document: exact bytes
            self.log(
                f"{uri}: skipped, {size} bytes is over maxFileSize ({limit} bytes)",
                types.MessageType.Info,
            )
        return True

    def forget_document(self, uri: str) -> None:
        """Drop per-document state when a document closes."""
        self._oversized_logged.discard(uri)
        for listener in self.close_listeners:
            listener(uri)

    def report_server_error(self, error: Exception, source: Any) -> None:
        """An unreadable notification or message: a log line, not pygls' error popup (a failed
        request already carries its error in the response)."""
        if source is FeatureRequestError:
            return
        self.log(
            f"ignored a message the server could not handle ({error})", types.MessageType.Warning
        )

    def log(self, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
        """A window/logMessage (the client's output panel) and the server's own log."""
        logger.log(_LOG_LEVELS.get(kind, logging.INFO), "%s", message)
        try:
            self.window_log_message(types.LogMessageParams(type=kind, message=message))
        except Exception:  # the transport may already be gone at exit
            logger.debug("could not send log message", exc_info=True)

    # -- settings -------------------------------------------------------------------------------

    async def wait_for_settings(self) -> None:
        """Wait (briefly) for the client's configuration before the first analysis."""
        if self.settings_ready.is_set():
            return
        try:
            await asyncio.wait_for(self.settings_ready.wait(), SETTINGS_WAIT_SECONDS)
        except asyncio.TimeoutError:
            self.log("no answer to workspace/configuration; using the settings so far")
            self.settings_ready.set()

    def settings_for(self, uri: str | None, *, directory: bool = False) -> Settings:
        """The settings governing one document: ``[tool.switcheroo]`` of the nearest
        pyproject.toml at or above it (within its workspace folder), the editor settings of that
        folder on top; merged as the command line merges its flags (config.merge_settings)."""
        folder = self.folder_of(uri) if uri is not None else None
        path = _fs_path(uri) if uri is not None else None
        config = ConfigFile()
        if path is not None:
            start = path if directory else path.parent
            boundary = Path(folder) if folder is not None else None
            found = self._configs.get((start, boundary))
            if found is None:
                found = self._configs[(start, boundary)] = find_config(start, boundary)
            config = found
        key = (folder, config.path)
        settings = self._settings_cache.get(key)
        if settings is None:
            editor = self.editor_sections.get(folder, self.editor_sections.get(None))
            settings, problems = merge_settings(config.table, editor)
            origin = f"{config.path} [tool.switcheroo] or editor settings" if config.path else None
            for problem in [*config.problems, *problems]:
                self._log_settings_problem(problem, origin or self._editor_origin)
            self._settings_cache[key] = settings
        return settings

    @property
    def settings(self) -> Settings:
        """The settings of a document outside any folder or pyproject.toml (editor settings only)."""
        return self.settings_for(None)

    def folder_of(self, uri: str) -> str | None:
        """The file-system path of the innermost workspace folder holding ``uri``, if any."""
        path = _fs_path(uri)
        if path is None:
            return None
        folders = [_fs_path(f.uri) for f in self.workspace.folders.values()]
        if self.workspace.root_path:
            folders.append(Path(self.workspace.root_path))
        inside = [f for f in folders if f is not None and (f == path or f in path.parents)]
        return str(max(inside, key=lambda f: len(f.parts))) if inside else None

    def _log_settings_problem(self, problem: str, origin: str) -> None:
        message = f"switcheroo settings ({origin}): {problem}"
        if message not in self._logged_problems:
            self._logged_problems.add(message)
            self.log(message, types.MessageType.Warning)

    def settings_changed(self) -> None:
        """Forget every resolved setting and let features recompute what they show."""
        self._settings_cache.clear()
        self._logged_problems.clear()
        self.settings_generation += 1
        self.settings_for(None)  # log the editor settings' problems now, not at the first document
        for listener in self.settings_listeners:
            listener()

    def config_files_changed(self) -> None:
        """A pyproject.toml was created, changed or deleted: read them again."""
        self._configs.clear()
        self.settings_changed()

    def apply_settings(self, sections: Mapping[str | None, Any], *, origin: str) -> None:
        """Replace the editor settings (loose JSON per workspace folder path, None for the
        whole editor); features recompute when they changed."""
        self._editor_origin = origin
        if dict(sections) != self.editor_sections:
            self.editor_sections = dict(sections)
            self.settings_changed()
        else:
            self.settings_for(None)

    async def refresh_settings(self, pushed: Any = None) -> None:
        """Re-read settings: workspace/configuration (once for the editor, once per workspace
        folder) if the client has it, else what it pushed."""
        initial = self._initialization_settings
        if not self.support.configuration:
            section = settings_section(pushed)
            if pushed is not None and section is None:
                self.apply_settings({None: pushed}, origin="didChangeConfiguration")
                return
            self.apply_settings(
                {None: {**initial, **(section or {})}}, origin="didChangeConfiguration"
            )
            return
        folders = [
            (str(path), folder.uri)
            for folder in self.workspace.folders.values()
            if (path := _fs_path(folder.uri)) is not None
        ]
        items = [types.ConfigurationItem(section=SETTINGS_SECTION)]
        items += [
            types.ConfigurationItem(section=SETTINGS_SECTION, scope_uri=uri) for _, uri in folders
        ]
        try:
            answer = await self.workspace_configuration_async(
                types.ConfigurationParams(items=items)
            )
        except Exception as error:  # a client may fail the request; keep what we have
            self.log(f"workspace/configuration failed: {error}", types.MessageType.Warning)
            answer = None
        answers = list(answer or [])
        sections: dict[str | None, Any] = {}
        for scope, value in zip([None, *(path for path, _ in folders)], answers, strict=False):
            if value is not None and not isinstance(value, Mapping):
                sections[scope] = value  # reported by merge_settings
            else:
                sections[scope] = {**initial, **(value or {})}
        sections.setdefault(None, dict(initial))
        self.apply_settings(sections, origin="workspace/configuration")


def _fs_path(uri: str) -> Path | None:
    """The file-system path of a ``file:`` uri, else None."""
    if not uri.startswith("file:"):
        return None
    path = to_fs_path(uri)
    return Path(path) if path else None


_LOG_LEVELS = {
    types.MessageType.Error: logging.ERROR,
    types.MessageType.Warning: logging.WARNING,
    types.MessageType.Info: logging.INFO,
    types.MessageType.Log: logging.DEBUG,
}


def settings_section(raw: Any) -> dict[str, Any] | None:
    """The ``switcheroo`` section of loose settings JSON (``{"switcheroo": {...}}`` or bare)."""
    if not isinstance(raw, Mapping):
        return None
    inner = raw.get(SETTINGS_SECTION)
    if isinstance(inner, Mapping):
        return dict(inner)
    if SETTINGS_SECTION in raw:
        return None
    return dict(raw)


def register_lifecycle(server: SwitcherooServer) -> None:
    """initialize (client support, first settings), initialized (configuration), shutdown."""

    @server.feature(types.INITIALIZE)
    def initialize(ls: SwitcherooServer, params: types.InitializeParams) -> None:
        options, reveal_call = client_options(params.initialization_options)
        ls.support = dataclasses.replace(
            ClientSupport.from_capabilities(params.capabilities, ls.workspace.position_encoding),
            reveal_call=reveal_call,
        )
        section = settings_section(options)
        if options is not None and section is None:
            ls.apply_settings({None: options}, origin="initializationOptions")
        else:
            ls._initialization_settings = section or {}
            ls.apply_settings({None: ls._initialization_settings}, origin="initializationOptions")
        if not ls.support.configuration:
            ls.settings_ready.set()

    @server.feature(types.INITIALIZED)
    async def initialized(ls: SwitcherooServer, params: types.InitializedParams) -> None:
        asyncio.get_running_loop().call_later(WARM_UP_SECONDS, ls.warm_up)
        if ls.support.configuration:
            try:
                await ls.refresh_settings()
            finally:
                ls.settings_ready.set()
        if ls.support.configuration_registration:
            try:
                await ls.client_register_capability_async(
                    types.RegistrationParams(
                        registrations=[
                            types.Registration(
                                id="switcheroo-configuration",
                                method=types.WORKSPACE_DID_CHANGE_CONFIGURATION,
                                register_options={"section": SETTINGS_SECTION},
                            )
                        ]
                    )
                )
            except Exception as error:  # optional: a client without it still pushes settings
                logger.debug("didChangeConfiguration registration failed: %s", error)
        if ls.support.watched_files_registration:
            try:
                await ls.client_register_capability_async(
                    types.RegistrationParams(
                        registrations=[
                            types.Registration(
                                id="switcheroo-pyproject",
                                method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                                register_options=types.DidChangeWatchedFilesRegistrationOptions(
                                    watchers=[
                                        types.FileSystemWatcher(glob_pattern=CONFIG_WATCH_GLOB)
                                    ]
                                ),
                            )
                        ]
                    )
                )
            except Exception as error:  # without it, pyproject.toml is read once per folder
                logger.debug("didChangeWatchedFiles registration failed: %s", error)

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: SwitcherooServer, params: None) -> None:
        for listener in ls.shutdown_listeners:
            listener()
        ls.engine_executor.shutdown(wait=False, cancel_futures=True)


def register_settings(server: SwitcherooServer) -> None:
    """workspace/didChangeConfiguration and didChangeWatchedFiles (pyproject.toml): re-read
    settings and let features react."""

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(
        ls: SwitcherooServer, params: types.DidChangeWatchedFilesParams
    ) -> None:
        if any(change.uri.endswith("/" + CONFIG_FILE) for change in params.changes):
            ls.config_files_changed()

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(
        ls: SwitcherooServer, params: types.DidChangeConfigurationParams
    ) -> None:
        await ls.refresh_settings(params.settings)


def create_server() -> SwitcherooServer:
    """A server with every feature registered."""
    from . import actions, commands, diagnostics, hover, notebook, preview

    server = SwitcherooServer()
    register_lifecycle(server)
    register_settings(server)
    diagnostics.register(server)
    actions.register(server)
    commands.register(server)
    hover.register(server)
    preview.register(server)
    notebook.register(server)  # last: routes cell URIs of the handlers above to notebooks
    return server
