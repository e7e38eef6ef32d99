"""The one error the checkpoint commands raise for bad input or a failed write."""

from __future__ import annotations


class CheckpointError(Exception):
    """A problem worded for the command line; ``code`` is the exit code it ends with."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
