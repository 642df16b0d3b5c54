"""The job worker: claims pending jobs, drives a provider through submit → poll → fetch, and records takes.

The database is the truth; a worker keeps nothing only in memory:
- a job is claimed with a lease (`lease_owner`, `lease_expires_at`): on PostgreSQL inside
  `SELECT … FOR UPDATE SKIP LOCKED`, on SQLite by a conditional UPDATE that only one writer can win;
- the lease is renewed (by the worker's loop, for every job it holds) while the job is worked on; a job whose
  worker died is taken over when it expires;
- the idempotency key was committed with the job, before any POST; a job that already has a remote request id
  is polled, never submitted again, so a restart never pays twice;
- every write a worker makes about a job is conditional on still holding its lease and the job still being
  active, so a canceled or taken-over job is never overwritten.
Each claimed job runs in its own thread (per-provider concurrency), so one slow poll never blocks others.

Stopping (Ctrl-C, SIGTERM, the studio or API shutting down) takes a few seconds, never a render's length: job
threads see the stop at their next wait and hand their job back; after `stop_grace_s` the loop releases the leases
of jobs whose thread is still inside a provider call itself. A job not yet submitted is then free for any worker at
once; a submitted one keeps its remote request id, so the next worker polls it instead of paying again. Job threads
are daemons, so the process exits without waiting for a render to finish.
"""

from __future__ import annotations

import atexit
import dataclasses
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from core.activity import log_activity
from core.cast import reference_url
from core.db import is_sqlite
from core.errors import ProviderError, StudioError
from core.jobs import planning
from core.jobs.takes import record_take, source_file_of
from core.models import JOB_ACTIVE, Asset, Frame, Job, utcnow
from core.previews import store_preview
from core.render.providers import InputImage, JobKind, RemoteResult, RenderProvider, RenderSpec, make_providers
from core.runtime import Runtime

log = logging.getLogger("core.jobs.worker")

DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_STOP_GRACE_S = 2.0  # how long a stopping worker waits for its job threads before releasing their leases
CLAIM_WINDOW = 64  # extra rows looked at per claim, so jobs waiting on dependencies do not hide ready ones
MODERATION_MESSAGE = "Blocked by moderation: edit the prompt and re-render"


class _LeaseLost(Exception):
    """The job was canceled, finished or taken over by another worker: stop touching it."""


class _Stopped(Exception):
    """The worker is shutting down: hand the job back (release the lease) and stop."""


