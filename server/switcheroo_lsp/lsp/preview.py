"""The checkpoint preview in the editor: hover text, code lenses and the full-tree document.

A load call or a string literal naming a checkpoint (engine.checkpoint_paths) is resolved
against the document's folder, then its workspace folder; the file's headers are read in worker
threads of their own (never the engine's, so diagnostics never wait for a slow disk) and bounded
by a timeout; a read that outlives it keeps going and fills the cache for the next hover.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from ..checkpoints.flax_preview import (
    Preview,
    hover_markdown,
    lens_title,
    preview,
    strict_message,
    tree_text,
)
from ..checkpoints.headers import HeaderCache
from ..engine.checkpoint_paths import CheckpointRef, checkpoint_refs, ref_at

if TYPE_CHECKING:
    from .diagnostics import Analysis
    from .documents import LspTextDocument
    from .server import SwitcherooServer

logger = logging.getLogger(__name__)

PREVIEW_SCHEME = "switcheroo-preview"
TREE_SUFFIX = ".flax-tree"
TREE_COMMAND = "switcheroo.checkpointTree"
STRICT_CODE = "checkpoint-strict"  # the checkpointDiagnostics diagnostic
STRICT_URL = "https://github.com/switcheroo-lsp/switcheroo-lsp#preview-the-checkpoint"
READ_TIMEOUT_SECONDS = 1.5  # a hover or lens waits this long for a checkpoint, then says so
# A text without any of these cannot name a checkpoint: no parse needed.
SUFFIX_HINTS = (".safetensors", ".pt", ".pth", ".bin", ".ckpt")


def preview_uri(path: Path, keys: tuple[str, ...]) -> str:
    """switcheroo-preview:/abs/model.safetensors.flax-tree[?["model"]] (a read-only document)."""
    query = f"?{quote(json.dumps(list(keys)))}" if keys else ""
    return f"{PREVIEW_SCHEME}:{quote(path.as_posix())}{TREE_SUFFIX}{query}"


def parse_preview_uri(uri: str) -> tuple[Path, tuple[str, ...]] | None:
    """The (checkpoint path, keys) a preview uri names, or None when it is not one."""
    parts = urlsplit(uri)
    path = unquote(parts.path)
    if parts.scheme != PREVIEW_SCHEME or not path.endswith(TREE_SUFFIX):
        return None
    try:
        keys = json.loads(unquote(parts.query)) if parts.query else []
    except ValueError:
        return None
    if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
        return None
    return Path(path[: -len(TREE_SUFFIX)]), tuple(keys)


@dataclass(frozen=True)
class Located:
    """Where a written path leads: the file, or why it is not previewed."""

    path: Path | None
    problem: str = ""


class CheckpointPreviews:
    """The server's previews: checkpoint references per document, headers and previews cached."""

    def __init__(self, server: SwitcherooServer) -> None:
        self.server = server
        self.headers = HeaderCache()
        # Two readers: one slow disk does not hold up a checkpoint on another.
        self.executor = ThreadPoolExecutor(
            max_workers=2, thread_name_prefix="switcheroo-checkpoint"
        )
        self._previews: dict[tuple[Path, tuple[str, ...]], Preview] = {}
        self._reading: dict[tuple[Path, tuple[str, ...]], Future[Preview | str]] = {}
        self._refs: dict[str, tuple[str, tuple[CheckpointRef, ...]]] = {}
        # Checkpoints without a preview (unreadable): (path, keys) -> the file's (mtime, size)
        self._unreadable: dict[tuple[Path, tuple[str, ...]], tuple[int, int] | None] = {}
        self._rechecks: set[tuple[str, Path, tuple[str, ...]]] = set()
        self.timeout = READ_TIMEOUT_SECONDS

    # -- where ------------------------------------------------------------------------------------

    async def refs(self, document: LspTextDocument) -> tuple[CheckpointRef, ...]:
        """The document's checkpoint references (parsed once per text, in the engine thread)."""
        text = document.source
        cached = self._refs.get(document.uri)
        if cached is not None and cached[0] is text:
            return cached[1]
        found: tuple[CheckpointRef, ...] = ()
        if any(hint in text for hint in SUFFIX_HINTS):
            found = await self.server.run_engine(checkpoint_refs, text)
        self._refs[document.uri] = (text, found)
        return found

    def roots(self, uri: str) -> list[Path]:
        """Folders whose checkpoints are read without previewOutsideWorkspace: the document's
        workspace folder, else its own folder."""
        folder = self.server.folder_of(uri)
        if folder is not None:
            return [Path(folder)]
        path = _fs_path(uri)
        return [path.parent] if path is not None else []

    def allowed(self, uri: str, path: Path) -> bool:
        """Inside the roots (lexically: a symlink placed in the workspace counts as inside),
        or anywhere when the setting says so."""
        if self.server.settings_for(uri).preview_outside_workspace:
            return True
        normal = Path(os.path.normpath(path))
        return any(normal == root or root in normal.parents for root in self.roots(uri))

    def locate(self, uri: str, written: str) -> Located:
        """The file ``written`` names, from the document's folder, then the workspace folder."""
        given = Path(os.path.expanduser(written))
        document = _fs_path(uri)
        bases = [document.parent] if document is not None else []
        folder = self.server.folder_of(uri)
        if folder is not None and Path(folder) not in bases:
            bases.append(Path(folder))
        candidates = [given] if given.is_absolute() else [base / given for base in bases]
        for candidate in candidates:
            if not self.allowed(uri, candidate):
                if candidate.exists():
                    return Located(
                        None,
                        f"`{written}` is outside the workspace: set "
                        "`switcheroo.previewOutsideWorkspace` to preview it",
                    )
                continue
            if candidate.exists():
                return Located(Path(os.path.normpath(candidate)))
        looked = ", ".join(f"`{c.parent}`" for c in candidates) or "no folder (unsaved document)"
        return Located(None, f"`{written}` not found (looked in {looked})")

    # -- what --------------------------------------------------------------------------------------

    def cached(self, path: Path, keys: tuple[str, ...]) -> Preview | None:
        """The preview, if its files are unchanged since it was made."""
        found = self._previews.get((path, keys))
        if found is not None and self.headers.cached(path) is found.header:
            return found
        return None

    def compute(self, path: Path, keys: tuple[str, ...]) -> Preview | str:
        """The preview, or why there is none (runs in a reader thread)."""
        try:
            made = preview(self.headers.get(path), keys)
        except FileNotFoundError:
            return f"`{path}` not found"
        except KeyError as error:
            return f"`{path.name}` has no mapping at {error}"
        except (ValueError, OSError) as error:
            return f"`{path.name}` cannot be previewed ({error}): open it with `switcheroo inspect {path}`"
        except Exception as error:  # a bug must not take the server down
            logger.exception("preview of %s failed", path)
            return f"`{path.name}` cannot be previewed (internal error: {error!r})"
        finally:
            self._unreadable.pop((path, keys), None)
        self._previews[(path, keys)] = made
        return made

    def read(self, path: Path, keys: tuple[str, ...]) -> Preview | str:
        """compute(), remembering a checkpoint that has no preview until its file changes."""
        result = self.compute(path, keys)
        if isinstance(result, str):
            self._unreadable[(path, keys)] = _stamp(path)
        return result

    async def get(self, path: Path, keys: tuple[str, ...]) -> Preview | str | None:
        """The preview, why there is none, or None when reading takes longer than the timeout
        (the read goes on, and its result is cached)."""
        found = self.cached(path, keys)
        if found is not None:
            return found
        key = (path, keys)
        future = self._reading.get(key)
        if future is None:
            future = self.executor.submit(self.read, path, keys)
            self._reading[key] = future
            future.add_done_callback(lambda _: self._reading.pop(key, None))
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), self.timeout)
        except asyncio.TimeoutError:
            return None

    # -- LSP answers ---------------------------------------------------------------------------

    async def hover(self, document: LspTextDocument, offset: int) -> tuple[str, int, int] | None:
        """(Markdown, start, end) for the checkpoint reference under ``offset``, or None."""
        ref = ref_at(await self.refs(document), offset)
        if ref is None:
            return None
        located = self.locate(document.uri, ref.path)
        if located.path is None:
            return f"**Checkpoint** {located.problem}", ref.start, ref.end
        result = await self.get(located.path, ref.keys)
        if result is None:
            text = f"**Checkpoint** `{ref.path}`: still reading its header; hover again in a moment"
        elif isinstance(result, str):
            text = f"**Checkpoint** {result}"
        else:
            text = hover_markdown(result)
        return text, ref.start, ref.end

    async def lenses(self, document: LspTextDocument) -> list[types.CodeLens]:
        """A lens above each fixable load (and each from_torch) whose checkpoint file exists."""
        uri = document.uri
        if not self.server.settings_for(uri).code_lens:
            return []
        analysis = await self.server.diagnostics.analysis_for(document)
        fixable = {finding.span.start for finding in analysis.fixable}
        lenses = []
        waiting = False
        for ref in await self.refs(document):
            if ref.call == "from_torch" or (ref.call and ref.start in fixable):
                located = self.locate(uri, ref.path)
                if located.path is None:
                    continue
                result = await self.get(located.path, ref.keys)
                if result is None:
                    waiting = True
                    title = f"{located.path.name}: reading the header…"
                elif isinstance(result, str):
                    title = f"{located.path.name}: no preview (run `switcheroo inspect`)"
                else:
                    title = lens_title(result)
                lenses.append(
                    types.CodeLens(
                        range=document.line_index.range(ref.start, ref.start, document.encoding),
                        command=types.Command(
                            title=title,
                            command=TREE_COMMAND,
                            arguments=[preview_uri(located.path, ref.keys), uri],
                        ),
                    )
                )
        if waiting:
            asyncio.ensure_future(self.refresh_lenses_when_read())
        return lenses

    async def refresh_lenses_when_read(self) -> None:
        """Ask the client for lenses again once the reads in flight are done."""
        pending = [asyncio.wrap_future(f) for f in list(self._reading.values())]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        if self.server.support.code_lens_refresh:
            self.server.workspace_code_lens_refresh(None)

    def strict_diagnostics(self, analysis: Analysis) -> list[types.Diagnostic]:
        """checkpointDiagnostics: at each load whose checkpoint is previewed, what strict=True
        would say. A checkpoint not read yet is read in the background, then the document is
        analysed again (diagnostics never wait for a disk)."""
        uri = analysis.uri
        document = self.server.open_document(uri)
        if (
            not self.server.settings_for(uri).checkpoint_diagnostics
            or document is None
            or document.source is not analysis.text
            or not any(hint in analysis.text for hint in SUFFIX_HINTS)
        ):
            return []
        fixable = {finding.span.start for finding in analysis.fixable}
        found = []
        for ref in checkpoint_refs(analysis.text):
            if not (ref.call == "from_torch" or (ref.call and ref.start in fixable)):
                continue
            located = self.locate(uri, ref.path)
            if located.path is None:
                continue
            known = self.cached(located.path, ref.keys)
            if known is None:
                if self._unreadable.get((located.path, ref.keys), False) != _stamp(located.path):
                    self.recheck_after_reading(uri, located.path, ref.keys)
                continue
            message = strict_message(known)
            if message:
                found.append(
                    types.Diagnostic(
                        range=document.line_index.range(ref.start, ref.end, document.encoding),
                        message=f"{located.path.name}: {message}",
                        severity=types.DiagnosticSeverity.Warning,
                        code=STRICT_CODE,
                        code_description=types.CodeDescription(href=STRICT_URL),
                        source="switcheroo",
                    )
                )
        return found

    def recheck_after_reading(self, uri: str, path: Path, keys: tuple[str, ...]) -> None:
        """Read the checkpoint off the loop, then analyse the document again (once per read)."""
        key = (uri, path, keys)
        if key in self._rechecks:
            return
        self._rechecks.add(key)

        async def read_then_recheck() -> None:
            try:
                while await self.get(path, keys) is None:  # a slow disk: keep waiting
                    pass
            finally:
                self._rechecks.discard(key)
            if self.server.open_document(uri) is not None:
                self.server.diagnostics.recheck(uri)

        asyncio.ensure_future(read_then_recheck())

    async def tree(self, arguments: list[Any]) -> dict[str, str]:
        """switcheroo.checkpointTree [preview uri, document uri]: the full tree's text."""
        target = (
            parse_preview_uri(arguments[0]) if arguments and isinstance(arguments[0], str) else None
        )
        document = arguments[1] if len(arguments) > 1 and isinstance(arguments[1], str) else None
        if target is None:
            return {"uri": "", "text": f"# not a {PREVIEW_SCHEME}: uri: {arguments[:1]!r}\n"}
        path, keys = target
        uri = preview_uri(path, keys)
        allowed = (
            self.allowed(document, path)
            if document is not None
            else self.server.settings.preview_outside_workspace
            or any(_inside(path, Path(f)) for f in self.workspace_folders())
        )
        if not allowed:
            return {"uri": uri, "text": f"# {path} is outside the workspace: not read\n"}
        result = await self.get(path, keys)
        if result is None:
            future = self._reading.get((path, keys))
            result = (
                await asyncio.wrap_future(future)
                if future is not None
                else self.compute(path, keys)
            )
        text = tree_text(result) if not isinstance(result, str) else f"# {result}\n"
        return {"uri": uri, "text": text}

    def workspace_folders(self) -> list[str]:
        folders = [to_fs_path(f.uri) for f in self.server.workspace.folders.values()]
        if self.server.workspace.root_path:
            folders.append(self.server.workspace.root_path)
        return [f for f in folders if f]


