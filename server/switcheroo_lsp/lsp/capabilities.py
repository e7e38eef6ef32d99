"""What the client can do, resolved once at initialize into one typed object."""

from __future__ import annotations

from dataclasses import dataclass

from lsprotocol import types
from pygls.capabilities import get_capability

from .positions import Encoding

# The client-side command a quick fix runs after its edit: arguments [uri, 0-based line].
REVEAL_CALL_COMMAND = "switcheroo.revealCall"
# The initializationOptions key by which a client says it has REVEAL_CALL_COMMAND. It is a
# client capability, not a setting: it is taken out before the options are read as settings.
REVEAL_CALL_OPTION = "revealCommand"


def client_options(raw: object) -> tuple[object, bool]:
    """initializationOptions split into the settings part and whether the client runs
    REVEAL_CALL_COMMAND (``"revealCommand": true`` beside the settings, bare or wrapped)."""
    if not isinstance(raw, dict) or REVEAL_CALL_OPTION not in raw:
        return raw, False
    settings = {key: value for key, value in raw.items() if key != REVEAL_CALL_OPTION}
    return settings, raw[REVEAL_CALL_OPTION] is True


@dataclass(frozen=True)
class ClientSupport:
    """The client capabilities the server's behaviour depends on."""

    encoding: Encoding = Encoding.UTF16
    pull_diagnostics: bool = False  # textDocument/diagnostic: no pushes (cells: until pulled)
    diagnostic_refresh: bool = False  # workspace/diagnostic/refresh
    resolve_edit: bool = False  # codeAction/resolve may fill in `edit`
    document_changes: bool = False  # versioned TextDocumentEdits in workspace edits
    create_files: bool = False  # CreateFile resource operations in workspace edits
    apply_edit: bool = False  # workspace/applyEdit
    configuration: bool = False  # workspace/configuration
    configuration_registration: bool = False  # didChangeConfiguration via client/registerCapability
    watched_files_registration: bool = False  # didChangeWatchedFiles via client/registerCapability
    work_done_progress: bool = False  # window/workDoneProgress/create
    code_lens_refresh: bool = False  # workspace/codeLens/refresh
    show_message: bool = True
    # The client runs REVEAL_CALL_COMMAND itself (initializationOptions {"revealCommand": true},
    # sent only by the VS Code extension; other clients would send it back as executeCommand).
    reveal_call: bool = False

    @classmethod
    def from_capabilities(
        cls, capabilities: types.ClientCapabilities, encoding: object
    ) -> ClientSupport:
        """Read the capabilities that matter; anything missing means "not supported"."""
        resolve_properties = get_capability(
            capabilities, "text_document.code_action.resolve_support.properties", []
        )
        return cls(
            encoding=Encoding.parse(encoding),
            pull_diagnostics=get_capability(capabilities, "text_document.diagnostic") is not None,
            diagnostic_refresh=bool(
                get_capability(capabilities, "workspace.diagnostics.refresh_support", False)
            ),
            resolve_edit="edit" in (resolve_properties or []),
            document_changes=bool(
                get_capability(capabilities, "workspace.workspace_edit.document_changes", False)
            ),
            create_files=bool(
                get_capability(capabilities, "workspace.workspace_edit.document_changes", False)
            )
            and "create"
            in (get_capability(capabilities, "workspace.workspace_edit.resource_operations") or []),
            apply_edit=bool(get_capability(capabilities, "workspace.apply_edit", False)),
            configuration=bool(get_capability(capabilities, "workspace.configuration", False)),
            configuration_registration=bool(
                get_capability(
                    capabilities, "workspace.did_change_configuration.dynamic_registration", False
                )
            ),
            watched_files_registration=bool(
                get_capability(
                    capabilities, "workspace.did_change_watched_files.dynamic_registration", False
                )
            ),
            work_done_progress=bool(
                get_capability(capabilities, "window.work_done_progress", False)
            ),
            code_lens_refresh=bool(
                get_capability(capabilities, "workspace.code_lens.refresh_support", False)
            ),
        )
