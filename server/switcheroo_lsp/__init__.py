"""switcheroo-lsp: find PyTorch ``load_state_dict`` calls and migrate them to JAX/Flax."""

import os
import sys

__version__ = "0.1.0"


def _launched_with_dash_m() -> bool:
    """True while ``python -m switcheroo_lsp[.sub]`` (how editors start the server) locates the
    module: until then the interpreter sets ``sys.argv[0]`` to ``-m``, and the module's name is the
    word before the program's own arguments. switcheroo-lsp-startup.pth makes the same test."""
    if sys.argv[:1] != ["-m"]:
        return False
    module = "".join(sys.orig_argv[-len(sys.argv) :][:1])
    return module.partition(".")[0] in (__name__, "-m" + __name__)


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
