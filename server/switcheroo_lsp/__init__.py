"""switcheroo-lsp: find PyTorch ``load_state_dict`` calls and migrate them to JAX/Flax."""

import os
import sys

__version__ = "0.1.0"


def _launched_with_dash_m() -> bool:
    """True for ``python -m switcheroo_lsp[.x]`` (how editors start the server)."""
    argv = getattr(sys, "orig_argv", [])
    for i, arg in enumerate(argv[1:], 1):
        if arg.startswith("-m"):
            name = arg[2:] or (argv[i + 1] if i + 1 < len(argv) else "")
            return name.split(".")[0] == __name__
    return False


# `python -m` puts the working directory (the user's project, where editors start the server)
# first on sys.path, so a project file named logging.py or attrs.py would be imported, i.e.
# executed, by the server's own imports. Never run user code: drop that entry before any import.
if (
    not getattr(sys.flags, "safe_path", False)  # -P / PYTHONSAFEPATH (3.11+)
    and sys.path
    and os.path.abspath(sys.path[0] or os.curdir) == os.getcwd()
    and _launched_with_dash_m()
):
    del sys.path[0]
