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
    import_numpy,
    lens_title,
    preview,
    strict_message,
    tree_text,
)
from ..checkpoints.headers import HeaderCache
from ..engine.checkpoint_paths import CheckpointRef, checkpoint_refs, ref_at
from .diagnostics import DocumentDiagnostics

if TYPE_CHECKING:
    from .diagnostics import Analysis
    from .documents import LspTextDocument
    from .state import SwitcherooServer

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
class Scope:
    """What decides where a document's checkpoints are looked for and whether they may be read,
    taken on the event loop (settings, workspace folders) for a reader thread to use."""

    bases: tuple[Path, ...]  # relative paths: the document's folder, then its workspace folder
    roots: tuple[Path, ...]  # read without previewOutsideWorkspace: the workspace folder(s)
    outside_ok: bool

    def allowed(self, path: Path) -> bool:
        """Inside a root (lexically: a symlink placed in the workspace counts as inside), or
        anywhere when the setting says so."""
        return self.outside_ok or any(_inside(path, root) for root in self.roots)


@dataclass(frozen=True)
class Lookup:
    """Where a written path led (``path``, None when nowhere) and what was found there: the
    preview, or why there is none."""

    path: Path | None
    result: Preview | str


def locate(scope: Scope, written: str) -> tuple[Path | None, str]:
    """The file ``written`` names (document folder first), or None and why (runs in a reader
    thread: it touches the disk)."""
    given = Path(os.path.expanduser(written))
    candidates = [given] if given.is_absolute() else [base / given for base in scope.bases]
    for candidate in candidates:
        if not scope.allowed(candidate):
            if candidate.exists():
                return None, (
                    f"`{written}` is outside the workspace: set "
                    "`switcheroo.previewOutsideWorkspace` to preview it"
                )
            continue
        if candidate.exists():
            return Path(os.path.normpath(candidate)), ""
    looked = ", ".join(f"`{c.parent}`" for c in candidates) or "no folder (unsaved document)"
    return None, f"`{written}` not found (looked in {looked})"


