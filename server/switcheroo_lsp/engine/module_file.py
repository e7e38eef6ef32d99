"""Module mode: the text of a project's KeyMapper module, and what to do with one found on disk.

The module is the runtime's KeyMapper source under a short header. The header's digest of the
text below it tells a module switcheroo wrote and nobody touched (safe to update) from one a user
edited (theirs now: left alone) and from a user's own file at that path (never overwritten).
"""

from __future__ import annotations

import enum
import hashlib
import re

MARKER = "# switcheroo-keymapper sha256:"
_MARKER_LINE = re.compile(r"^# switcheroo-keymapper sha256:([0-9a-f]{64})[ \t]*\r?$", re.MULTILINE)


class ModuleState(enum.Enum):
    """A KeyMapper module path as found on disk, compared with the text switcheroo would write."""

    MISSING = "missing"  # write it
    CURRENT = "current"  # exactly what switcheroo writes: leave it
    OUTDATED = "outdated"  # switcheroo wrote it, nobody edited it, an older KeyMapper: update it
    EDITED = "edited"  # switcheroo wrote it and someone edited it since: theirs, left alone
    FOREIGN = "foreign"  # not written by switcheroo: never overwritten


def _digest(body: str) -> str:
    return hashlib.sha256(body.replace("\r\n", "\n").encode("utf-8")).hexdigest()


def module_text(keymapper_source: str, version: str) -> str:
    """The module switcheroo writes: a header saying where it comes from, then the KeyMapper."""
    body = keymapper_source if keymapper_source.endswith("\n") else keymapper_source + "\n"
    header = (
        f"# Written by switcheroo (switcheroo-lsp {version}): the KeyMapper that this project's\n"
        "# migrated files import. `switcheroo fix` updates this file while it is unchanged; once\n"
        "# edited it is yours and left alone. To get switcheroo's current one, delete it and run\n"
        "# `switcheroo fix` again.\n"
        f"{MARKER}{_digest(body)}\n"
    )
    return header + body


def module_state(existing: str | None, wanted: str) -> ModuleState:
    """What the file at the module's path is, given the text switcheroo would write there."""
    if existing is None:
        return ModuleState.MISSING
    if existing.replace("\r\n", "\n") == wanted:
        return ModuleState.CURRENT
    match = _MARKER_LINE.search(existing)
    if match is None:
        return ModuleState.FOREIGN
    body = (
        existing[existing.index("\n", match.end()) + 1 :] if "\n" in existing[match.end() :] else ""
    )
    if _digest(body) == match.group(1):
        return ModuleState.OUTDATED
    return ModuleState.EDITED


def is_keymapper_module(text: str) -> bool:
    """True for a module switcheroo wrote (edited or not): it is never migrated itself."""
    return _MARKER_LINE.search(text) is not None
