"""Export jobs: a long deliverable (a whole script's PDF, the animatic, the archive) written in the background while
the page shows its progress, then offered for download.

The files are written into this process's data folder (`core.exports.runner`), so the jobs live in this process
too: a thread per runtime takes them one at a time (exports are CPU-bound; two at once would only share the same
cores) and keeps the recent ones for the page to show. Each job runs with the requester's identity (the context
of the request that submitted it) in its own unit of work.
"""

from __future__ import annotations

import contextvars
import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from core.db import session_scope
from core.errors import StudioError, ValidationError
from core.exports.runner import EXPORT_KINDS, ExportOptions, run_export
from core.runtime import Runtime

log = logging.getLogger(__name__)

Status = Literal["waiting", "running", "done", "failed"]
KEEP = 20  # finished jobs remembered per runtime, newest first


@dataclass(frozen=True)
class ExportJob:
    id: int
    kind: str
    file_id: int
    video_id: int | None
    requested_by: str
    status: Status = "waiting"
    fraction: float = 0.0  # 0..1, for the progress bar
    message: str = "Waiting to start"
    paths: tuple[Path, ...] = ()
    warnings: tuple[str, ...] = ()  # what the producer should know about the files (`ExportResult.warnings`)
    error: str | None = None
    queued_at: float = field(default_factory=time.time)
    finished_at: float | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")


class ExportJobs:
    """The export jobs of one runtime. Thread-safe; `submit` returns at once."""

    def __init__(self, runtime: Runtime, *, run: Callable[..., list[Path]] = run_export) -> None:
        self.runtime = runtime
        self._run = run
        self._lock = threading.Lock()
        self._jobs: dict[int, ExportJob] = {}
        self._ids = itertools.count(1)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="export")

    def submit(self, kind: str, *, file_id: int, video_id: int | None = None,
               options: ExportOptions | None = None, requested_by: str = "") -> ExportJob:
        if kind not in EXPORT_KINDS:
            raise ValidationError(f"Unknown export {kind!r}; choose one of: {', '.join(EXPORT_KINDS)}")
        with self._lock:
            job = ExportJob(next(self._ids), kind, file_id, video_id, requested_by)
            self._jobs[job.id] = job
            self._forget_old()
        context = contextvars.copy_context()  # who asked (sign-in) goes with the job into its thread
        self._pool.submit(context.run, self._work, job.id, options or ExportOptions())
        return job

    def get(self, job_id: int) -> ExportJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def for_script(self, file_id: int) -> list[ExportJob]:
        """This script's jobs, newest first."""
        with self._lock:
            return sorted((j for j in self._jobs.values() if j.file_id == file_id), key=lambda j: -j.id)

    def ahead_of(self, job_id: int) -> int:
        """How many jobs will run before this waiting one."""
        with self._lock:
            return sum(1 for j in self._jobs.values() if j.id < job_id and not j.finished)

    def wait(self, job_id: int, timeout_s: float = 600.0) -> ExportJob:
        """Block until the job has finished (CLI and tests; the page polls instead)."""
        end = time.monotonic() + timeout_s
        while True:
            job = self.get(job_id)
            if job is None or job.finished or time.monotonic() > end:
                if job is None:
                    raise ValidationError(f"Export job {job_id} is not known here")
                return job
            time.sleep(0.05)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    # ---- the worker thread ------------------------------------------------------------------------
    def _update(self, job_id: int, **changes: object) -> None:
        with self._lock:
            self._jobs[job_id] = replace(self._jobs[job_id], **changes)  # type: ignore[arg-type]

    def _work(self, job_id: int, options: ExportOptions) -> None:
        job = self.get(job_id)
        assert job is not None
        self._update(job_id, status="running", message="Starting")

        def progress(fraction: float, message: str) -> None:
            self._update(job_id, fraction=max(0.0, min(1.0, fraction)), message=message)

        try:
            with session_scope(self.runtime.sessions) as session:
                paths = self._run(session, job.kind, settings=self.runtime.settings, file_id=job.file_id,
                                  video_id=job.video_id, options=options, progress=progress)
        except StudioError as err:
            self._update(job_id, status="failed", error=str(err), message="Failed", finished_at=time.time())
        except Exception:  # noqa: BLE001 - the page says so in words; the trace goes to the log
            log.exception("export job %s (%s of script %s) failed", job_id, job.kind, job.file_id)
            self._update(job_id, status="failed", message="Failed", finished_at=time.time(),
                         error="The export stopped on an unexpected error; nothing half-written was kept. Try "
                               "again; if it keeps happening, check the studio's log.")
        else:
            self._update(job_id, status="done", fraction=1.0, paths=tuple(paths), finished_at=time.time(),
                         warnings=tuple(getattr(paths, "warnings", ())), message=f"Ready: {len(paths)} file(s)")

    def _forget_old(self) -> None:
        finished = sorted((j for j in self._jobs.values() if j.finished), key=lambda j: -j.id)
        for old in finished[KEEP:]:
            del self._jobs[old.id]


_registry: dict[int, ExportJobs] = {}
_registry_lock = threading.Lock()


def export_jobs(runtime: Runtime) -> ExportJobs:
    """The one job list of `runtime` (the studio caches one runtime per process)."""
    with _registry_lock:
        jobs = _registry.get(id(runtime))
        if jobs is None or jobs.runtime is not runtime:
            jobs = _registry[id(runtime)] = ExportJobs(runtime)
        return jobs
