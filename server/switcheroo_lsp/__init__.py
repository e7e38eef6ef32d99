"""switcheroo-lsp: find PyTorch ``load_state_dict`` calls and migrate them to JAX/Flax."""

__version__ = "0.1.0"
