"""Fixtures for the end-to-end language server tests (helpers live in lsp_session.py)."""

from __future__ import annotations

import pytest
import pytest_lsp
from lsp_session import CLIENTS, Session
from pytest_lsp import ClientServerConfig

from clientside import RecordingClient, make_client, server_command


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=server_command(), client_factory=make_client),
    params=CLIENTS,
    ids=CLIENTS,
)
async def client(request, client: RecordingClient):
    """A started (not yet initialized) server process and a client named after a capability set."""
    client.client_name = request.param
    yield
    await client.shutdown_session()


@pytest.fixture
def session(client: RecordingClient) -> Session:
    """The editor's side of one test."""
    return Session(client, client.client_name)
