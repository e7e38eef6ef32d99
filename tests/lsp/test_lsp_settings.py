"""Settings end to end: initializationOptions, workspace/configuration, didChangeConfiguration."""

from __future__ import annotations

from lsp_session import SAMPLE, Session
from lsprotocol import types

URI = "file:///project/train.py"


def severities(diagnostics: list[types.Diagnostic]) -> list[types.DiagnosticSeverity | None]:
    return [d.severity for d in diagnostics if d.code == "checkpoint-keys"]


async def test_invalid_and_unknown_settings_are_logged_and_defaulted(session: Session):
    await session.initialize(settings={"severity": "fatal", "colour": "red", "maxFileSize": -1})
    session.open(URI, SAMPLE)

    assert severities(await session.diagnostics(URI)) == [types.DiagnosticSeverity.Information]
    logged = "\n".join(m.message for m in session.client.log_messages)
    assert "'severity'" in logged and "'colour'" in logged and "'maxFileSize'" in logged


async def test_settings_that_are_not_an_object_are_logged_not_fatal(session: Session):
    await session.initialize(settings=["not", "an", "object"])
    session.open(URI, SAMPLE)

    assert severities(await session.diagnostics(URI)) == [types.DiagnosticSeverity.Information]
    assert any("settings" in m.message for m in session.client.log_messages)


async def test_workspace_configuration_overrides_initialization_options(session: Session):
    session.client.set_configuration({"severity": "error"}, section="switcheroo")
    await session.initialize(settings={"severity": "warning"})
    session.open(URI, SAMPLE)

    assert severities(await session.diagnostics(URI)) == [types.DiagnosticSeverity.Error]


async def test_did_change_configuration_rereads_workspace_configuration(session: Session):
    await session.initialize(pull=False)
    session.open(URI, SAMPLE)
    assert severities(await session.diagnostics(URI)) == [types.DiagnosticSeverity.Information]
    published = len(session.client.published)

    session.client.set_configuration({"severity": "warning"}, section="switcheroo")
    session.client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings=None)
    )

    republished = await session.wait_for_publish(
        URI,
        lambda p: (
            session.client.published.index(p) >= published
            and severities(list(p.diagnostics)) == [types.DiagnosticSeverity.Warning]
        ),
    )
    assert republished.version == 1


async def test_did_change_configuration_settings_are_used_without_workspace_configuration(
    session: Session,
):
    await session.initialize(pull=False, configuration=False)
    session.open(URI, SAMPLE)
    await session.diagnostics(URI)

    session.client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"switcheroo": {"severity": "error"}})
    )

    await session.wait_for_publish(
        URI, lambda p: severities(list(p.diagnostics)) == [types.DiagnosticSeverity.Error]
    )


async def test_disabling_clears_and_enabling_restores(session: Session):
    await session.initialize(pull=False, configuration=False)
    session.open(URI, SAMPLE)
    assert await session.diagnostics(URI) != []

    session.client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"switcheroo": {"enable": False}})
    )
    await session.wait_for_publish(URI, lambda p: not p.diagnostics)
    count = len(session.client.published)

    session.client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"switcheroo": {"enable": True}})
    )
    await session.wait_for_publish(URI, lambda p: bool(p.diagnostics), after=count)


async def test_pull_clients_that_support_refresh_are_asked_to_pull_again(session: Session):
    session.capabilities.workspace.diagnostics = types.DiagnosticWorkspaceClientCapabilities(
        refresh_support=True
    )
    await session.initialize(pull=True, configuration=False)
    session.open(URI, SAMPLE)
    await session.diagnostics(URI)

    session.client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"switcheroo": {"severity": "hint"}})
    )
    await session.pull_report(URI)  # a round trip: the refresh request came before its answer
    assert session.client.refresh_requests == 1
    assert session.client.published == []
