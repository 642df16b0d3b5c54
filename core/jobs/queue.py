"""Asking for renders: one `Job` row per render, deduplicated, gated, and visible to everyone.

These functions only write rows (in the caller's unit of work); the worker does the rendering. Rules a producer
can rely on:
- asking for the same render (same frame, prompt version, provider, model, parameters) while one is in flight
  returns that job, even when forced: a double click never pays twice;
- a finished render with the same inputs whose take was not discarded is reused, unless forced (re-roll);
- approved and locked frames / shots that already have a take are not re-rendered unless forced;
- a clip whose start / end frame has no image yet queues the image first and waits for it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import approvals
from core.activity import log_activity
from core.authz import acting_name, require
from core.errors import ConflictError, GateError, NotFoundError, StudioError
from core.jobs import planning
from core.jobs.takes import source_file_of
from core.review import APPROVED_STATUSES, assert_clip_allowed, current_shots
from core.models import JOB_ACTIVE, Asset, Frame, Job, Shot, Video, utcnow
from core.prompts.context import load_live_frame
from core.render.providers import RenderProvider
from core.settings import Settings


@dataclass
class RenderBatch:
    """What a "render all" queued: the jobs (new, in flight or reused) and what it skipped, with why."""

    jobs: list[Job] = field(default_factory=list)
    created: int = 0
    skipped: dict[int, str] = field(default_factory=dict)  # frame / shot id -> reason

    def collect(self, subject_id: int, request: Callable[[], tuple[Job, bool]]) -> None:
        """Add one frame's / shot's job; a gate or invalid refusal skips that one with its reason, not the batch."""
        try:
            job, created = request()
        except StudioError as err:
            if err.category not in ("gate", "invalid"):
                raise
            self.skipped[subject_id] = str(err)
            return
        self.jobs.append(job)
        self.created += int(created)


def request_image(session: Session, frame_id: int, *, settings: Settings, provider: str | None = None,
                  force: bool = False, actor: str = "") -> Job:
    """The image job for the frame's selected prompt: an in-flight or reusable one, else a new pending one."""
    require("render")
    return _request_image(session, frame_id, settings=settings, provider=provider, force=force, actor=actor)[0]


def _request_image(session: Session, frame_id: int, *, settings: Settings, provider: str | None, force: bool,
                   actor: str, check_budget: bool = True) -> tuple[Job, bool]:
    _begin_sqlite(session, immediate=True)
    frame = load_live_frame(session, frame_id)
    prompt = planning.selected_prompt(session, frame)
    name = planning.resolve_provider(settings, provider)
    model = planning.model_for(settings, name, "image")
    params = planning.image_params(session, frame, prompt, settings=settings, provider=name)
    input_hash = planning.image_input_hash(frame.id, prompt, name, model, params)

    def gate() -> None:
        if frame.review_status == "locked":
            raise GateError(f"Frame {frame.position} of shot {frame.shot.position} is locked: its image cannot "
                            "change. Unlock it on the Review page first.")
        if (not force and frame.selected_image_id is not None
                and approvals.frame_status(session, frame) in APPROVED_STATUSES):  # changed since: back in review
            raise GateError(f"Frame {frame.position} of shot {frame.shot.position} is {frame.review_status}; "
                            "re-roll it (force) to render another take anyway")

    prior = _prior_job(session, input_hash, force=force, gate=gate)
    if prior is not None:
        return prior, False
    job = Job(kind="image", frame_id=frame.id, prompt_version_id=prompt.id, prompt_text=prompt.text, provider=name,
              model=model, params=params, input_hash=input_hash, idempotency_key=uuid.uuid4().hex, forced=force,
              requested_by=acting_name(actor))
    job, created = _insert_or_existing(session, job)
    if not created:
        return job, False
    file_id = source_file_of(session, frame_id=frame.id)
    if check_budget:
        _enforce_budget(session, settings, file_id)
    log_activity(session, "render.requested", actor=actor, subject_type="frame", subject_id=frame.id,
                 source_file_id=file_id, job_id=job.id, kind="image",
                 provider=name, model=model, forced=force)
    return job, True


def request_clip(session: Session, shot_id: int, *, settings: Settings, provider: str | None = None,
                 force: bool = False, actor: str = "") -> Job:
    """The clip job of a shot: start on the first frame's image, end on the last one's when the model can.

    Frames without an image get image jobs first (never forced) and the clip job depends on them.
    """
    require("render")
    return _request_clip(session, shot_id, settings=settings, provider=provider, force=force, actor=actor)[0]