class Worker:
    """Runs jobs from the database. `run(drain=True)` returns once nothing is pending or running."""

    def __init__(self, runtime: Runtime, providers: Mapping[str, RenderProvider] | None = None,
                 worker_id: str | None = None, *, concurrency: int | None = None,
                 max_attempts: int = DEFAULT_MAX_ATTEMPTS, backoff_s: float = 2.0, backoff_max_s: float = 300.0,
                 idle_s: float = 0.5, stop_grace_s: float = DEFAULT_STOP_GRACE_S) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.store = runtime.assets
        self.providers: dict[str, RenderProvider] = dict(providers or make_providers(self.settings, self.store))
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.concurrency = concurrency or self.settings.render_concurrency
        # Voices answer in about a second, renders in minutes: voice providers get their own limit.
        self.voice_concurrency = concurrency or self.settings.voice_concurrency
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.idle_s = idle_s
        self.stop_grace_s = stop_grace_s
        self.lease_s = float(self.settings.job_lease_s)
        self.processed = 0
        self.thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._inflight: dict[str, int] = {name: 0 for name in self.providers}
        self._jobs: set[int] = set()  # ids being worked on, for the heartbeat
        self._quiet_until: dict[str, float] = {}  # provider -> when to ask it again after it had nothing
        self._is_sqlite = is_sqlite(runtime.engine)
        self.last_error: str | None = None  # the newest error the loop survived (shown on the Jobs page)
        self.last_error_at: datetime | None = None
        self.restarts = 0  # times the embedded thread's loop was started again after dying

    # ---- the loop ------------------------------------------------------------------------------------------
    def run(self, drain: bool = False, stop_event: threading.Event | None = None) -> int:
        """Claim and work jobs until `stop_event` is set (or, with `drain`, until no job is left to do).
        Returns how many jobs this call finished."""
        if stop_event is not None:
            self._stop = stop_event
        beat_every = self.lease_s / 3
        last_beat = time.monotonic()
        try:
            while not self._stop.is_set():
                try:
                    if time.monotonic() - last_beat >= beat_every:
                        self._heartbeat()
                        last_beat = time.monotonic()
                    claimed = self._claim_all()
                    if drain and not claimed and self._idle() and not self._open_jobs():
                        break
                except SQLAlchemyError as exc:
                    # The database went away for a moment (restart, network): keep the worker alive and retry.
                    log.exception("worker %s: database error; retrying shortly", self.worker_id)
                    self._note_error(exc)
                    claimed = 0
                    self._stop.wait(min(5.0, beat_every))
                except Exception as exc:  # a bug while claiming must never stop the queue: report it and go on
                    log.exception("worker %s: unexpected error while claiming; retrying shortly", self.worker_id)
                    self._note_error(exc)
                    claimed = 0
                    self._stop.wait(min(5.0, beat_every))
                if not claimed:
                    self._wake.wait(min(self.idle_s, beat_every))
                    self._wake.clear()
        finally:
            self._hand_back()
        return self.processed

    def _hand_back(self) -> None:
        """On the way out: give job threads `stop_grace_s` to hand their jobs back, then release the leases of
        the ones still inside a provider call (an upload, a submit, a poll or a download that has not returned).
        Their threads' later writes are conditional on the lease, so they can no longer touch those jobs."""
        deadline = time.monotonic() + self.stop_grace_s
        while not self._idle() and time.monotonic() < deadline:
            self._wake.wait(0.05)
            self._wake.clear()
        with self._lock:
            stuck = sorted(self._jobs)
        if not stuck:
            return
        try:
            with self.runtime.sessions() as s:
                s.execute(update(Job).where(Job.id.in_(stuck), Job.lease_owner == self.worker_id,
                                            Job.status.in_(JOB_ACTIVE))
                          .values(lease_owner=None, lease_expires_at=None))
                s.commit()
            log.info("worker %s: handed back jobs %s still in a provider call", self.worker_id, stuck)
        except SQLAlchemyError:  # the database is gone too: the leases expire on their own
            log.exception("worker %s: could not hand back jobs %s; their leases expire", self.worker_id, stuck)

    def _claim_all(self) -> int:
        claimed = 0
        now = time.monotonic()
        for name in self.providers:
            limit = self.voice_concurrency if name.startswith("voice-") else self.concurrency
            with self._lock:
                free = limit - self._inflight[name]
            # A provider that had nothing to claim is asked again after `idle_s`, not on every wake-up: each
            # finished voice job (about a second each, eight at a time) woke the loop into a claim query per
            # provider, and those queries cost more CPU than the voice jobs themselves.
            if free <= 0 or now < self._quiet_until.get(name, 0.0):
                continue
            ids = self._claim(name, free)
            if ids:
                self._quiet_until.pop(name, None)
            else:
                self._quiet_until[name] = now + self.idle_s
            for job_id in ids:
                with self._lock:
                    self._inflight[name] += 1
                    self._jobs.add(job_id)
                threading.Thread(target=self._work, args=(job_id, name), name=f"render-job-{job_id}",
                                 daemon=True).start()
                claimed += 1
        return claimed

    def _note_error(self, exc: BaseException) -> None:
        self.last_error = f"{type(exc).__name__}: {exc}"
        self.last_error_at = utcnow()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def _idle(self) -> bool:
        with self._lock:
            return not any(self._inflight.values())

    def _open_jobs(self) -> int:
        with self.runtime.sessions() as s:
            return int(s.scalar(select(func.count(Job.id)).where(
                Job.status.in_(JOB_ACTIVE), Job.provider.in_(list(self.providers)))) or 0)

    # ---- claiming ------------------------------------------------------------------------------------------
    def _claim(self, provider: str, limit: int) -> list[int]:
        now = utcnow()
        claimed: list[int] = []
        # A job one of our threads is still finishing (e.g. canceled and retried while its old poll runs) is not
        # claimed again until that thread lets go: leases name the worker, so the old thread would otherwise pass
        # the lease check and write its stale outcome over the retried job.
        with self._lock:
            busy = set(self._jobs)
        with self.runtime.sessions() as s:
            stmt = (select(Job.id, Job.depends_on)
                    .where(Job.provider == provider, Job.status.in_(JOB_ACTIVE),
                           or_(Job.lease_owner.is_(None), Job.lease_expires_at < now),
                           or_(Job.not_before.is_(None), Job.not_before <= now))
                    .order_by(Job.id).limit(limit + CLAIM_WINDOW))
            if not self._is_sqlite:
                stmt = stmt.with_for_update(skip_locked=True)
            rows = s.execute(stmt).all()
            deps = {d for _, ds in rows for d in (ds or [])}
            dep_rows = {j.id: j for j in s.scalars(select(Job).where(Job.id.in_(deps)))} if deps else {}
            for job_id, job_deps in rows:
                if len(claimed) >= limit:
                    break
                if job_id in busy:
                    continue
                waiting = [dep_rows.get(d) for d in (job_deps or [])]
                broken = next((d for d in waiting if d is None or d.status in ("failed", "canceled")), None)
                if job_deps and (broken is not None or any(d is None for d in waiting)):
                    self._fail_dependent(s, job_id, broken, now)
                    continue
                if any(d is not None and d.status != "succeeded" for d in waiting):
                    continue
                won = s.execute(
                    update(Job).where(Job.id == job_id, Job.status.in_(JOB_ACTIVE),
                                      or_(Job.lease_owner.is_(None), Job.lease_expires_at < now))
                    .values(lease_owner=self.worker_id, lease_expires_at=now + timedelta(seconds=self.lease_s)))
                if won.rowcount == 1:  # type: ignore[attr-defined]
                    claimed.append(job_id)
            s.commit()
        return claimed

    def _fail_dependent(self, s: Session, job_id: int, dep: Job | None, now: datetime) -> None:
        if dep is None:
            reason = "An image this clip waits for no longer exists; render the clip again"
        else:
            what = "image"
            if dep.frame_id is not None:
                frame = s.get(Frame, dep.frame_id)
                what = f"image of frame {frame.position}" if frame else what
            verb = "was canceled" if dep.status == "canceled" else f"failed: {dep.error or 'no reason given'}"
            reason = f"The {what} this clip starts from {verb}"
        done = s.execute(update(Job).where(Job.id == job_id, Job.status.in_(JOB_ACTIVE),
                                           or_(Job.lease_owner.is_(None), Job.lease_expires_at < now))
                         .values(status="failed", error=reason, error_category="dependency", finished_at=now,
                                 lease_owner=None, lease_expires_at=None))
        if done.rowcount == 1:  # type: ignore[attr-defined]
            job = s.get(Job, job_id)
            if job is not None:
                self._log_outcome(s, job, "render.failed", error=reason)

    # ---- one job -------------------------------------------------------------------------------------------
    def _work(self, job_id: int, provider_name: str) -> None:
        try:
            self._process(job_id, self.providers[provider_name])
        except _LeaseLost:
            log.info("job %s: lease lost (canceled or taken over); leaving it", job_id)
        except _Stopped:
            self._release(job_id)
        except Exception as exc:  # a bug must fail the job visibly, never leave it hanging
            log.exception("job %s crashed", job_id)
            self._note_error(exc)
            try:
                self._finish_failed(job_id, f"Unexpected error in the worker: {type(exc).__name__}: {exc}",
                                    "internal")
            except _LeaseLost:
                pass
            except Exception:  # even recording the failure failed (database down): the lease will expire
                log.exception("job %s: could not record its failure; it is retried when its lease expires", job_id)
        finally:
            with self._lock:
                self._inflight[provider_name] -= 1
                self._jobs.discard(job_id)
            self._wake.set()

    def _process(self, job_id: int, provider: RenderProvider) -> None:
        try:
            spec, job = self._prepare(job_id)
        except StudioError as err:  # e.g. the clip's start image is gone: nothing a retry would fix
            self._finish_failed(job_id, str(err), err.category)
            return
        attempts = job["attempts"] + 1
        self._update(job_id, attempts=attempts, error=None, error_category=None,
                     started_at=job["started_at"] or utcnow(),
                     lease_expires_at=utcnow() + timedelta(seconds=self.lease_s))
        try:
            request_id, status_url = job["remote_request_id"], job["status_url"]
            if not request_id:
                self._check_stop()  # never start paying for a job while shutting down: hand it back instead
                request_id, status_url = self._submit(job_id, provider, spec, job)
            result = self._wait(job_id, provider, spec, request_id, status_url, job)
            self._finish(job_id, provider, spec, result)
        except ProviderError as err:
            if err.retryable and attempts < self.max_attempts:
                self._reschedule(job_id, err, attempts)
            else:
                self._finish_failed(job_id, str(err), err.category)
        except StudioError as err:  # e.g. an input image's file is missing from the data folder
            self._finish_failed(job_id, str(err), err.category)

    def _prepare(self, job_id: int) -> tuple[RenderSpec, dict[str, Any]]:
        """Read the job (checking we still hold it) and build the provider's spec; resolve a clip's images."""
        with self.runtime.sessions() as s:
            job = s.get(Job, job_id)
            if job is None or job.lease_owner != self.worker_id or job.status not in JOB_ACTIVE:
                raise _LeaseLost()
            start = end = None
            if job.kind == "clip":
                start, end = self._clip_inputs(s, job)
            params = dict(job.params or {})
            negative = str(params.get("negative_prompt") or "")
            kind: JobKind = "clip" if job.kind == "clip" else "voice" if job.kind == "voice" else "image"
            spec = RenderSpec(job_id=job.id, kind=kind, model=job.model,
                              prompt=job.prompt_text, negative_prompt=negative, params=params, start=start, end=end,
                              input_urls=dict(params.get("_remote", {}).get("inputs", {})))
            snapshot = {"attempts": job.attempts, "started_at": job.started_at,
                        "remote_request_id": job.remote_request_id, "status_url": job.status_url,
                        "submitted_at": job.submitted_at, "idempotency_key": job.idempotency_key, "params": params,
                        "kind": job.kind}
        return spec, snapshot

    def _clip_inputs(self, s: Session, job: Job) -> tuple[InputImage | None, InputImage | None]:
        ids = list(job.input_asset_ids or [])
        params = job.params or {}
        if not ids:  # the images it waited for are rendered now: take the frames' selected images
            for key in ("start_frame_id", "end_frame_id"):
                frame_id = params.get(key)
                if frame_id is None:
                    continue
                frame = s.get(Frame, frame_id)
                if frame is None or frame.selected_image_id is None:
                    raise ProviderError(f"Frame {frame.position if frame else frame_id} has no image to start the "
                                        "clip from; render its image first", category="dependency")
                ids.append(frame.selected_image_id)
            inputs = [("asset", i) for i in ids]
            new_hash = planning.clip_input_hash(job.shot_id or 0, job.prompt_text, job.provider, job.model,
                                                {k: v for k, v in params.items() if not k.startswith("_")}, inputs)
            self._update(job.id, input_asset_ids=ids, input_hash=new_hash)
        images = []
        for asset_id in ids[:2]:
            asset = s.get(Asset, asset_id)
            if asset is None:
                raise ProviderError(f"The image (take {asset_id}) this clip starts from is gone",
                                    category="dependency")
            images.append(InputImage(asset.id, asset.storage_key, asset.content_type, asset.remote_url,
                                     asset.created_at))
        return (images[0] if images else None), (images[1] if len(images) > 1 else None)

    def _submit(self, job_id: int, provider: RenderProvider, spec: RenderSpec,
                job: dict[str, Any]) -> tuple[str, str | None]:
        params = job["params"]
        remote = dict(params.get("_remote") or {})
        if spec.kind == "clip" and not spec.input_urls:
            # Upload once and remember the URLs, so a resubmit sends the very same body (same key, same body).
            remote["inputs"] = provider.prepare(spec)
            self._update(job_id, params={**params, "_remote": remote})
            params = {**params, "_remote": remote}
            spec = dataclasses.replace(spec, input_urls=remote["inputs"])
        refs = [r for r in params.get("references") or [] if isinstance(r, dict) and r.get("image_id")]
        takes_refs = getattr(provider, "takes_references", None)
        if refs and "references" not in remote and takes_refs is not None and takes_refs(spec.kind, spec.model):
            # Each reference image is uploaded once (its URL stored with the image, for every job and after a
            # restart); the job keeps the URLs it sent, so a resubmit sends the very same body.
            remote["references"] = [reference_url(self.runtime.sessions, self.runtime.assets, int(r["image_id"]),
                                                  provider.upload) for r in refs]  # type: ignore[attr-defined]
            self._update(job_id, params={**params, "_remote": remote})
            params = {**params, "_remote": remote}
        if remote.get("references"):
            spec = dataclasses.replace(spec, reference_urls=tuple(remote["references"]))
        self._check_stop()  # the uploads are remembered; the submit waits for the next worker
        submitted = provider.submit(spec, job["idempotency_key"])
        remote["cancel_url"] = submitted.cancel_url
        try:
            self._update(job_id, status="submitted", remote_request_id=submitted.request_id,
                         status_url=submitted.status_url, submitted_at=utcnow(),
                         params={**params, "_remote": remote})
        except _LeaseLost:
            if self._status(job_id) == "canceled":  # canceled while the POST was in the air: cancel remotely too
                try:
                    provider.cancel(submitted.request_id, submitted.cancel_url)
                except ProviderError:
                    pass
            raise
        job["submitted_at"] = utcnow()
        return submitted.request_id, submitted.status_url

    def _wait(self, job_id: int, provider: RenderProvider, spec: RenderSpec, request_id: str,
              status_url: str | None, job: dict[str, Any]) -> RemoteResult:
        submitted_at = job["submitted_at"] or utcnow()
        deadline = submitted_at + timedelta(seconds=provider.deadline_s(spec.kind))
        for delay in provider.poll_delays():
            if utcnow() >= deadline:
                self._timeout(job_id, provider, request_id, job)
            self._sleep(job_id, min(delay, max(0.0, (deadline - utcnow()).total_seconds())))
            result = provider.poll(request_id, status_url)
            values: dict[str, Any] = {"polls": Job.polls + 1,
                                      "lease_expires_at": utcnow() + timedelta(seconds=self.lease_s)}
            if result.state == "running":
                values["status"] = "running"
            self._update(job_id, **values)
            if result.state in ("completed", "failed", "nsfw", "canceled"):
                return result
        raise AssertionError("poll schedule ended")  # pragma: no cover - schedules are infinite

    def _timeout(self, job_id: int, provider: RenderProvider, request_id: str, job: dict[str, Any]) -> None:
        """Past the model's deadline: a request still queued is canceled (free); a running one is left to finish,
        and retrying the job resumes waiting for it."""
        cancel_url = (job["params"].get("_remote") or {}).get("cancel_url")
        waited = provider.deadline_s("clip" if job["kind"] == "clip" else "image")
        try:
            canceled = provider.cancel(request_id, cancel_url)
        except ProviderError:
            canceled = False
        if canceled:
            raise ProviderError(f"Still queued at the provider after {waited:g} s, so the request was canceled "
                                "(nothing was paid); retry the job to submit it again", category="timeout_canceled")
        raise ProviderError(f"No result after {waited:g} s; retry the job to keep waiting for the same request",
                            category="timeout")

    def _finish(self, job_id: int, provider: RenderProvider, spec: RenderSpec, result: RemoteResult) -> None:
        if result.state == "nsfw":
            self._finish_failed(job_id, MODERATION_MESSAGE, "nsfw")
            return
        if result.state == "failed":
            self._finish_failed(job_id, f"The render failed: {result.error or 'no reason given'}", "failed")
            return
        if result.state == "canceled":
            self._finish_terminal(job_id, "canceled", "The request was canceled at the provider", "canceled")
            return
        output = provider.fetch(spec, result)  # downloads and verifies; raises MediaError on bad bytes
        key = self.store.put(output.data, output.info.ext)
        if spec.kind == "image":  # here, not in the studio on a producer's first view (core/previews.py)
            store_preview(self.store, key, output.data)
        usd, credits = provider.price(spec.kind)
        # A voice reports no price: its job is priced by the rate card for the characters it spoke (core.money).
        cost = {} if spec.kind == "voice" else {"cost_usd": usd, "cost_credits": credits}
        now = utcnow()
        with self.runtime.sessions() as s:
            job = s.get(Job, job_id)
            if job is None or job.lease_owner != self.worker_id or job.status not in JOB_ACTIVE:
                raise _LeaseLost()
            asset = record_take(s, job, output, key)
            done = s.execute(update(Job).where(*self._mine(job_id)).values(
                status="succeeded", finished_at=now, error=None, error_category=None, lease_owner=None,
                lease_expires_at=None, not_before=None, **cost))
            if done.rowcount != 1:  # type: ignore[attr-defined]
                s.rollback()
                raise _LeaseLost()
            self._log_outcome(s, job, "render.succeeded", asset_id=asset.id)
            s.commit()
        self._count()

    # ---- state changes -------------------------------------------------------------------------------------
    def _mine(self, job_id: int) -> tuple[Any, ...]:
        return (Job.id == job_id, Job.lease_owner == self.worker_id, Job.status.in_(JOB_ACTIVE))

    def _update(self, job_id: int, **values: Any) -> None:
        """Write to the job only while it is still ours and active; otherwise stop working on it."""
        with self.runtime.sessions() as s:
            res = s.execute(update(Job).where(*self._mine(job_id)).values(**values))
            s.commit()
        if res.rowcount != 1:  # type: ignore[attr-defined]
            raise _LeaseLost()

    def _sleep(self, job_id: int, seconds: float) -> None:
        """Wait between polls, checking every lease/3 that the job is still ours (it may have been canceled)."""
        end = time.monotonic() + seconds
        while True:
            remaining = end - time.monotonic()
            if remaining <= 0:
                return
            if self._stop.wait(min(remaining, self.lease_s / 3)):
                raise _Stopped()
            if end - time.monotonic() > 0:
                self._update(job_id, lease_expires_at=utcnow() + timedelta(seconds=self.lease_s))

    def _check_stop(self) -> None:
        if self._stop.is_set():
            raise _Stopped()

    def _status(self, job_id: int) -> str | None:
        with self.runtime.sessions() as s:
            return s.scalar(select(Job.status).where(Job.id == job_id))

    def _heartbeat(self) -> None:
        """Renew the leases of every job this worker holds, so a long upload, download or retried submit
        never lets another worker take a job this one is still working on."""
        with self._lock:
            ids = list(self._jobs)
        if not ids:
            return
        with self.runtime.sessions() as s:
            s.execute(update(Job).where(Job.id.in_(ids), Job.lease_owner == self.worker_id,
                                        Job.status.in_(JOB_ACTIVE))
                      .values(lease_expires_at=utcnow() + timedelta(seconds=self.lease_s)))
            s.commit()

    def _release(self, job_id: int) -> None:
        """Hand a job back on shutdown: any worker may pick it up at once (it resumes polling if submitted)."""
        with self.runtime.sessions() as s:
            s.execute(update(Job).where(*self._mine(job_id)).values(lease_owner=None, lease_expires_at=None))
            s.commit()

    def _reschedule(self, job_id: int, err: ProviderError, attempts: int) -> None:
        delay = err.retry_after if err.retry_after is not None else \
            min(self.backoff_max_s, self.backoff_s * 2 ** (attempts - 1))
        delay *= 1 + 0.2 * random.random()
        when = utcnow() + timedelta(seconds=delay)
        self._update(job_id, not_before=when, lease_owner=None, lease_expires_at=None,
                     error=f"Will retry (attempt {attempts} of {self.max_attempts}): {err}",
                     error_category=err.category)
        log.info("job %s: retry in %.1f s after %s", job_id, delay, err)

    def _finish_failed(self, job_id: int, message: str, category: str) -> None:
        self._finish_terminal(job_id, "failed", message, category)

    def _finish_terminal(self, job_id: int, status: str, message: str, category: str) -> None:
        with self.runtime.sessions() as s:
            res = s.execute(update(Job).where(*self._mine(job_id)).values(
                status=status, error=message, error_category=category, finished_at=utcnow(), lease_owner=None,
                lease_expires_at=None))
            if res.rowcount != 1:  # type: ignore[attr-defined]
                s.rollback()
                raise _LeaseLost()
            job = s.get(Job, job_id)
            if job is not None:
                self._log_outcome(s, job, f"render.{status}", error=message, category=category)
            s.commit()
        self._count()

    def _count(self) -> None:
        with self._lock:
            self.processed += 1

    def _log_outcome(self, s: Session, job: Job, action: str, **detail: Any) -> None:
        log_activity(s, action, actor=f"worker {self.worker_id}", subject_type="frame" if job.frame_id else "shot",
                     subject_id=job.frame_id or job.shot_id, job_id=job.id, kind=job.kind,
                     source_file_id=source_file_of(s, frame_id=job.frame_id, shot_id=job.shot_id), **detail)


