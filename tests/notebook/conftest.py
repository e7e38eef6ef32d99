"""Fixtures for the notebook tests: a server process per test with a notebook-capable client."""

from __future__ import annotations

import pytest
from notebook_editor import CLIENTS, NotebookEditor

from clientside import RecordingClient, client_fixture

client = client_fixture(CLIENTS)


@pytest.fixture
def editor(client: RecordingClient) -> NotebookEditor:
    """The editor's side of one test."""
    return NotebookEditor(client, client.client_name)