def _request_clip(session: Session, shot_id: int, *, settings: Settings, provider: str | None, force: bool,
                  actor: str, check_budget: bool = True) -> tuple[Job, bool]:
    _begin_sqlite(session, immediate=True)
    shot = session.get(Shot, shot_id)
    if shot is None or shot.deleted_at is not None:
        raise NotFoundError(f"Shot {shot_id} does not exist")
    frames = planning.live_frames(shot)
    if not frames:
        raise StudioError(f"Shot {shot.position} has no frames to animate", category="invalid")
    assert_clip_allowed(session, shot.id, relax=settings.allow_unapproved_clips)
    name = planning.resolve_provider(settings, provider)
    model = planning.model_for(settings, name, "clip")
    plan = planning.clip_ends(session, shot, frames, settings=settings, provider=name)
    ends = [plan.start] + ([plan.end] if plan.end is not None else [])

    inputs: list[tuple[str, int]] = []
    as_queued: list[tuple[str, int]] = []  # the same inputs named as a clip queued before its images named them
    asset_ids: list[int] = []
    depends: list[int] = []
    for frame in ends:
        asset = _usable_image(session, frame)
        if asset is None:
            image_job, _ = _request_image(session, frame.id, settings=settings, provider=name, force=False,
                                          actor=actor, check_budget=False)  # the clip's own check counts these
            asset = _job_asset(session, image_job) if image_job.status == "succeeded" else None
            if asset is None:
                inputs.append(("job", image_job.id))
                as_queued.append(("job", image_job.id))
                depends.append(image_job.id)
                continue
        inputs.append(("asset", asset.id))
        as_queued.append(("job", asset.job_id) if asset.job_id is not None else ("asset", asset.id))
        asset_ids.append(asset.id)

    prompt = planning.motion_prompt(session, shot, frames)
    params: dict[str, Any] = {"duration": settings.clip_duration_s, "aspect_ratio": settings.aspect_ratio,
                              "start_frame_id": ends[0].id, "end_frame_id": ends[1].id if len(ends) > 1 else None}
    duration = planning.clip_duration(shot, settings=settings, provider=name, model=model)
    if duration is not None:
        params["duration"] = duration  # the accepted length nearest to the shot's narration
    if shot.camera_move:
        params["camera_move"] = shot.camera_move
    if plan.chained_from is not None:
        params["chained_from_shot"] = plan.chained_from.id
    refs = planning.reference_params(session, shot)
    if refs:
        params["references"] = refs
    input_hash = planning.clip_input_hash(shot.id, prompt, name, model, params, inputs)
    if as_queued != inputs:
        # A clip asked for before these images were rendered names them by their jobs until a worker picks it up:
        # it is this very render, still in flight (a second tab must not queue and pay for it again).
        waiting = _in_flight(session, planning.clip_input_hash(shot.id, prompt, name, model, params, as_queued),
                             kind="clip")
        if waiting is not None:
            return waiting, False

    def gate() -> None:
        if (not force and shot.selected_clip_id is not None
                and approvals.shot_status(session, shot) in APPROVED_STATUSES):
            raise GateError(f"Shot {shot.position} is {shot.review_status}; re-roll it (force) to render another "
                            "clip anyway")

    prior = _prior_job(session, input_hash, force=force, gate=gate)
    if prior is not None:
        return prior, False
    job = Job(kind="clip", shot_id=shot.id, prompt_text=prompt, provider=name, model=model, params=params,
              input_hash=input_hash, idempotency_key=uuid.uuid4().hex, forced=force, requested_by=acting_name(actor),
              input_asset_ids=asset_ids if not depends else [], depends_on=depends)
    job, created = _insert_or_existing(session, job)
    if not created:
        return job, False
    file_id = source_file_of(session, shot_id=shot.id)
    if check_budget:
        _enforce_budget(session, settings, file_id)
    log_activity(session, "render.requested", actor=actor, subject_type="shot", subject_id=shot.id,
                 source_file_id=file_id, job_id=job.id, kind="clip",
                 provider=name, model=model, forced=force, waits_for=depends)
    return job, True