class CheckpointPreviews:
    """The server's previews: checkpoint references per document, headers and previews cached.
    Everything that touches the disk (finding the file, checking the cache, reading headers)
    runs in reader threads, bounded by ``timeout`` on the event loop's side."""

    def __init__(self, server: SwitcherooServer) -> None:
        self.server = server
        self.headers = HeaderCache()
        # Two readers: one slow disk does not hold up a checkpoint on another.
        self.executor = ThreadPoolExecutor(
            max_workers=2, thread_name_prefix="switcheroo-checkpoint"
        )
        self._previews: dict[tuple[Path, tuple[str, ...]], Preview] = {}
        self._inflight: dict[tuple[Scope, str, tuple[str, ...]], Future[Lookup]] = {}
        self._refs: dict[str, tuple[str, tuple[CheckpointRef, ...]]] = {}
        # The last lookup of each (document, written path, keys): what diagnostics use
        self._last: dict[tuple[str, str, tuple[str, ...]], Lookup] = {}
        self.timeout = READ_TIMEOUT_SECONDS
        self._warmed = False

    # -- where ------------------------------------------------------------------------------------

    async def refs(self, uri: str, text: str) -> tuple[CheckpointRef, ...]:
        """The checkpoint references of a document's (or a cell's) text, parsed once per text, in
        the engine thread."""
        cached = self._refs.get(uri)
        if cached is not None and cached[0] is text:
            return cached[1]
        found: tuple[CheckpointRef, ...] = ()
        if any(hint in text for hint in SUFFIX_HINTS):
            found = await self.server.run_engine(checkpoint_refs, text)
        if found and not self._warmed:
            # numpy takes a few hundred ms to import: a document naming a checkpoint pays it
            # now, in a reader thread, rather than its first hover
            self._warmed = True
            self.executor.submit(_import_numpy)
        self._refs[uri] = (text, found)
        return found

    def scope(self, uri: str | None) -> Scope:
        """Where ``uri``'s checkpoints are looked for and may be read (None: no document, the
        workspace folders only)."""
        settings = self.server.settings_for(uri) if uri else self.server.settings
        document = _fs_path(uri) if uri else None
        folder = self.server.folder_of(uri) if uri else None
        bases = [document.parent] if document is not None else []
        if folder is not None and Path(folder) not in bases:
            bases.append(Path(folder))
        if folder is not None:
            roots = [Path(folder)]
        elif uri is None:
            roots = [Path(f) for f in self.workspace_folders()]
        else:
            roots = bases[:1]
        return Scope(tuple(bases), tuple(roots), settings.preview_outside_workspace)

    # -- what --------------------------------------------------------------------------------------

    def cached(self, path: Path, keys: tuple[str, ...]) -> Preview | None:
        """The preview, if its files are unchanged since it was made (stats them)."""
        found = self._previews.get((path, keys))
        if found is not None and self.headers.cached(path) is found.header:
            return found
        return None

    def compute(self, path: Path, keys: tuple[str, ...]) -> Preview | str:
        """The preview, or why there is none."""
        try:
            made = preview(self.headers.get(path), keys)
        except FileNotFoundError:
            return f"`{path}` not found"
        except KeyError as error:
            return f"`{path.name}` has no mapping at {error}"
        except (ValueError, OSError) as error:
            return (
                f"`{path.name}` cannot be previewed ({error}):"
                f" open it with `switcheroo inspect {path}`"
            )
        except Exception as error:  # a bug must not take the server down
            logger.exception("preview of %s failed", path)
            return f"`{path.name}` cannot be previewed (internal error: {error!r})"
        self._previews[(path, keys)] = made
        return made

    def look_up(self, scope: Scope, written: str, keys: tuple[str, ...]) -> Lookup:
        """Find the file, then its preview from the cache or its headers (a reader thread)."""
        path, problem = locate(scope, written)
        if path is None:
            return Lookup(None, problem)
        return Lookup(path, self.cached(path, keys) or self.compute(path, keys))

    async def lookup(
        self, uri: str | None, written: str, keys: tuple[str, ...], timeout: float | None = None
    ) -> Lookup | None:
        """The lookup, or None when it takes longer than the timeout (it goes on, and fills
        the cache); one lookup at a time per file and scope."""
        scope = self.scope(uri)
        key = (scope, written, keys)
        future = self._inflight.get(key)
        if future is None:
            future = self.executor.submit(self.look_up, scope, written, keys)
            self._inflight[key] = future
            future.add_done_callback(lambda _: self._inflight.pop(key, None))
        try:
            found = await asyncio.wait_for(
                asyncio.shield(asyncio.wrap_future(future)),
                self.timeout if timeout is None else timeout,
            )
        except asyncio.TimeoutError:
            return None
        if uri is not None:
            self._last[(uri, written, keys)] = found
        return found

    async def get(self, path: Path, keys: tuple[str, ...]) -> Preview | str | None:
        """The preview of a file found already (absolute path), None on a timeout."""
        found = await self.lookup(None, str(path), keys)
        return None if found is None else found.result

    # -- LSP answers ---------------------------------------------------------------------------

    async def hover(
        self, uri: str, text: str, offset: int, *, located_at: str | None = None
    ) -> tuple[str, int, int] | None:
        """(Markdown, start, end) for the checkpoint reference under ``offset`` of ``text`` (the
        document ``uri``, or a notebook cell whose paths are relative to ``located_at``, the
        notebook), or None."""
        ref = ref_at(await self.refs(uri, text), offset)
        if ref is None:
            return None
        found = await self.lookup(located_at or uri, ref.path, ref.keys)
        if found is None:
            text = f"**Checkpoint** `{ref.path}`: still reading it; hover again in a moment"
        elif isinstance(found.result, str):
            text = f"**Checkpoint** {found.result}"
        else:
            text = hover_markdown(found.result)
        return text, ref.start, ref.end

    async def lenses(self, document: LspTextDocument) -> list[types.CodeLens]:
        """A lens above each fixable load (and each from_torch) whose checkpoint file exists."""
        uri = document.uri
        if not self.server.settings_for(uri).code_lens:
            return []
        analysis = await self.server.feature_state(DocumentDiagnostics).analysis_for(document)
        fixable = {finding.span.start for finding in analysis.fixable}
        lenses = []
        waiting = False
        for ref in await self.refs(uri, document.source):
            if not (ref.call == "from_torch" or (ref.call and ref.start in fixable)):
                continue
            found = await self.lookup(uri, ref.path, ref.keys)
            if found is None:
                waiting = True
                continue
            if found.path is None:
                continue
            if isinstance(found.result, str):
                title = f"{found.path.name}: no preview (run `switcheroo inspect`)"
            else:
                title = lens_title(found.result)
            lenses.append(
                types.CodeLens(
                    range=document.line_index.range(ref.start, ref.start, document.encoding),
                    command=types.Command(
                        title=title,
                        command=TREE_COMMAND,
                        arguments=[preview_uri(found.path, ref.keys), uri],
                    ),
                )
            )
        if waiting:
            asyncio.ensure_future(self.refresh_lenses_when_read())
        return lenses

    async def refresh_lenses_when_read(self) -> None:
        """Ask the client for lenses again once the lookups in flight are done."""
        pending = [asyncio.wrap_future(f) for f in list(self._inflight.values())]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        if self.server.support.code_lens_refresh:
            self.server.workspace_code_lens_refresh(None)

    def strict_diagnostics(self, analysis: Analysis) -> list[types.Diagnostic]:
        """checkpointDiagnostics: at each load whose checkpoint is previewed, what strict=True
        would say, from the last lookup; a fresh lookup runs in the background and the document
        is analysed again when it finds something else (diagnostics never wait for a disk)."""
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
            last = self._last.get((uri, ref.path, ref.keys))
            self.recheck_if_changed(uri, ref, last)
            if last is None or last.path is None or isinstance(last.result, str):
                continue
            message = strict_message(last.result)
            if message:
                found.append(
                    types.Diagnostic(
                        range=document.line_index.range(ref.start, ref.end, document.encoding),
                        message=f"{last.path.name}: {message}",
                        severity=types.DiagnosticSeverity.Warning,
                        code=STRICT_CODE,
                        code_description=types.CodeDescription(href=STRICT_URL),
                        source="switcheroo",
                    )
                )
        return found

    def recheck_if_changed(self, uri: str, ref: CheckpointRef, last: Lookup | None) -> None:
        """Look the checkpoint up off the loop; analyse the document again if what is found
        differs from ``last`` (a cached preview is the same object: no loop)."""

        async def look_then_recheck() -> None:
            found = await self.lookup(uri, ref.path, ref.keys, timeout=3600.0)
            if found is None or self.server.open_document(uri) is None:
                return
            same = last is not None and last.path == found.path and last.result == found.result
            if not same:
                self.server.feature_state(DocumentDiagnostics).recheck(uri)

        asyncio.ensure_future(look_then_recheck())

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
        if not self.scope(document).allowed(path):
            return {"uri": uri, "text": f"# {path} is outside the workspace: not read\n"}
        found = await self.lookup(document, str(path), keys, timeout=3600.0)
        result = found.result if found is not None else f"{path}: no answer"
        text = tree_text(result) if not isinstance(result, str) else f"# {result}\n"
        return {"uri": uri, "text": text}

    def forget(self, uri: str) -> None:
        """A document closed: drop what was kept for it."""
        self._refs.pop(uri, None)
        for key in [key for key in self._last if key[0] == uri]:
            del self._last[key]

    def workspace_folders(self) -> list[str]:
        folders = [to_fs_path(f.uri) for f in self.server.workspace.folders.values()]
        if self.server.workspace.root_path:
            folders.append(self.server.workspace.root_path)
        return [f for f in folders if f]


def _import_numpy() -> None:
    """Import what the Flax preview needs, if it is installed (one thread at a time)."""
    import_numpy()


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
    server.add_feature_state(previews)
    server.feature_state(DocumentDiagnostics).extra.append(previews.strict_diagnostics)
    server.close_listeners.append(previews.forget)
    server.shutdown_listeners.append(
        lambda: previews.executor.shutdown(wait=False, cancel_futures=True)
    )

    @server.feature(types.TEXT_DOCUMENT_CODE_LENS, types.CodeLensOptions(resolve_provider=False))
    async def code_lens(ls: SwitcherooServer, params: types.CodeLensParams) -> list[types.CodeLens]:
        uri = params.text_document.uri
        document = ls.open_document(uri)
        if document is None or ls.workspace.get_notebook_document(cell_uri=uri) is not None:
            return []  # notebook cells: not previewed yet
        return await ls.feature_state(CheckpointPreviews).lenses(document)

    # Annotated with pygls' class: pygls reads command handlers' annotations at run time.
    @server.command(TREE_COMMAND)
    async def checkpoint_tree(ls: LanguageServer, *arguments: Any) -> dict[str, str]:
        return await previews.tree(list(arguments))