# ---- the embedded worker -------------------------------------------------------------------------------------

_BACKGROUND: dict[str, Worker] = {}
_BACKGROUND_LOCK = threading.Lock()
_AT_EXIT = False


def ensure_background_worker(runtime: Runtime) -> Worker:
    """Start (once per process and database) a daemon thread running a worker; return that worker."""
    key = runtime.engine.url.render_as_string(hide_password=True)
    with _BACKGROUND_LOCK:
        worker = _BACKGROUND.get(key)
        if worker is not None and worker.thread is not None and worker.thread.is_alive():
            return worker
        worker = Worker(runtime)
        worker.thread = threading.Thread(target=_supervise, args=(worker,), name="render-worker", daemon=True)
        worker.thread.start()
        _BACKGROUND[key] = worker
        global _AT_EXIT
        if not _AT_EXIT:  # the studio has no shutdown hook of its own: stop the workers when the process exits
            atexit.register(stop_background_workers)
            _AT_EXIT = True
        return worker


def _supervise(worker: Worker) -> None:
    """The embedded worker's thread: run the loop, and start it again if it ever dies (noted for the Jobs page),
    so an API or studio process never goes on accepting jobs that nobody renders."""
    while not worker._stop.is_set():
        try:
            worker.run()
            return
        except BaseException as exc:  # noqa: BLE001 - whatever killed the loop, the queue must go on
            log.exception("embedded worker %s died; restarting it", worker.worker_id)
            worker._note_error(exc)
            worker.restarts += 1
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            worker._stop.wait(1.0)


