"""Running many jobs: the files that mention load_state_dict go to a process pool when there are
enough of them to pay for one; the rest cost one read each."""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from switcheroo_lsp.cli.process import process
from switcheroo_lsp.cli.progress import Progress
from switcheroo_lsp.cli.reports import FileReport, Job
from switcheroo_lsp.engine.scan import NAME
from switcheroo_lsp.files import SourceError, read_bytes_bounded
from switcheroo_lsp.settings import Settings

# Below these, a process pool costs more than it saves.
PARALLEL_MIN_FILES = 24
PARALLEL_MIN_BYTES = 400_000
PARALLEL_MIN_TREE = 400  # files: from here on a pool is started with the first file to parse


def jobs_for(
    paths: Sequence[Path], mode: str, settings: Settings, max_bytes: int | None
) -> list[Job]:
    return [Job(str(p), mode, settings, max_bytes) for p in paths]


def _thread_count() -> int:
    """Threads of this process, native ones included (JAX, BLAS), where the OS tells."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def _new_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool: fork (cheap) while this process has one thread, forkserver otherwise,
    since forking a threaded process (a program embedding the CLI, with JAX loaded) can deadlock."""
    method = "fork" if _thread_count() == 1 else "forkserver"
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method))


def run_jobs(jobs: Sequence[Job], workers: int, progress: Progress) -> list[FileReport]:
    """Process every job; the files that mention load_state_dict go to a process pool when there
    are enough of them (or the tree is large) to pay for one."""
    # Most files do not mention load_state_dict: those cost one read here and need no worker.
    reports: list[FileReport | None] = [None] * len(jobs)
    heavy: list[int] = []
    heavy_bytes = 0
    pool: ProcessPoolExecutor | None = None
    futures: dict[int, Future[FileReport]] = {}
    big_tree = workers > 1 and len(jobs) >= PARALLEL_MIN_TREE
    needle = NAME.encode()
    try:
        for i, job in enumerate(jobs):
            try:  # stat first: regular files only, never past --max-file-size
                data = read_bytes_bounded(Path(job.path), job.max_bytes)
            except SourceError:
                data = needle  # let process() word the message
            if needle in data:
                if big_tree:  # parse while the rest is still being read
                    pool = pool or _new_pool(workers)
                    futures[i] = pool.submit(process, job)
                else:
                    heavy.append(i)
                    heavy_bytes += len(data)
            else:
                report = FileReport(job.path)
                if b"\0" in data[:8192] or not _is_utf8(data):
                    report = process(job)  # for the message
                reports[i] = report
            progress.update(i + 1 - len(heavy) - len(futures))
        done = len(jobs) - len(heavy) - len(futures)
        parallel = (
            workers > 1
            and len(heavy) >= 2
            and (len(heavy) >= PARALLEL_MIN_FILES or heavy_bytes >= PARALLEL_MIN_BYTES)
        )
        if parallel:
            pool = _new_pool(min(workers, len(heavy)))
            futures.update((i, pool.submit(process, jobs[i])) for i in heavy)
        else:
            for i in heavy:
                reports[i] = process(jobs[i])
                done += 1
                progress.update(done)
        for i, future in futures.items():
            reports[i] = future.result()
            done += 1
            progress.update(done)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    progress.close()
    return [r for r in reports if r is not None]


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
