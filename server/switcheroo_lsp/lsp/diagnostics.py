"""Diagnostics: document sync, push (debounced, versioned) or pull (result ids), never both.

An :class:`Analysis` is the engine's scan of one version of one document under one settings
generation, translated into LSP diagnostics. Push mode publishes an analysis only if its version is
still the document's newest when it is ready; pull mode answers ``textDocument/diagnostic`` with the
analysis of the current version and ``unchanged`` when its result id is the one the client holds.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types
from pygls.uris import to_fs_path

from ..engine import explain, scan
from ..engine.model import (
    CODE_CHECKPOINT,
    CODE_COPY,
    CODE_MATERIALIZE,
    CODE_NON_MODEL,
    Finding,
    ScanResult,
)
from ..files import is_excluded
from ..settings import RunMode, Settings, Severity
from .documents import LspTextDocument
from .positions import Encoding, LineIndex

if TYPE_CHECKING:
    from .state import SwitcherooServer

logger = logging.getLogger(__name__)

SOURCE = "switcheroo"
README_URL = "https://github.com/switcheroo-lsp/switcheroo-lsp"
CODE_URLS = {
    CODE_CHECKPOINT: f"{README_URL}#{CODE_CHECKPOINT}",
    CODE_NON_MODEL: f"{README_URL}#{CODE_NON_MODEL}",
    CODE_COPY: f"{README_URL}#{CODE_COPY}",
    CODE_MATERIALIZE: f"{README_URL}#{CODE_MATERIALIZE}",
}
SEVERITIES = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFORMATION: types.DiagnosticSeverity.Information,
    Severity.HINT: types.DiagnosticSeverity.Hint,
}

# A change that follows another within BURST_SECONDS is part of a burst (fast typing, a paste
# replayed as many edits): it waits for a quiet time, long enough to fold the burst into one scan
# and short next to the scan itself. An isolated change is scanned at once. Changes that arrive
# while a scan runs are coalesced anyway: a result for an outdated version is never published.
BURST_SECONDS = 0.05
MIN_DEBOUNCE_SECONDS = 0.01
MAX_DEBOUNCE_SECONDS = 0.1


@dataclass(frozen=True)
class Analysis:
    """One version of one document as the engine sees it, in LSP terms."""

    uri: str
    version: int | None
    generation: int  # settings generation it was computed under
    text: str
    scan: ScanResult | None  # None: not scanned (disabled, too large)
    diagnostics: tuple[types.Diagnostic, ...] = ()
    result_id: str = ""
    seconds: float = 0.0  # how long the scan took

    @property
    def fixable(self) -> tuple[Finding, ...]:
        """Model findings the engine can fix (none when the text does not parse)."""
        if self.scan is None or self.scan.syntax_error is not None:
            return ()
        return tuple(f for f in self.scan.findings if f.kind.is_model and f.fixable)


def diagnostic_for(
    finding: Finding, index: LineIndex, encoding: Encoding, settings: Settings
) -> types.Diagnostic | None:
    """The diagnostic shown for one finding, or None when settings hide it."""
    if finding.code == CODE_NON_MODEL or not finding.kind.is_model:
        if not settings.hint_non_model:
            return None
        code, severity = CODE_NON_MODEL, types.DiagnosticSeverity.Hint
    else:
        code, severity = finding.code, SEVERITIES[settings.severity]  # checkpoint, copy...
    return types.Diagnostic(
        range=index.range(finding.span.start, finding.span.end, encoding),
        message=explain(finding),
        severity=severity,
        code=code,
        code_description=types.CodeDescription(href=CODE_URLS[code]),
        source=SOURCE,
        data={"confidence": finding.confidence.value, "evidence": finding.evidence},
    )


def _contains(folder: Path, path: Path) -> bool:
    """True when ``path`` lies under ``folder``."""
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


def result_id_of(diagnostics: Sequence[types.Diagnostic]) -> str:
    """A result id that changes exactly when what the client would show changes."""
    digest = hashlib.blake2b(digest_size=10)
    for item in diagnostics:
        start, end = item.range.start, item.range.end
        digest.update(
            repr(
                (start.line, start.character, end.line, end.character)
                + (item.code, item.severity, item.message)
            ).encode("utf-8", "surrogatepass")
        )
    return digest.hexdigest()


def carried_over(last_good: Analysis | None, text: str) -> tuple[Finding, ...]:
    """Findings of the last parsing version whose call text still sits at the same offsets.

    While a document does not parse, those calls are still there and their diagnostics can be
    positioned exactly; every other finding is dropped rather than shown on a wrong line.
    """
    if last_good is None or last_good.scan is None:
        return ()
    old = last_good.text
    return tuple(
        finding
        for finding in last_good.scan.findings
        if finding.span.end <= len(text)
        and text[finding.span.start : finding.span.end]
        == old[finding.span.start : finding.span.end]
    )


def analyse(
    uri: str,
    version: int | None,
    text: str,
    settings: Settings,
    generation: int,
    encoding: Encoding,
    last_good: Analysis | None,
) -> Analysis:
    """Scan ``text`` and translate the findings (runs in the engine thread)."""
    started = time.perf_counter()
    result = scan(text)
    shown = result.findings
    if result.syntax_error is not None:
        shown = carried_over(last_good, text)
    index = LineIndex(text)
    diagnostics = [
        diagnostic
        for finding in sorted(shown, key=lambda f: (f.span.start, f.span.end))
        if (diagnostic := diagnostic_for(finding, index, encoding, settings)) is not None
    ]
    return Analysis(
        uri=uri,
        version=version,
        generation=generation,
        text=text,
        scan=result,
        diagnostics=tuple(diagnostics),
        result_id=result_id_of(diagnostics),
        seconds=time.perf_counter() - started,
    )


@dataclass
class DocumentDiagnostics:
    """Per-document analyses and the push schedule."""

    server: SwitcherooServer
    analyses: dict[str, Analysis] = field(default_factory=dict)
    last_good: dict[str, Analysis] = field(default_factory=dict)  # newest version that parsed
    saved: dict[str, Analysis] = field(default_factory=dict)  # run=onSave: what the client sees
    pending: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    unreadable: set[str] = field(default_factory=set)  # binary/NUL documents, logged once
    last_change: dict[str, float] = field(default_factory=dict)  # monotonic time of the last change
    # uri -> (settings generation, excluded?): path checks stat the disk, once per generation
    exclusions: dict[str, tuple[int, bool]] = field(default_factory=dict)
    # Features adding diagnostics of their own to a fresh analysis (the checkpoint preview's)
    extra: list[Callable[[Analysis], Sequence[types.Diagnostic]]] = field(default_factory=list)

    def excluded(self, uri: str) -> bool:
        """True for a file the workspace walk would skip (``.venv``, ``site-packages``, the
        ``exclude`` setting...): jumping into installed torch sources shows no diagnostics."""
        generation = self.server.settings_generation
        cached = self.exclusions.get(uri)
        if cached is not None and cached[0] == generation:
            return cached[1]
        path = to_fs_path(uri) if uri.startswith("file:") else None
        result = False
        if path is not None:
            folders = [to_fs_path(f.uri) for f in self.server.workspace.folders.values()]
            if self.server.workspace.root_path:
                folders.append(self.server.workspace.root_path)
            inside = [f for f in folders if f and _contains(Path(f), Path(path))]
            root = Path(max(inside, key=len)) if inside else None
            try:
                result = is_excluded(Path(path), root, self.server.settings_for(uri).exclude)
            except (OSError, ValueError):
                result = False
        self.exclusions[uri] = (generation, result)
        return result

    def skipped(self, document: LspTextDocument) -> Analysis:
        """An empty analysis: the document is not scanned (disabled, excluded or too large)."""
        return Analysis(
            uri=document.uri,
            version=document.version,
            generation=self.server.settings_generation,
            text=document.source,
            scan=None,
            result_id=result_id_of(()),
        )

    async def analysis_for(self, document: LspTextDocument) -> Analysis:
        """The analysis of the document's current text, from the cache when it is fresh."""
        server = self.server
        await server.wait_for_settings()
        uri, text, version = document.uri, document.source, document.version
        generation = server.settings_generation
        cached = self.analyses.get(uri)
        if (
            cached is not None
            and cached.text is text
            and cached.version == version
            and cached.generation == generation
        ):
            return cached
        if not server.settings_for(uri).enable or self.excluded(uri) or server.too_large(uri, text):
            analysis = self.skipped(document)
        else:
            try:
                analysis = await server.run_engine(
                    analyse,
                    uri,
                    version,
                    text,
                    server.settings_for(uri),
                    generation,
                    document.encoding,
                    self.last_good.get(uri),
                )
            except Exception as error:  # an engine bug: no diagnostics, a log, no crash
                logger.exception("scan failed for %s", uri)
                server.log(
                    f"switcheroo internal error on {uri}: {error!r}", types.MessageType.Error
                )
                analysis = self.skipped(document)
        added = [d for hook in self.extra for d in hook(analysis)] if analysis.scan else []
        if added:
            shown = (*analysis.diagnostics, *added)
            analysis = dataclasses.replace(
                analysis, diagnostics=shown, result_id=result_id_of(shown)
            )
        current = server.open_document(uri)
        if current is not None and current.source is text:
            self.analyses[uri] = analysis
            if analysis.scan is not None and analysis.scan.syntax_error is None:
                self.last_good[uri] = analysis
            problem = analysis.scan.syntax_error if analysis.scan is not None else None
            binary = problem and ("\x00" in text or problem.startswith("cannot parse"))
            if binary and uri not in self.unreadable:
                self.unreadable.add(uri)  # NUL bytes, lone surrogates: not text Python reads
                server.log(f"{uri}: not analysed, {problem}", types.MessageType.Info)
        return analysis

    # -- push -----------------------------------------------------------------------------------

    def change_delay(self, uri: str) -> float:
        """How long to wait before scanning after a change: 0 when isolated, else the debounce."""
        now = time.monotonic()
        previous = self.last_change.get(uri)
        self.last_change[uri] = now
        if previous is None or now - previous >= BURST_SECONDS:
            return 0.0
        return self.debounce_seconds(uri)

    def debounce_seconds(self, uri: str) -> float:
        """A quarter of the last scan's time, within bounds: bigger files wait a little longer."""
        last = self.analyses.get(uri)
        seconds = last.seconds / 4 if last is not None else 0.0
        return min(max(seconds, MIN_DEBOUNCE_SECONDS), MAX_DEBOUNCE_SECONDS)

    def schedule(self, uri: str, delay: float = 0.0) -> None:
        """(Re)start the publish task for ``uri``; a newer change supersedes an older task."""
        if self.server.support.pull_diagnostics:
            return
        previous = self.pending.pop(uri, None)
        if previous is not None:
            previous.cancel()
        self.pending[uri] = asyncio.ensure_future(self._publish_after(uri, delay))

    async def _publish_after(self, uri: str, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        document = self.server.open_document(uri)
        if document is None:
            return
        analysis = await self.analysis_for(document)
        self.publish_if_current(analysis)

    def publish_if_current(self, analysis: Analysis) -> None:
        """Publish ``analysis`` only if it still describes the document's newest text."""
        server = self.server
        document = server.open_document(analysis.uri)
        if (
            document is None
            or document.source is not analysis.text
            or document.version != analysis.version
            or server.settings_generation != analysis.generation
        ):
            return
        server.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(
                uri=analysis.uri,
                diagnostics=list(analysis.diagnostics),
                version=analysis.version,
            )
        )

    def recheck(self, uri: str) -> None:
        """Analyse ``uri`` again and show it: what an ``extra`` hook adds has changed."""
        self.analyses.pop(uri, None)
        if not self.server.support.pull_diagnostics:
            self.schedule(uri)
        elif self.server.support.diagnostic_refresh:
            self.server.workspace_diagnostic_refresh(None)

    def clear(self, uri: str) -> None:
        """Forget a closed document; in push mode, clear what the client shows."""
        task = self.pending.pop(uri, None)
        if task is not None:
            task.cancel()
        self.analyses.pop(uri, None)
        self.last_good.pop(uri, None)
        self.saved.pop(uri, None)
        self.unreadable.discard(uri)
        self.last_change.pop(uri, None)
        self.exclusions.pop(uri, None)
        if not self.server.support.pull_diagnostics:
            self.server.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=[])
            )

    def settings_changed(self) -> None:
        """New settings: recompute what every open document shows."""
        server = self.server
        self.saved.clear()
        if server.support.pull_diagnostics:
            if server.support.diagnostic_refresh and server.workspace.text_documents:
                server.workspace_diagnostic_refresh(None)
            return
        for document in list(server.workspace.text_documents.values()):
            if server.workspace.get_notebook_document(cell_uri=document.uri) is None:
                self.schedule(document.uri)

    def cancel_all(self) -> None:
        """Stop every pending publish (shutdown)."""
        for task in self.pending.values():
            task.cancel()
        self.pending.clear()

    async def on_save(self, uri: str, *, refresh: bool = True) -> None:
        """run=onSave: the analysis at save is what the client is shown until the next save."""
        document = self.server.open_document(uri)
        if document is None:
            return
        analysis = await self.analysis_for(document)
        self.saved[uri] = analysis
        if self.server.support.pull_diagnostics:
            if refresh and self.server.support.diagnostic_refresh:
                self.server.workspace_diagnostic_refresh(None)
        else:
            self.publish_if_current(analysis)

    # -- pull -----------------------------------------------------------------------------------

    async def report(
        self, uri: str, previous_result_id: str | None
    ) -> types.DocumentDiagnosticReport:
        """The textDocument/diagnostic answer for ``uri``."""
        document = self.server.open_document(uri)
        if document is None:
            # Closed (or never opened): nothing to show; the client drops what it had.
            analysis_id, items = result_id_of(()), []
        else:
            analysis = None
            if self.server.settings_for(uri).run is RunMode.ON_SAVE:
                analysis = self.saved.get(uri)
            if analysis is None:
                analysis = await self.analysis_for(document)
                if self.server.settings_for(uri).run is RunMode.ON_SAVE:
                    self.saved[uri] = analysis
            analysis_id, items = analysis.result_id, list(analysis.diagnostics)
        if previous_result_id is not None and previous_result_id == analysis_id:
            return types.RelatedUnchangedDocumentDiagnosticReport(result_id=analysis_id)
        return types.RelatedFullDocumentDiagnosticReport(items=items, result_id=analysis_id)