def _insert_or_existing(session: Session, job: Job) -> tuple[Job, bool]:
    """Insert `job`, unless the same render is already active: the partial unique index `uq_jobs_active_input`
    refuses a second active job per (kind, input hash), so of two requests racing past `_in_flight` one inserts
    and the other gets the winner's job back (`created` False). The insert runs in a savepoint, so the caller's
    transaction (other jobs of the same batch) goes on either way."""
    _begin_sqlite(session)
    try:
        with session.begin_nested():
            session.add(job)
            session.flush()
            # The checks before the insert may be old news: a request that waited for the write lock (SQLite) or
            # lost the CPU can find that the same render was queued, run and finished meanwhile. Its take is the
            # one to reuse (this insert's statement reads the newest committed state).
            finished = None if job.forced else _reusable(session, job.input_hash)
            if finished is not None:
                raise _AlreadyRendered(finished)
    except _AlreadyRendered as done:
        if job in session:
            session.expunge(job)
        return done.job, False
    except IntegrityError:
        if job in session:
            session.expunge(job)
        existing = _in_flight(session, job.input_hash, kind=job.kind)
        if existing is None:  # another constraint failed: not a race, let it surface
            raise
        return existing, False
    return job, True


class _AlreadyRendered(Exception):
    """Raised inside the insert's savepoint (rolling it back) when the same render finished meanwhile."""

    def __init__(self, job: Job) -> None:
        super().__init__(job.id)
        self.job = job


def _begin_sqlite(session: Session, *, immediate: bool = False) -> None:
    """pysqlite opens its transaction only at the first write: a SAVEPOINT before that would be a transaction of
    its own, committed on release (and a later refusal, e.g. the budget's, could not roll the job back). Open the
    real transaction first. `immediate` takes SQLite's write lock at once, so the in-flight and reuse checks that
    follow read what every other writer committed (a deferred transaction would read an older snapshot, then wait
    for the lock and insert a second job for a render that finished meanwhile)."""
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        raw = conn.connection.dbapi_connection
        if raw is not None and not raw.in_transaction:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _prior_job(session: Session, input_hash: str, *, force: bool, gate: Callable[[], None]) -> Job | None:
    """The job to return instead of a new one: the same render in flight (even when forced: a double click never
    pays twice), else — after the review gate — a finished one to reuse unless forced (a re-roll)."""
    existing = _in_flight(session, input_hash)
    if existing is not None:
        return existing
    gate()
    return None if force else _reusable(session, input_hash)


def _enforce_budget(session: Session, settings: Settings, file_id: int | None) -> None:
    """The hard stop at 100 % of a script's budget, checked in core (not only on the page) after a new job is
    added: if spent + queued now exceeds the budget, raise, and the caller's transaction queues nothing."""
    from core import cost  # cost reads jobs; a local import keeps the layers one-way

    if file_id is None:
        return
    status = cost.budget_status(session, file_id, rate_card=cost.load_rate_card(session))
    if status.budget_usd is None:
        return
    if status.spent_usd + status.committed_usd > status.budget_usd + 1e-9:
        raise GateError(
            f"Nothing was queued: the ${status.budget_usd:.2f} budget of this script would be exceeded "
            f"(${status.spent_usd:.2f} spent, ${status.committed_usd:.2f} queued with this request). "
            "Raise the budget on the Review page or render fewer items.", category="budget")


def _enforce_batch_budget(session: Session, settings: Settings, video_id: int, batch: RenderBatch) -> None:
    """One budget check for a whole batch, after all its jobs are added (not one per job: each check sums every
    job of the script, so per-job checks made a video batch quadratic)."""
    if batch.created:
        video = session.get(Video, video_id)
        _enforce_budget(session, settings, video.source_file_id if video is not None else None)


def request_video_images(session: Session, video_id: int, *, settings: Settings, provider: str | None = None,
                         force: bool = False, actor: str = "") -> RenderBatch:
    """Image jobs for every live frame of the video's current storyboard; frames that cannot render are skipped
    with the reason (no prompt yet, approved, locked)."""
    require("render")
    batch = RenderBatch()
    provider = planning.resolve_provider(settings, provider)  # a configuration problem stops the whole batch
    for shot in current_shots(session, video_id):
        for frame in planning.live_frames(shot):
            batch.collect(frame.id, partial(_request_image, session, frame.id, settings=settings, provider=provider,
                                            force=force, actor=actor, check_budget=False))
    _enforce_batch_budget(session, settings, video_id, batch)
    return batch


