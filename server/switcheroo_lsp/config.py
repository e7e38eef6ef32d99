"""One configuration for the command line and the editor: ``[tool.switcheroo]`` in pyproject.toml.

:func:`find_config` finds the table governing a directory (the nearest ``pyproject.toml`` at or
above it that has one, never above ``boundary``); :func:`merge_settings` lays overrides (command
line flags, or editor settings) over it. Both shells call these two functions, so the same folder
gives the same settings in the editor and on the command line; :class:`ConfigFinder` does both
for many files at once, reading each pyproject.toml once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
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

    def sets(self, name: str) -> bool:
        """Whether the table sets the setting ``name`` (snake_case), in any spelling of its key."""
        return any(canonical_name(str(key)) == name for key in self.table)


class ConfigFinder:
    """The configuration governing each file, and the settings it makes with ``overrides``
    (command line flags, editor settings) on top: each directory is looked at once, each
    pyproject.toml read and merged once, however many files it governs. Relative paths are
    taken from the directory that was current when the finder was made."""

    def __init__(self, overrides: Mapping[str, Any] | None = None, *, read_files: bool = True):
        self.overrides: Mapping[str, Any] = overrides or {}
        self.read_files = read_files  # False: --no-config, every file gets the overrides alone
        self._cwd = os.getcwd()
        self._configs: dict[tuple[str, Path | None], ConfigFile] = {}
        self._read: dict[Path, ConfigFile | None] = {}  # directory -> its own table
        self._settings: dict[Path | None, tuple[Settings, list[str]]] = {}
        self._own: dict[Path | None, tuple[str, ...]] = {}

    def config_for(
        self, path: Path, *, directory: bool = False, boundary: Path | None = None
    ) -> ConfigFile:
        """The table of the nearest pyproject.toml at or above the directory holding ``path``
        (``path`` itself with ``directory``), no higher than ``boundary``."""
        if not self.read_files:
            return ConfigFile()
        given = os.fspath(path)
        key = (given if directory else os.path.dirname(given), boundary)  # as written: no syscall
        found = self._configs.get(key)
        if found is None:
            start = Path(os.path.normpath(os.path.join(self._cwd, key[0])))
            found = self._configs[key] = find_config(start, boundary, self._config_in)
        return found

    def _config_in(self, directory: Path) -> ConfigFile | None:
        if directory not in self._read:
            self._read[directory] = config_in(directory)
        return self._read[directory]

    def settings_for(self, config: ConfigFile) -> tuple[Settings, list[str]]:
        """``config``'s table with the overrides on top, and the problems merging found."""
        merged = self._settings.get(config.path)
        if merged is None:
            merged = self._settings[config.path] = merge_settings(config.table, self.overrides)
        return merged

    def own_exclude(self, config: ConfigFile) -> tuple[str, ...]:
        """The ``exclude`` globs of ``config`` alone (no overrides): relative to its folder."""
        globs = self._own.get(config.path)
        if globs is None:
            globs = self._own[config.path] = merge_settings(config.table, None)[0].exclude
        return globs


def config_in(directory: Path) -> ConfigFile | None:
    """The ``[tool.switcheroo]`` table of ``directory/pyproject.toml``; None when the directory
    has no such file or the file has no such table (look further up)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ModuleNotFoundError:
            return None
    candidate = directory / CONFIG_FILE
    if not candidate.is_file():
        return None
    try:
        data = tomllib.loads(candidate.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return ConfigFile(candidate, {}, (f"{candidate}: cannot read it ({exc})",))
    tool = data.get("tool")
    section = tool.get("switcheroo") if isinstance(tool, dict) else None
    if section is None:
        return None
    if not isinstance(section, dict):
        return ConfigFile(candidate, {}, (f"{candidate}: [tool.switcheroo] must be a table",))
    return ConfigFile(candidate, section, ())


def find_config(
    start: Path,
    boundary: Path | None = None,
    read: Callable[[Path], ConfigFile | None] = config_in,
) -> ConfigFile:
    """The table of the nearest ``pyproject.toml`` at or above ``start`` that has a
    ``[tool.switcheroo]`` table, looking no higher than ``boundary`` (a workspace folder).
    ``read`` reads one directory's (ConfigFinder passes one that remembers)."""
    start = start.resolve()
    stop = boundary.resolve() if boundary is not None else None
    for directory in [start, *start.parents]:
        if stop is not None and directory != stop and stop not in directory.parents:
            break  # left the workspace folder
        found = read(directory)
        if found is not None:
            return found
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
