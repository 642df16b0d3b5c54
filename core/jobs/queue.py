"""Asking for renders: one `Job` row per render, deduplicated, gated, priced and visible to everyone.

These functions only write rows (in the caller's unit of work); the worker does the rendering. Rules a producer
can rely on:
- asking for the same render (same frame, prompt version, provider, model, parameters) while one is in flight
  returns that job, even when forced: a double click never pays twice;
- a finished render with the same inputs whose take was not discarded is reused, unless forced (re-roll);
- approved and locked frames / shots that already have a take are not re-rendered unless forced;
- a clip whose start / end frame has no image yet queues the image first and waits for it;
- every way of asking for a clip (a shot, a video, explicit images) passes the same gates: the role, the approval
  gate (`ALLOW_UNAPPROVED_CLIPS` relaxes it) and the budget;
- a request is admitted whole against the script's budget or queues nothing (`core.money.enforce_budget`);
- an estimate (`quote_*`) runs the very same request functions without writing anything, and prices the jobs
  they would have queued: the estimate and the request cannot disagree.
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

from core import approvals, money
from core.activity import log_activity
from core.authz import acting_name, require
from core.catalog import FIXED_CLIP_SECONDS
from core.db import begin_sqlite
from core.errors import ConflictError, GateError, NotFoundError, StudioError, ValidationError
from core.hashing import stable_hash
from core.jobs import planning, prefetch
from core.jobs.takes import source_file_of
from core.review import APPROVED_STATUSES, assert_clip_allowed, clip_gate_relaxed
from core.models import JOB_ACTIVE, Asset, Frame, Job, Shot, Video, utcnow
from core.prompts.context import load_live_frame
from core.render.providers import RenderProvider
from core.settings import Settings


class TakeKept(GateError):
    """An approved frame or shot keeps its take unless the request is forced: not a problem, just nothing to do."""


@dataclass
class RenderBatch:
    """What a request queued (or, `dry`, would queue): the jobs per subject (new, in flight or reused), what it
    skipped with why, and every new job it added on the way (a clip's missing images included).

    A dry batch writes nothing: new jobs are built but never added to the session (`planned` lets a later subject
    of the same batch find them, as it would find the rows a real request had inserted)."""

    jobs: list[Job] = field(default_factory=list)
    created: int = 0
    skipped: dict[int, str] = field(default_factory=dict)  # frame / shot id -> reason
    new_jobs: list[Job] = field(default_factory=list)
    kept: set[int] = field(default_factory=set)  # skipped subjects that are approved with a take (up to date)
    dry: bool = False
    planned: dict[str, Job] = field(default_factory=dict)
    lookups: planning.Lookups = field(default_factory=dict)  # per-shot rows a batch reads once

    def collect(self, subject_id: int, request: Callable[[], tuple[Job, bool]]) -> None:
        """Add one frame's / shot's job; a gate or invalid refusal skips that one with its reason, not the batch."""
        try:
            job, created = request()
        except StudioError as err:
            if err.category not in ("gate", "invalid"):
                raise
            self.skipped[subject_id] = str(err)
            if isinstance(err, TakeKept):
                self.kept.add(subject_id)
            return
        self.jobs.append(job)
        self.created += int(created)

    @property
    def existing(self) -> int:
        """Subjects answered with a job that already exists (in flight, or a finished take reused)."""
        return len(self.jobs) - self.created


def request_image(session: Session, frame_id: int, *, settings: Settings, provider: str | None = None,
                  force: bool = False, actor: str = "", into: RenderBatch | None = None) -> Job:
    """The image job for the frame's selected prompt: an in-flight or reusable one, else a new pending one
    (refused whole when it would take the script over its budget). `into` collects the new job too."""
    require("render")
    batch = into if into is not None else RenderBatch()
    before = len(batch.new_jobs)
    job = _request_image(session, frame_id, settings=settings, provider=provider, force=force, actor=actor,
                         batch=batch)[0]
    _enforce(session, batch.new_jobs[before:], batch)
    return job


def _request_image(session: Session, frame_id: int, *, settings: Settings, provider: str | None, force: bool,
                   actor: str, batch: RenderBatch) -> tuple[Job, bool]:
    if not batch.dry:
        begin_sqlite(session, immediate=True)
    frame = load_live_frame(session, frame_id)
    prompt = planning.selected_prompt(session, frame)
    name = planning.resolve_provider(settings, provider)
    model = planning.model_for(settings, name, "image")
    params = planning.image_params(session, frame, prompt, settings=settings, provider=name, lookups=batch.lookups)
    input_hash = planning.image_input_hash(frame.id, prompt, name, model, params)
    if batch.dry and input_hash in batch.planned:
        return batch.planned[input_hash], False  # an earlier subject of this batch queues it (a chained start)

    def gate() -> None:
        if frame.review_status == "locked":
            raise GateError(f"Frame {frame.position} of shot {frame.shot.position} is locked: its image cannot "
                            "change. Unlock it on the Review page first.")
        if (not force and frame.selected_image_id is not None
                and approvals.frame_status(session, frame) in APPROVED_STATUSES):  # changed since: back in review
            raise TakeKept(f"Frame {frame.position} of shot {frame.shot.position} is {frame.review_status}; "
                            "re-roll it (force) to render another take anyway")

    prior = _prior_job(session, input_hash, force=force, gate=gate, index=_index(batch))
    if prior is not None:
        return prior, False
    file_id = planning.memo(batch.lookups, ("file", frame.shot_id),
                            lambda: source_file_of(session, shot_id=frame.shot_id))
    job = Job(kind="image", frame_id=frame.id, prompt_version_id=prompt.id, prompt_text=prompt.text, provider=name,
              model=model, params=params, input_hash=input_hash, idempotency_key=uuid.uuid4().hex, forced=force,
              requested_by=acting_name(actor), source_file_id=file_id)
    if batch.dry:
        batch.planned[input_hash] = job
        batch.new_jobs.append(job)
        return job, True
    job, created = _insert_or_existing(session, job)
    if not created:
        return job, False
    batch.new_jobs.append(job)
    log_activity(session, "render.requested", actor=actor, subject_type="frame", subject_id=frame.id,
                 source_file_id=file_id, job_id=job.id, kind="image",
                 provider=name, model=model, forced=force)
    return job, True


def request_clip(session: Session, shot_id: int, *, settings: Settings, provider: str | None = None,
                 force: bool = False, actor: str = "", into: RenderBatch | None = None) -> Job:
    """The clip job of a shot: start on the first frame's image, end on the last one's when the model can.

    Frames without an image get image jobs first (never forced) and the clip job depends on them; the clip and
    its images are admitted against the budget together, or none of them is queued.
    """
    require("render")
    batch = into if into is not None else RenderBatch()
    before = len(batch.new_jobs)
    job = _request_clip(session, shot_id, settings=settings, provider=provider, force=force, actor=actor,
                        batch=batch)[0]
    _enforce(session, batch.new_jobs[before:], batch)
    return job


def _request_clip(session: Session, shot_id: int, *, settings: Settings, provider: str | None, force: bool,
                  actor: str, batch: RenderBatch) -> tuple[Job, bool]:
    planning.read_model_schemas(settings, provider)  # end frame and duration follow the model's own schema
    if not batch.dry:
        begin_sqlite(session, immediate=True)
    shot = session.get(Shot, shot_id)
    if shot is None or shot.deleted_at is not None:
        raise NotFoundError(f"Shot {shot_id} does not exist")
    frames = planning.live_frames(shot)
    if not frames:
        raise StudioError(f"Shot {shot.position} has no frames to animate", category="invalid")
    assert_clip_allowed(session, shot.id, relax=clip_gate_relaxed(settings))
    name = planning.resolve_provider(settings, provider)
    model = planning.model_for(settings, name, "clip")
    plan = planning.clip_ends(session, shot, frames, settings=settings, provider=name, lookups=batch.lookups)
    ends = [plan.start] + ([plan.end] if plan.end is not None else [])

    inputs: list[tuple[str, int]] = []
    as_queued: list[tuple[str, int]] = []  # the same inputs named as a clip queued before its images named them
    asset_ids: list[int] = []
    depends: list[int] = []
    for frame in ends:
        asset = _usable_image(session, frame)
        if asset is None:
            image_job, _ = _request_image(session, frame.id, settings=settings, provider=name, force=False,
                                          actor=actor, batch=batch)  # admitted with the clip, as one request
            asset = _job_asset(session, image_job) if image_job.id is not None and \
                image_job.status == "succeeded" else None
            if asset is None:
                # A dry run's planned image has no id yet: the clip then cannot match any queued one (it is new).
                inputs.append(("job", image_job.id))
                as_queued.append(("job", image_job.id))
                depends.append(image_job.id)
                continue
        inputs.append(("asset", asset.id))
        as_queued.append(("job", asset.job_id) if asset.job_id is not None else ("asset", asset.id))
        asset_ids.append(asset.id)

    # From the picture the clip really starts on (a chained shot: the previous shot's last) to the shot's last.
    prompt = planning.motion_prompt(session, shot, [plan.start, *([frames[-1]] if frames[-1] is not plan.start
                                                                   else [])])
    params: dict[str, Any] = {"duration": settings.clip_duration_s, "aspect_ratio": settings.aspect_ratio,
                              "start_frame_id": ends[0].id, "end_frame_id": ends[1].id if len(ends) > 1 else None}
    duration = planning.clip_duration(shot, settings=settings, provider=name, model=model)
    # The accepted length nearest to the shot's narration, as the body will send it and the price counts it; a
    # model that takes no duration renders its one fixed length.
    params["duration"] = duration if duration is not None else FIXED_CLIP_SECONDS
    if shot.camera_move:
        params["camera_move"] = shot.camera_move
    if plan.chained_from is not None:
        params["chained_from_shot"] = plan.chained_from.id
    refs = planning.memo(batch.lookups, ("refs", shot.id), lambda: planning.reference_params(session, shot))
    if refs:
        params["references"] = refs
    input_hash = planning.clip_input_hash(shot.id, prompt, name, model, params, inputs)
    if as_queued != inputs:
        # A clip asked for before these images were rendered names them by their jobs until a worker picks it up:
        # it is this very render, still in flight (a second tab must not queue and pay for it again).
        waiting = _in_flight(session, planning.clip_input_hash(shot.id, prompt, name, model, params, as_queued),
                             kind="clip", index=_index(batch))
        if waiting is not None:
            return waiting, False

    def gate() -> None:
        if (not force and shot.selected_clip_id is not None
                and approvals.shot_status(session, shot) in APPROVED_STATUSES):
            raise TakeKept(f"Shot {shot.position} is {shot.review_status}; re-roll it (force) to render another "
                            "clip anyway")

    prior = _prior_job(session, input_hash, force=force, gate=gate, index=_index(batch))
    if prior is not None:
        return prior, False
    file_id = planning.memo(batch.lookups, ("file", shot.id), lambda: source_file_of(session, shot_id=shot.id))
    job = Job(kind="clip", shot_id=shot.id, prompt_text=prompt, provider=name, model=model, params=params,
              input_hash=input_hash, idempotency_key=uuid.uuid4().hex, forced=force, requested_by=acting_name(actor),
              input_asset_ids=asset_ids if not depends else [], depends_on=depends, source_file_id=file_id)
    if batch.dry:
        batch.new_jobs.append(job)
        return job, True
    job, created = _insert_or_existing(session, job)
    if not created:
        return job, False
    batch.new_jobs.append(job)
    log_activity(session, "render.requested", actor=actor, subject_type="shot", subject_id=shot.id,
                 source_file_id=file_id, job_id=job.id, kind="clip",
                 provider=name, model=model, forced=force, waits_for=depends)
    return job, True


def request_explicit_clip(session: Session, *, start: Asset, end: Asset | None, prompt: str, settings: Settings,
                          file_id: int | None = None, force: bool = False, actor: str = "") -> Job:
    """A clip from explicit images (the API's `POST /generation/video` without a shot): an ordinary clip job with
    no shot, its images in `input_asset_ids`. It passes the gates every clip passes: the role, the approval gate
    (each image must be the selected image of an approved frame, unless `ALLOW_UNAPPROVED_CLIPS`) and the budget
    of the script it is charged to (the images' script, or `file_id` for images that belong to none)."""
    require("render")
    batch = RenderBatch()
    job = _request_explicit_clip(session, start=start, end=end, prompt=prompt, settings=settings, file_id=file_id,
                                 force=force, actor=actor, batch=batch)
    _enforce(session, batch.new_jobs, batch)
    return job


def _request_explicit_clip(session: Session, *, start: Asset, end: Asset | None, prompt: str, settings: Settings,
                           file_id: int | None, force: bool, actor: str, batch: RenderBatch) -> Job:
    planning.read_model_schemas(settings, None)
    if not batch.dry:
        begin_sqlite(session, immediate=True)
    prompt = prompt.strip()
    if not prompt:
        raise ValidationError("A clip from explicit images needs a motion prompt")
    images = [start] + ([end] if end is not None else [])
    reason = explicit_clip_block_reason(session, images, relax=clip_gate_relaxed(settings))
    if reason is not None:
        raise GateError(reason)
    charged = _explicit_clip_script(session, images, file_id)
    name = planning.resolve_provider(settings, None)
    model = planning.model_for(settings, name, "clip")
    caps = planning.capabilities_for(settings, name, "clip")
    if end is not None and not caps.takes_end_frame:
        raise ValidationError(f"The video model {model} cannot end on a second image; leave out the end image.")
    asset_ids = [a.id for a in images]
    params: dict[str, Any] = {
        "duration": caps.fit_duration(float(settings.clip_duration_s)) or FIXED_CLIP_SECONDS,
        "aspect_ratio": settings.aspect_ratio,
        "start_frame_id": None,
        "end_frame_id": None,
        "start_image_url": start.remote_url if start.provider == "url" else None,
        "end_image_url": end.remote_url if end is not None and end.provider == "url" else None,
    }
    input_hash = stable_hash({"kind": "clip", "explicit": True, "prompt": prompt, "provider": name,
                                       "model": model, "params": params, "inputs": asset_ids})
    existing = _in_flight(session, input_hash, kind="clip")
    if existing is not None:
        return existing  # forced or not, a double request never renders (or pays) twice
    job = Job(kind="clip", shot_id=None, prompt_text=prompt, provider=name, model=model, params=params,
              input_hash=input_hash, idempotency_key=uuid.uuid4().hex, forced=force, requested_by=actor,
              input_asset_ids=asset_ids, depends_on=[], source_file_id=charged)
    if batch.dry:
        batch.new_jobs.append(job)
        return job
    job, created = _insert_or_existing(session, job)  # a racing twin request gets this same job
    if created:
        batch.new_jobs.append(job)
        log_activity(session, "render.requested", actor=actor, subject_type="source_file", subject_id=charged,
                     source_file_id=charged, job_id=job.id, kind="clip", provider=name, model=model, forced=force,
                     images=asset_ids)
    return job


def explicit_clip_block_reason(session: Session, images: Sequence[Asset], *, relax: bool) -> str | None:
    """Why a clip may not be rendered from these images, or None: like a shot's clip, only from approved frames —
    each image the selected image of a frame that is approved (or locked), by asset or by identical bytes (an
    image fetched from a URL that is an approved keyframe's). `relax` is `clip_gate_relaxed`."""
    if relax:
        return None
    for n, asset in enumerate(images):
        role = "start" if n == 0 else "end"
        frame = _keyframe_of(session, asset)
        if frame is None:
            return (f"The {role} image (asset {asset.id}) is not the selected image of any frame: clips are "
                    "rendered only from approved frames (an admin can set ALLOW_UNAPPROVED_CLIPS=1 to allow "
                    "any image)")
        status = approvals.frame_status(session, frame)
        if status not in APPROVED_STATUSES:
            why = "changed since it was approved" if status == approvals.CHANGED else "not approved yet"
            return (f"The {role} image is frame {frame.position} of shot {frame.shot.position}, which is {why}: "
                    "clips are rendered only from approved frames")
    return None


def _keyframe_of(session: Session, asset: Asset) -> Frame | None:
    """The live frame whose selected image this is (the asset itself, or one with the same bytes); an approved
    one first when several frames show the same picture."""
    frames = list(session.scalars(
        select(Frame).join(Asset, Asset.id == Frame.selected_image_id)
        .where(Asset.sha256 == asset.sha256, Asset.discarded_at.is_(None), Frame.deleted_at.is_(None))
        .order_by(Frame.id)))
    frames.sort(key=lambda f: f.review_status not in APPROVED_STATUSES)
    return frames[0] if frames else None


def _explicit_clip_script(session: Session, images: Sequence[Asset], file_id: int | None) -> int:
    """The script an explicit clip is charged to: its images' (all one script), else `file_id`; one is needed,
    since every paid render counts against a script's budget."""
    from core.models import SourceFile

    scripts = {sid for a in images if (frame := _keyframe_of(session, a)) is not None
               and (sid := source_file_of(session, frame_id=frame.id)) is not None}
    if len(scripts) > 1:
        raise ValidationError("The start and end images belong to different scripts; a clip is charged to one")
    if scripts:
        (own,) = scripts
        if file_id is not None and file_id != own:
            raise ValidationError(f"The images belong to script {own}, not to script {file_id}")
        return own
    if file_id is None:
        raise ValidationError("Say which script this clip is charged to (file_id): its images belong to no "
                              "script, and every render counts against a script's budget")
    if session.get(SourceFile, file_id) is None:
        raise NotFoundError(f"Script {file_id} does not exist")
    return file_id


def _insert_or_existing(session: Session, job: Job) -> tuple[Job, bool]:
    """Insert `job`, unless the same render is already active: the partial unique index `uq_jobs_active_input`
    refuses a second active job per (kind, input hash), so of two requests racing past `_in_flight` one inserts
    and the other gets the winner's job back (`created` False). The insert runs in a savepoint, so the caller's
    transaction (other jobs of the same batch) goes on either way."""
    begin_sqlite(session)
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


def _prior_job(session: Session, input_hash: str, *, force: bool, gate: Callable[[], None],
               index: prefetch.JobIndex | None = None) -> Job | None:
    """The job to return instead of a new one: the same render in flight (even when forced: a double click never
    pays twice), else — after the review gate — a finished one to reuse unless forced (a re-roll). `index`: a dry
    batch's jobs, read once (`core.jobs.prefetch`)."""
    existing = _in_flight(session, input_hash, index=index)
    if existing is not None:
        return existing
    gate()
    if force:
        return None
    return index.finished(input_hash) if index is not None else _reusable(session, input_hash)


def _index(batch: RenderBatch) -> prefetch.JobIndex | None:
    """The jobs a dry batch read once; a real request always asks the database (under its write lock)."""
    return prefetch.job_index(batch.lookups) if batch.dry else None


def _enforce(session: Session, new_jobs: Sequence[Job], batch: RenderBatch) -> None:
    """The budget's word on a request's new jobs, all together (`core.money.enforce_budget`); a dry run only
    prices them (its quote asks the same rule)."""
    if batch.dry or not new_jobs:
        return
    for file_id in sorted({j.source_file_id for j in new_jobs if j.source_file_id is not None}):
        money.enforce_budget(session, file_id, [j for j in new_jobs if j.source_file_id == file_id])


def request_video_images(session: Session, video_id: int, *, settings: Settings, provider: str | None = None,
                         force: bool = False, actor: str = "") -> RenderBatch:
    """Image jobs for every live frame of the video's current storyboard; frames that cannot render are skipped
    with the reason (no prompt yet, approved, locked). Admitted whole against the budget, or nothing is queued."""
    require("render")
    batch = _video_images(session, video_id, settings=settings, provider=provider, force=force, actor=actor,
                          batch=RenderBatch())
    _enforce(session, batch.new_jobs, batch)
    return batch


def _video_images(session: Session, video_id: int, *, settings: Settings, provider: str | None, force: bool,
                  actor: str, batch: RenderBatch) -> RenderBatch:
    _video(session, video_id)
    provider = planning.resolve_provider(settings, provider)  # a configuration problem stops the whole batch
    shots = prefetch.board_shots(session, video_id, batch.lookups if batch.dry else None)
    if batch.dry:
        prefetch.warm(session, shots, batch.lookups, jobs=True)
    for shot in shots:
        for frame in planning.live_frames(shot):
            batch.collect(frame.id, partial(_request_image, session, frame.id, settings=settings, provider=provider,
                                            force=force, actor=actor, batch=batch))
    return batch


def request_video_clips(session: Session, video_id: int, *, settings: Settings, provider: str | None = None,
                        force: bool = False, actor: str = "") -> RenderBatch:
    """One click per video: a clip job per live shot, with the missing images queued before it. Admitted whole
    against the budget, or nothing is queued."""
    require("render")
    batch = _video_clips(session, video_id, settings=settings, provider=provider, force=force, actor=actor,
                         batch=RenderBatch())
    _enforce(session, batch.new_jobs, batch)
    return batch


def _video_clips(session: Session, video_id: int, *, settings: Settings, provider: str | None, force: bool,
                 actor: str, batch: RenderBatch) -> RenderBatch:
    _video(session, video_id)
    provider = planning.resolve_provider(settings, provider)
    planning.read_model_schemas(settings, provider)
    shots = prefetch.board_shots(session, video_id, batch.lookups if batch.dry else None)
    if batch.dry:
        prefetch.warm(session, shots, batch.lookups, jobs=True)
    for shot in shots:
        batch.collect(shot.id, partial(_request_clip, session, shot.id, settings=settings, provider=provider,
                                       force=force, actor=actor, batch=batch))
    return batch


def request_shot(session: Session, shot_id: int, *, frame_ids: Sequence[int], settings: Settings,
                 force: bool = False, actor: str = "", dry: bool = False,
                 lookups: planning.Lookups | None = None) -> RenderBatch:
    """A shot's images (`frame_ids`, never forced), then its clip waiting for them: one request, admitted whole
    against the budget. `dry` builds the same jobs without writing them (the estimate beside a button); a dry
    request may share `lookups` that `core.jobs.prefetch.warm` read for many shots."""
    if not dry:
        require("render")
    batch = RenderBatch(dry=dry, lookups=lookups if dry and lookups is not None else {})
    planning.read_model_schemas(settings, None)  # before the images open the transaction
    for frame_id in frame_ids:
        batch.jobs.append(_request_image(session, frame_id, settings=settings, provider=None, force=False,
                                         actor=actor, batch=batch)[0])
    batch.jobs.append(_request_clip(session, shot_id, settings=settings, provider=None, force=force, actor=actor,
                                    batch=batch)[0])
    _enforce(session, batch.new_jobs, batch)
    return batch


# ---- estimates: the same requests, not written --------------------------------------------------------------

def quote_video_images(session: Session, video_id: int, *, settings: Settings, provider: str | None = None,
                       force: bool = False, lookups: planning.Lookups | None = None) -> money.Quote:
    """What `request_video_images` with these arguments would queue and what it costs; writes nothing. `lookups`
    shares what it read with the caller's other estimates in the same session."""
    batch = _video_images(session, video_id, settings=settings, provider=provider, force=force, actor="",
                          batch=RenderBatch(dry=True, lookups={} if lookups is None else lookups))
    return _quote(session, _video(session, video_id).source_file_id, batch)


def quote_video_clips(session: Session, video_id: int, *, settings: Settings, provider: str | None = None,
                      force: bool = False, lookups: planning.Lookups | None = None) -> money.Quote:
    """What `request_video_clips` with these arguments would queue (clips and the images they wait for); `lookups`
    as for `quote_video_images`."""
    batch = _video_clips(session, video_id, settings=settings, provider=provider, force=force, actor="",
                         batch=RenderBatch(dry=True, lookups={} if lookups is None else lookups))
    return _quote(session, _video(session, video_id).source_file_id, batch)


def quote_image(session: Session, frame_id: int, *, settings: Settings, provider: str | None = None,
                force: bool = False) -> money.Quote:
    """What `request_image` would queue for this frame (nothing when the same render is in flight or reused);
    its refusals (no prompt, locked, approved) are raised as the request would raise them."""
    batch = RenderBatch(dry=True)
    batch.jobs.append(_request_image(session, frame_id, settings=settings, provider=provider, force=force, actor="",
                                     batch=batch)[0])
    return _quote(session, source_file_of(session, frame_id=frame_id), batch)


def quote_clip(session: Session, shot_id: int, *, settings: Settings, provider: str | None = None,
               force: bool = False) -> money.Quote:
    """What `request_clip` would queue for this shot: its clip and the images it waits for."""
    batch = RenderBatch(dry=True)
    batch.jobs.append(_request_clip(session, shot_id, settings=settings, provider=provider, force=force, actor="",
                                    batch=batch)[0])
    return _quote(session, source_file_of(session, shot_id=shot_id), batch)


def quote_explicit_clip(session: Session, *, start: Asset, end: Asset | None, prompt: str, settings: Settings,
                        file_id: int | None = None, force: bool = False) -> money.Quote:
    """What `request_explicit_clip` would queue, with its gates raised as the request would raise them."""
    batch = RenderBatch(dry=True)
    job = _request_explicit_clip(session, start=start, end=end, prompt=prompt, settings=settings, file_id=file_id,
                                 force=force, actor="", batch=batch)
    batch.jobs.append(job)
    return _quote(session, job.source_file_id, batch)


def quote_batch(session: Session, file_id: int | None, batch: RenderBatch) -> money.Quote:
    """The price and the budget's answer for a dry batch's new jobs."""
    return _quote(session, file_id, batch)


def _quote(session: Session, file_id: int | None, batch: RenderBatch) -> money.Quote:
    existing = sum(1 for j in batch.jobs if j.id is not None)  # a planned job has no id: it is new
    return money.quote_jobs(session, file_id, batch.new_jobs, existing=existing, skipped=batch.skipped,
                            kept=batch.kept)


def _video(session: Session, video_id: int) -> Video:
    video = session.get(Video, video_id)
    if video is None:
        raise NotFoundError(f"Video {video_id} does not exist")
    return video


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
    begin_sqlite(session)
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


def _in_flight(session: Session, input_hash: str, *, kind: str | None = None,
               index: prefetch.JobIndex | None = None) -> Job | None:
    if index is not None:
        return index.in_flight(input_hash, kind)
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