def background_worker_problem(runtime: Runtime) -> str | None:
    """What the Jobs page says about this process's embedded worker: None when it runs without trouble, else
    that it is not running or the last error it survived (and how often it was restarted)."""
    key = runtime.engine.url.render_as_string(hide_password=True)
    with _BACKGROUND_LOCK:
        worker = _BACKGROUND.get(key)
    if worker is None:
        return None  # not started in this process (a separate `python -m core worker` renders)
    if worker.thread is None or not worker.thread.is_alive():
        return "The render worker of this process has stopped: queued jobs wait until it is started again."
    if worker.last_error is None:
        return None
    when = worker.last_error_at.strftime("%H:%M:%S UTC") if worker.last_error_at else "recently"
    restarted = f" (restarted {worker.restarts} time(s))" if worker.restarts else ""
    return f"The render worker recovered from an error at {when}{restarted}: {worker.last_error}"


def stop_background_workers(timeout_s: float | None = None) -> None:
    """Stop the embedded workers (studio or API shutdown, tests) within a few seconds: jobs not yet submitted
    are handed back at once, submitted ones are left (lease released, remote id stored) for the next worker to
    resume. Runs at interpreter exit too (registered by `ensure_background_worker`)."""
    with _BACKGROUND_LOCK:
        workers = list(_BACKGROUND.values())
        _BACKGROUND.clear()
    for worker in workers:
        worker.stop()
    for worker in workers:
        if worker.thread is not None:
            worker.thread.join(timeout_s if timeout_s is not None else worker.stop_grace_s + 3.0)


__all__ = ["MODERATION_MESSAGE", "Worker", "background_worker_problem", "ensure_background_worker",
           "stop_background_workers"]
