"""One configuration for the command line and the editor: ``[tool.switcheroo]`` in pyproject.toml.

:func:`find_config` finds the table governing a directory (the nearest ``pyproject.toml`` at or
above it that has one, never above ``boundary``); :func:`merge_settings` lays overrides (command
line flags, or editor settings) over it. Both shells call these two functions, so the same folder
gives the same settings in the editor and on the command line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .settings import Settings, canonical_name

CONFIG_FILE = "pyproject.toml"


@dataclass(frozen=True)
class ConfigFile:
    """The ``[tool.switcheroo]`` table found for a directory (empty when there is none)."""

    path: Path | None = None
    table: Mapping[str, Any] = field(default_factory=dict)
    problems: tuple[str, ...] = ()


def find_config(start: Path, boundary: Path | None = None) -> ConfigFile:
    """The table of the nearest ``pyproject.toml`` at or above ``start`` that has a
    ``[tool.switcheroo]`` table, looking no higher than ``boundary`` (a workspace folder)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ModuleNotFoundError:
            return ConfigFile()
    start = start.resolve()
    stop = boundary.resolve() if boundary is not None else None
    for directory in [start, *start.parents]:
        if stop is not None and directory != stop and stop not in directory.parents:
            break  # left the workspace folder
        candidate = directory / CONFIG_FILE
        if not candidate.is_file():
            continue
        try:
            data = tomllib.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            return ConfigFile(candidate, {}, (f"{candidate}: cannot read it ({exc})",))
        tool = data.get("tool")
        section = tool.get("switcheroo") if isinstance(tool, dict) else None
        if section is None:
            continue
        if not isinstance(section, dict):
            return ConfigFile(candidate, {}, (f"{candidate}: [tool.switcheroo] must be a table",))
        return ConfigFile(candidate, section, ())
    return ConfigFile()


def merge_settings(config: Mapping[str, Any], overrides: Any) -> tuple[Settings, list[str]]:
    """Settings from a config table with ``overrides`` (flags, editor settings) on top.

    A key set in ``overrides`` replaces the config's value, except ``exclude``: the globs of both
    apply. Keys may be snake_case, kebab-case or camelCase. Never raises: problems are returned.
    """
    problems: list[str] = []
    if overrides is None:
        overrides = {}
    if not isinstance(overrides, Mapping):
        problems.append(f"settings must be an object, got {type(overrides).__name__}; ignored")
        overrides = {}
    raw = _by_setting(config)
    on_top = _by_setting(overrides)
    if "exclude" in raw and "exclude" in on_top:
        (_, configured), (key, given) = raw["exclude"], on_top["exclude"]
        on_top["exclude"] = (key, [*_as_list(configured), *_as_list(given)])
    raw.update(on_top)
    settings, more = Settings.from_dict(dict(raw.values()))
    return settings, problems + more


def _by_setting(table: Mapping[str, Any]) -> dict[str, tuple[str, Any]]:
    """setting name -> (the key as the user spelled it, for messages; the value)."""
    return {canonical_name(str(key)) or str(key): (str(key), value) for key, value in table.items()}


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]
