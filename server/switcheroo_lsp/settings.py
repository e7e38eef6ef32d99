"""Typed settings with defaults, shared by the language server and the command line.

Settings arrive as loose JSON (initializationOptions, workspace/configuration, CLI flags).
``Settings.from_dict`` never raises: an unknown key or an invalid value is reported in the
returned problems and the default is kept.
"""

from __future__ import annotations

import dataclasses
import enum
import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class Severity(enum.Enum):
    """Diagnostic severity names as users write them."""

    ERROR = "error"
    WARNING = "warning"
    INFORMATION = "information"
    HINT = "hint"


class RunMode(enum.Enum):
    """When diagnostics are computed."""

    ON_TYPE = "onType"
    ON_SAVE = "onSave"


class TreeNames(enum.Enum):
    """How rewritten loads name their trees when one scope loads several models."""

    RECEIVER = "receiver"  # the scope's only model: `variables`; several: `unet_variables`, ...
    SINGLE = "single"  # always the assignment name (loads into several models overwrite it)


class PreambleMode(enum.Enum):
    """How the KeyMapper reaches the migrated file."""

    INLINE = "inline"  # the KeyMapper source is written into the file
    IMPORT = "import"  # `from switcheroo_lsp.runtime import KeyMapper`
    MODULE = "module"  # one KeyMapper module in the project, imported (engine/layout.py)


DEFAULT_EXCLUDE: tuple[str, ...] = (
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    "env",
    ".env",
    "node_modules",
    "__pycache__",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".ipynb_checkpoints",  # Jupyter's autosave copies of notebooks
    "site-packages",
    "build",
    "dist",
)

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Settings:
    """Everything a user can set; the defaults are what a new user gets."""

    enable: bool = True
    severity: Severity = Severity.INFORMATION
    run: RunMode = RunMode.ON_TYPE
    fix_on_save: bool = False
    assignment_name: str = "variables"
    tree_names: TreeNames = TreeNames.RECEIVER
    preamble: PreambleMode = PreambleMode.INLINE
    exclude: tuple[str, ...] = field(default=())  # extra globs, on top of DEFAULT_EXCLUDE
    max_file_size: int = 2_000_000  # bytes; larger documents are skipped
    hint_non_model: bool = True  # a hint (different code, no fix) on optimizer/scheduler calls
    unsafe_fixes: bool = False  # fix-all also rewrites calls whose receiver may not be a model
    code_lens: bool = True  # a lens above each load whose checkpoint exists (clients with lenses)
    preview_outside_workspace: bool = False  # hover/lens may read checkpoints outside the folder
    checkpoint_diagnostics: bool = False  # say at the call what strict=True would say
    keymapper_module: str = ""  # module mode: the module's path from the project root ("" = found)
    # module mode, filled in by the shell per file (not a user setting): the import line to insert
    keymapper_import: str = ""
    # filled in by the shell too: top-level names isort counts as first party (the project's)
    first_party: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, raw: Any) -> tuple[Settings, list[str]]:
        """Build settings from loose JSON; return them with a list of problems found."""
        problems: list[str] = []
        if raw is None:
            return cls(), problems
        if not isinstance(raw, Mapping):
            return cls(), [f"settings must be an object, got {type(raw).__name__}; using defaults"]
        # Accept both {"switcheroo": {...}} and the bare section.
        if "switcheroo" in raw and isinstance(raw["switcheroo"], Mapping):
            raw = raw["switcheroo"]
        values: dict[str, Any] = {}
        for key, value in raw.items():
            name = canonical_name(key) if isinstance(key, str) else None
            if name is None:
                problems.append(f"unknown setting {key!r} ignored")
                continue
            try:
                values[name] = _CONVERTERS[name](value)
            except (TypeError, ValueError) as exc:
                problems.append(f"invalid value {value!r} for {key!r} ({exc}); using the default")
        return dataclasses.replace(cls(), **values), problems


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise TypeError("expected true or false")


def _enum(kind: type[enum.Enum]):
    def convert(value: Any) -> enum.Enum:
        if isinstance(value, str):
            for member in kind:
                if member.value.lower() == value.lower():
                    return member
        choices = ", ".join(m.value for m in kind)
        raise ValueError(f"expected one of {choices}")

    return convert


# Names the inlined KeyMapper needs at module level: binding one of them breaks the converter.
_RESERVED_NAMES = frozenset({"KeyMapper", "np", "jax", "jnp"})


def assignment_name(value: Any) -> str:
    """The ``assignment_name`` setting's check: ``value`` if it is usable, else ValueError."""
    return _identifier(value)


def _identifier(value: Any) -> str:
    if (
        isinstance(value, str)
        and _IDENTIFIER.fullmatch(value)
        and not keyword.iskeyword(value)  # `class = ...` or `None = ...` would not parse
        and value not in _RESERVED_NAMES
    ):
        return value
    raise ValueError(
        "expected a Python identifier that is not a keyword nor KeyMapper, np, jax or jnp"
    )


def _globs(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise TypeError("expected a list of glob strings")


def _size(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    raise ValueError("expected a positive integer (bytes)")


def _module_path(value: Any) -> str:
    if isinstance(value, str) and value.endswith(".py"):
        path = value.replace("\\", "/")
        if not path.startswith("/") and ":" not in path and ".." not in path.split("/"):
            return path
    raise ValueError("expected a path to a .py file inside the project, relative to its root")


_CONVERTERS: dict[str, Any] = {
    "enable": _bool,
    "severity": _enum(Severity),
    "run": _enum(RunMode),
    "fix_on_save": _bool,
    "assignment_name": _identifier,
    "tree_names": _enum(TreeNames),
    "preamble": _enum(PreambleMode),
    "exclude": _globs,
    "max_file_size": _size,
    "hint_non_model": _bool,
    "unsafe_fixes": _bool,
    "keymapper_module": _module_path,
    "code_lens": _bool,
    "preview_outside_workspace": _bool,
    "checkpoint_diagnostics": _bool,
}

# camelCase as clients send it, and snake_case as Python users write it.
_ALIASES: dict[str, str] = {name: name for name in _CONVERTERS}
_ALIASES.update(
    {
        "fixOnSave": "fix_on_save",
        "assignmentName": "assignment_name",
        "treeNames": "tree_names",
        "maxFileSize": "max_file_size",
        "hintNonModel": "hint_non_model",
        "unsafeFixes": "unsafe_fixes",
        "keymapperModule": "keymapper_module",
        "codeLens": "code_lens",
        "previewOutsideWorkspace": "preview_outside_workspace",
        "checkpointDiagnostics": "checkpoint_diagnostics",
    }
)


def canonical_name(key: str) -> str | None:
    """The setting a key names (``assignmentName``, ``assignment-name``, ``assignment_name``),
    or None for an unknown key."""
    return _ALIASES.get(key) or _ALIASES.get(key.replace("-", "_"))