def register(server: SwitcherooServer) -> None:
    """Document sync and diagnostics (push, or pull when the client can)."""
    state = DocumentDiagnostics(server)
    server.add_feature_state(state)
    server.settings_listeners.append(state.settings_changed)
    server.close_listeners.append(state.clear)
    server.shutdown_listeners.append(state.cancel_all)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: SwitcherooServer, params: types.DidOpenTextDocumentParams) -> None:
        uri = params.text_document.uri
        if ls.settings_for(uri).run is RunMode.ON_SAVE:
            state.saved.pop(uri, None)
            asyncio.ensure_future(state.on_save(uri, refresh=False))
        else:
            state.schedule(uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: SwitcherooServer, params: types.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        if ls.settings_for(uri).run is RunMode.ON_TYPE:
            state.schedule(uri, state.change_delay(uri))

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    async def did_save(ls: SwitcherooServer, params: types.DidSaveTextDocumentParams) -> None:
        if ls.settings_for(params.text_document.uri).run is RunMode.ON_SAVE:
            await state.on_save(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: SwitcherooServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.forget_document(params.text_document.uri)

    @server.feature(
        types.TEXT_DOCUMENT_DIAGNOSTIC,
        types.DiagnosticOptions(
            identifier=SOURCE, inter_file_dependencies=False, workspace_diagnostics=False
        ),
    )
    async def document_diagnostic(
        ls: SwitcherooServer, params: types.DocumentDiagnosticParams
    ) -> types.DocumentDiagnosticReport:
        return await state.report(params.text_document.uri, params.previous_result_id)