def _stamp(path: Path) -> tuple[int, int] | None:
    """A file's (mtime, size), None when it cannot be read."""
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size


def _inside(path: Path, root: Path) -> bool:
    normal = Path(os.path.normpath(path))
    return normal == root or root in normal.parents


def _fs_path(uri: str) -> Path | None:
    if not uri.startswith("file:"):
        return None
    path = to_fs_path(uri)
    return Path(path) if path else None


def register(server: SwitcherooServer) -> None:
    """textDocument/codeLens and the switcheroo.checkpointTree command (hover: hover.py)."""
    previews = CheckpointPreviews(server)
    server.previews = previews
    server.diagnostics.extra.append(previews.strict_diagnostics)
    server.shutdown_listeners.append(
        lambda: previews.executor.shutdown(wait=False, cancel_futures=True)
    )

    @server.feature(types.TEXT_DOCUMENT_CODE_LENS, types.CodeLensOptions(resolve_provider=False))
    async def code_lens(ls: SwitcherooServer, params: types.CodeLensParams) -> list[types.CodeLens]:
        document = ls.open_document(params.text_document.uri)
        if document is None:
            return []
        return await ls.previews.lenses(document)

    # Annotated with pygls' class: pygls reads command handlers' annotations at run time.
    @server.command(TREE_COMMAND)
    async def checkpoint_tree(ls: LanguageServer, *arguments: Any) -> dict[str, str]:
        return await previews.tree(list(arguments))
