"""Which settings each file gets on the command line: the ``[tool.switcheroo]`` of the nearest
pyproject.toml at or above it (config.ConfigFinder, as the server finds a document's), flags on
top. In a monorepo ``switcheroo fix pkg_a pkg_b`` applies each package's own table."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from switcheroo_lsp.cli.reports import Job
from switcheroo_lsp.config import ConfigFile, ConfigFinder
from switcheroo_lsp.files import is_excluded, iter_python_files


@dataclass(frozen=True)
class FileJob:
    """A job and the config table its settings came from (what the table chose, flags aside)."""

    job: Job
    config: ConfigFile


def _as_error(problem: str) -> str:
    """A settings problem worded for the command line, which stops at it (the server goes on
    with the default, and says so)."""
    return problem.replace("; using the default", "").replace("' ignored", "'")


def config_problems(finder: ConfigFinder, configs: Iterable[ConfigFile]) -> list[str]:
    """What is wrong with these tables and the flags laid over them, each problem once."""
    problems: list[str] = []
    for config in configs:
        _, setting_problems = finder.settings_for(config)
        where = (
            f"{config.path} [tool.switcheroo] or the command line"
            if config.path
            else "command line"
        )
        for problem in [
            *config.problems,
            *(f"{_as_error(problem)} ({where})" for problem in setting_problems),
        ]:
            if problem not in problems:
                problems.append(problem)
    return problems


def given_configs(paths: Sequence[Path], finder: ConfigFinder) -> list[ConfigFile]:
    """The table governing each path named on the command line (a directory: its own)."""
    return [finder.config_for(p, directory=p.is_dir()) for p in paths]


def walk(paths: Sequence[Path], finder: ConfigFinder, force_exclude: bool) -> list[Path]:
    """The Python files under ``paths``: each walked with the ``exclude`` of the table governing
    it; a file under a nested pyproject.toml also skipped when that table's own ``exclude``
    (relative to its folder) matches it, unless it was named (and --force-exclude is off)."""
    configs = given_configs(paths, finder)
    excludes = [finder.settings_for(c)[0].exclude for c in configs]
    walks: list[tuple[list[Path], tuple[str, ...], ConfigFile]]
    if len(set(excludes)) <= 1:  # one exclude for every path: one walk, as before
        walks = [
            (list(paths), excludes[0] if excludes else (), configs[0] if configs else ConfigFile())
        ]
    else:
        walks = [([p], e, c) for p, e, c in zip(paths, excludes, configs, strict=True)]
    named = {os.path.abspath(p) for p in paths if not p.is_dir()}
    files: list[Path] = []
    seen: set[str] = set()
    for top, exclude, config in walks:
        for path in iter_python_files(top, exclude, force_exclude=force_exclude):
            if len(walks) > 1:  # one walk yields each file once; several may meet again
                real = os.path.realpath(path)
                if real in seen:
                    continue
                seen.add(real)
            own = finder.config_for(path)
            if (
                own.path != config.path
                and own.path is not None
                and finder.own_exclude(own)
                and (force_exclude or os.path.abspath(path) not in named)
                and is_excluded(path, own.path.parent, finder.own_exclude(own))
            ):
                continue
            files.append(path)
    return files


def file_jobs(
    files: Sequence[Path], mode: str, finder: ConfigFinder, max_file_size: int | None
) -> list[FileJob]:
    """A job per file with the settings of the table governing it; ``max_file_size`` (the flag)
    wins over the table's ``max-file-size``."""
    planned = []
    limits: dict[Path | None, int | None] = {}  # per table
    for path in files:
        config = finder.config_for(path)
        settings, _ = finder.settings_for(config)
        if config.path not in limits:
            configured = config.sets("max_file_size")
            limits[config.path] = settings.max_file_size if configured else None
        max_bytes = max_file_size if max_file_size is not None else limits[config.path]
        planned.append(FileJob(Job(str(path), mode, settings, max_bytes), config))
    return planned
