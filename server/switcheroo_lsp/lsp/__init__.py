"""The language server: a pygls shell that translates between LSP and the engine."""
