"""Checkpoint files read by the server and the command line: their headers only, never user code."""
