"""Fixtures for the notebook tests: a server process per test with a notebook-capable client."""

from __future__ import annotations

import pytest
import pytest_lsp
from notebook_editor import CLIENTS, NotebookEditor
from pytest_lsp import ClientServerConfig

from clientside import RecordingClient, make_client, server_command


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=server_command(), client_factory=make_client),
    params=CLIENTS,
    ids=CLIENTS,
)
async def client(request, client: RecordingClient):
    """A started (not yet initialized) server and a client named after its capability set."""
    client.client_name = request.param
    yield
    await client.shutdown_session()


@pytest.fixture
def editor(client: RecordingClient) -> NotebookEditor:
    """The editor's side of one test."""
    return NotebookEditor(client, client.client_name)
