"""Fixtures for the end-to-end language server tests (helpers in lsp_session.py and clientside.py)."""

from __future__ import annotations

import pytest
from lsp_session import CLIENTS, Session

from clientside import RecordingClient, client_fixture

client = client_fixture(CLIENTS)


@pytest.fixture
def session(client: RecordingClient) -> Session:
    """The editor's side of one test."""
    return Session(client, client.client_name)