def request_video_clips(session: Session, video_id: int, *, settings: Settings, provider: str | None = None,
                        force: bool = False, actor: str = "") -> RenderBatch:
    """One click per video: a clip job per live shot, with the missing images queued before it."""
    require("render")
    batch = RenderBatch()
    provider = planning.resolve_provider(settings, provider)
    for shot in current_shots(session, video_id):
        batch.collect(shot.id, partial(_request_clip, session, shot.id, settings=settings, provider=provider,
                                       force=force, actor=actor, check_budget=False))
    _enforce_batch_budget(session, settings, video_id, batch)
    return batch


def estimate_video(session: Session, video_id: int, *, settings: Settings, provider: str | None = None,
                   clips: bool = True) -> planning.CostEstimate:
    """The price of rendering what the video is missing (images, and clips when `clips`)."""
    images, n_clips = planning.count_missing(session, video_id, clips=clips, settings=settings, provider=provider)
    return planning.estimate_jobs(session, settings=settings, images=images, clips=n_clips, provider=provider)


def cancel_job(session: Session, job_id: int, *, actor: str = "", settings: Settings | None = None,
               providers: Mapping[str, RenderProvider] | None = None) -> Job:
    """Cancel a job that has not finished. A request already queued remotely is canceled there too; one the
    provider has started cannot be stopped (its take can be discarded when it arrives)."""
    require("render")
    job = _job(session, job_id)
    if job.status not in JOB_ACTIVE:
        raise ConflictError(f"Job {job.id} has already {job.status}; there is nothing to cancel")
    if job.remote_request_id:
        provider = (providers or {}).get(job.provider)
        if provider is None:
            if settings is None:
                raise StudioError("Canceling a submitted render needs the settings (to reach the provider)",
                                  category="invalid")
            from core.render.providers import make_provider

            provider = make_provider(job.provider, settings)
        cancel_url = (job.params or {}).get("_remote", {}).get("cancel_url")
        if not provider.cancel(job.remote_request_id, cancel_url):
            raise ConflictError(f"Job {job.id} is already rendering and can no longer be canceled; discard its "
                                "take when it arrives")
    job.status = "canceled"
    job.error = f"Canceled by {actor}" if actor else "Canceled"
    job.error_category = "canceled"
    job.finished_at = utcnow()
    job.lease_owner = None
    job.lease_expires_at = None
    log_activity(session, "render.canceled", actor=actor, subject_type="frame" if job.frame_id else "shot",
                 subject_id=job.frame_id or job.shot_id, job_id=job.id,
                 source_file_id=source_file_of(session, frame_id=job.frame_id, shot_id=job.shot_id))
    return job


def retry_job(session: Session, job_id: int, *, actor: str = "") -> Job:
    """Put a failed or canceled job back in the queue (the same row: its attempts and past errors stay visible).

    A request the provider finished (failed, blocked, canceled) gets a new idempotency key; one that may still be
    running or whose output could not be fetched keeps its request id and is polled again, never paid twice.
    Failed images a clip waits for are retried with it. Retrying a job that is already queued changes nothing.
    """
    require("render")
    job = _job(session, job_id)
    if job.status in JOB_ACTIVE:
        return job  # already queued again (e.g. retried with the clip that waits for it)
    if job.status not in ("failed", "canceled"):
        raise ConflictError(f"Job {job.id} has {job.status}; only failed or canceled jobs can be retried "
                            "(re-roll to render another take)")
    active = _in_flight(session, job.input_hash, kind=job.kind)
    if active is not None:
        return active  # the same render is already queued again (one active job per input): never pay twice
    history = list((job.params or {}).get("_history", []))
    history.append({"attempts": job.attempts, "error": job.error, "category": job.error_category,
                    "request_id": job.remote_request_id, "at": utcnow().isoformat(),
                    "submitted_at": job.submitted_at.isoformat() if job.submitted_at else None})
    params = dict(job.params or {})
    params["_history"] = history
    remote_done = (job.error_category in ("failed", "nsfw", "canceled", "timeout_canceled", "not_found")
                   or job.status == "canceled")
    if job.remote_request_id and remote_done:
        # The provider finished that request: the same key would only return it again.
        job.remote_request_id = None
        job.status_url = None
        params.pop("_remote", None)
        job.idempotency_key = uuid.uuid4().hex
        job.status = "pending"
    elif job.remote_request_id:
        # It may still be running, or only its download failed: poll it again, with a fresh deadline.
        job.status = "submitted"
        job.submitted_at = utcnow()
    else:
        # Never (knowingly) accepted: keep the key, so a submit that did arrive after all is not paid twice.
        job.status = "pending"
    job.params = params
    job.error = None
    job.error_category = None
    job.not_before = None
    job.finished_at = None
    job.lease_owner = None
    job.lease_expires_at = None
    depends = []
    for dep_id in job.depends_on or []:
        dep = session.get(Job, dep_id)
        if dep is not None and dep.status in ("failed", "canceled"):
            dep = retry_job(session, dep.id, actor=actor)  # may be another job already rendering that image
        depends.append(dep.id if dep is not None else dep_id)
    if depends != list(job.depends_on or []):
        job.depends_on = depends
    _begin_sqlite(session)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # a request or retry of the same render won a race since the check above
        active = _in_flight(session, job.input_hash, kind=job.kind)
        if active is None:
            raise
        return active
    log_activity(session, "render.retried", actor=actor, subject_type="frame" if job.frame_id else "shot",
                 subject_id=job.frame_id or job.shot_id, job_id=job.id, previous_errors=len(history),
                 source_file_id=source_file_of(session, frame_id=job.frame_id, shot_id=job.shot_id))
    return job


