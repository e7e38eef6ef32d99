"""The language server's wiring: lifecycle, settings, and every feature registered in order.

Each feature module (diagnostics, actions, commands, hover, notebooks) has a ``register(server)``
function that adds its handlers; :func:`create_server` calls them in order. Nothing here analyses
code: handlers translate between LSP and :mod:`switcheroo_lsp.engine`. The server object itself
is :class:`switcheroo_lsp.lsp.state.SwitcherooServer`, below every feature.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging

from lsprotocol import types

from ..config import CONFIG_FILE
from .capabilities import ClientSupport, client_options
from .state import SETTINGS_SECTION, SwitcherooServer, settings_section

logger = logging.getLogger(__name__)

CONFIG_WATCH_GLOB = "**/" + CONFIG_FILE
WARM_UP_SECONDS = 2.0  # after initialized: load the rewriter while the user reads


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
    from . import (
        actions,
        commands,
        diagnostics,
        hover,
        notebook_actions,
        notebook_diagnostics,
        notebook_sync,
        preview,
    )

    server = SwitcherooServer()
    register_lifecycle(server)
    register_settings(server)
    diagnostics.register(server)
    actions.register(server)
    commands.register(server)
    hover.register(server)
    preview.register(server)
    # Last: they route cell URIs of the handlers above to notebooks.
    notebook_sync.register(server)
    notebook_diagnostics.register(server)
    notebook_actions.register(server)
    return server