def list_jobs(session: Session, status: str | Sequence[str] | None = None, *, kind: str | None = None,
              frame_id: int | None = None, shot_id: int | None = None, limit: int = 500) -> list[Job]:
    """Jobs, newest first, optionally filtered by status (one or several), kind, frame or shot."""
    stmt = select(Job).order_by(Job.id.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(Job.status.in_([status] if isinstance(status, str) else list(status)))
    if kind is not None:
        stmt = stmt.where(Job.kind == kind)
    if frame_id is not None:
        stmt = stmt.where(Job.frame_id == frame_id)
    if shot_id is not None:
        stmt = stmt.where(Job.shot_id == shot_id)
    return list(session.scalars(stmt))


def job_summary(job: Job) -> dict[str, Any]:
    """A job as plain JSON-ready data (what `python -m core jobs` prints)."""
    def iso(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": job.id, "kind": job.kind, "status": job.status, "frame_id": job.frame_id, "shot_id": job.shot_id,
        "provider": job.provider, "model": job.model, "prompt_version_id": job.prompt_version_id,
        "depends_on": list(job.depends_on or []), "input_asset_ids": list(job.input_asset_ids or []),
        "attempts": job.attempts, "polls": job.polls, "error": job.error, "error_category": job.error_category,
        "remote_request_id": job.remote_request_id, "cost_usd": job.cost_usd, "forced": job.forced,
        "created_at": iso(job.created_at), "submitted_at": iso(job.submitted_at), "finished_at": iso(job.finished_at),
        "not_before": iso(job.not_before), "history": list((job.params or {}).get("_history", [])),
    }


# ---- helpers ------------------------------------------------------------------------------------------------

def _job(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFoundError(f"Job {job_id} does not exist")
    return job


def _in_flight(session: Session, input_hash: str, *, kind: str | None = None) -> Job | None:
    stmt = select(Job).where(Job.input_hash == input_hash, Job.status.in_(JOB_ACTIVE))
    if kind is not None:
        stmt = stmt.where(Job.kind == kind)
    return session.scalar(stmt.order_by(Job.id.desc()).limit(1))


def _reusable(session: Session, input_hash: str) -> Job | None:
    """The newest succeeded job with these inputs whose take is still there."""
    return session.scalar(
        select(Job).join(Asset, Asset.job_id == Job.id)
        .where(Job.input_hash == input_hash, Job.status == "succeeded", Asset.discarded_at.is_(None))
        .order_by(Job.id.desc()).limit(1))


def _job_asset(session: Session, job: Job) -> Asset | None:
    return session.scalar(select(Asset).where(Asset.job_id == job.id, Asset.discarded_at.is_(None))
                          .order_by(Asset.id.desc()).limit(1))


def _usable_image(session: Session, frame: Frame) -> Asset | None:
    asset = session.get(Asset, frame.selected_image_id) if frame.selected_image_id else None
    return asset if asset is not None and asset.discarded_at is None else None
