"""Refining many frames: bounded concurrency, per-frame outcomes, errors that never stop the batch.

Each frame goes through three short steps: (1) a worker's read session builds the request and looks for an
existing version with the same input hash (reused, not sent, unless forced); (2) the worker calls the refiner
with no database session open, so a slow provider never holds a transaction or a pooled connection; (3) the
calling thread appends the new versions, a few frames per tiny transaction. A single writer means SQLite's
write lock is never contended by the batch itself.

A few more threads than provider slots run, so reading the next frames and writing finished ones overlaps the
network wait. Per-frame errors are recorded and the batch goes on; only a set-up error (rejected key, unknown
model) stops further requests, and the remaining frames fail with that same message instead of repeating it.
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core import approvals
from core.activity import log_activity
from core.authz import require
from core.db import session_scope
from core.errors import NotFoundError, ProviderError, StudioError, ValidationError
from core.models import Frame, PromptVersion, Shot, SourceFile, Storyboard, Video
from core.prompts.context import input_snapshot, load_lineage, load_live_frame, request_for, request_hash
from core.prompts.types import RefinedPrompt, RefineRequest, Refiner
from core.prompts.versions import add_refined_version
from core.review import APPROVED_STATUSES

OUTCOMES = ("refined", "reused", "skipped", "failed")
ProgressFn = Callable[[int, int, int, str], None]


@dataclass
class BatchSummary:
    """Counts per outcome, the producer-readable error of every failed frame, and each frame's outcome."""

    refined: int = 0
    reused: int = 0
    skipped: int = 0
    failed: int = 0
    errors: dict[int, str] = field(default_factory=dict)
    outcomes: dict[int, str] = field(default_factory=dict)
    provider: str = ""
    model: str = ""
    elapsed_s: float = 0.0

    @property
    def total(self) -> int:
        return self.refined + self.reused + self.skipped + self.failed

    def count(self, frame_id: int, outcome: str, error: str | None = None) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)
        self.outcomes[frame_id] = outcome
        if error is not None:
            self.errors[frame_id] = error

    def to_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider, "model": self.model, "total": self.total, "refined": self.refined,
            "reused": self.reused, "skipped": self.skipped, "failed": self.failed,
            "errors": {str(k): v for k, v in sorted(self.errors.items())},
            "elapsed_s": round(self.elapsed_s, 3),
        }


def frames_in_scope(
    session: Session,
    *,
    file_id: int | None = None,
    video_id: int | None = None,
    shot_id: int | None = None,
    frame_id: int | None = None,
) -> list[int]:
    """Live frame ids of one script, video, shot or frame, in reading order, from current storyboards."""
    given = [name for name, value in (("file", file_id), ("video", video_id), ("shot", shot_id),
                                      ("frame", frame_id)) if value is not None]
    if len(given) != 1:
        raise ValidationError("Choose exactly one of a script, a video, a shot or a frame to refine")
    if frame_id is not None:
        return [load_live_frame(session, frame_id).id]
    stmt = (
        select(Frame.id)
        .join(Shot, Frame.shot_id == Shot.id)
        .join(Storyboard, Shot.storyboard_id == Storyboard.id)
        .join(Video, Storyboard.video_id == Video.id)
        .where(Frame.deleted_at.is_(None), Shot.deleted_at.is_(None))
        .order_by(Video.position, Shot.position, Shot.id, Frame.position, Frame.id)
    )
    if shot_id is not None:
        shot = session.get(Shot, shot_id)
        if shot is None or shot.deleted_at is not None:
            raise NotFoundError(f"Shot {shot_id} does not exist (or was deleted)")
        stmt = stmt.where(Shot.id == shot_id)
    elif video_id is not None:
        if session.get(Video, video_id) is None:
            raise NotFoundError(f"Video {video_id} does not exist")
        stmt = stmt.where(Video.id == video_id, Storyboard.is_current.is_(True))
    else:
        if session.get(SourceFile, file_id) is None:
            raise NotFoundError(f"Script {file_id} does not exist")
        stmt = stmt.where(Video.source_file_id == file_id, Storyboard.is_current.is_(True))
    return list(session.scalars(stmt))


@dataclass
class _Result:
    frame_id: int
    outcome: str
    error: str | None = None
    source_file_id: int | None = None
    pending: tuple[RefineRequest, str, RefinedPrompt] | None = None  # refined, not yet written


def _prepare(sessions: sessionmaker[Session], frame_id: int, refiner: Refiner,
             force: bool) -> tuple[_Result | None, RefineRequest | None, str]:
    """Read step: gate check, request, reuse. Returns a final result, or the request to send and its hash."""
    with session_scope(sessions) as session:
        lineage = load_lineage(session, frame_id)  # raises NotFoundError for a missing or deleted frame
        frame = lineage.frame
        req = request_for(session, lineage)
        if not force and approvals.frame_status(session, frame) in APPROVED_STATUSES:  # changed since: in review
            return _Result(frame_id, "skipped", source_file_id=req.source_file_id), None, ""
        digest = request_hash(req, refiner)
        if not force:
            existing = session.scalar(
                select(PromptVersion).where(PromptVersion.frame_id == frame_id, PromptVersion.input_hash == digest,
                                            PromptVersion.origin == "refined")
                .order_by(PromptVersion.number.desc()).limit(1))
            if existing is not None:
                _select_reused(session, frame, existing)
                return _Result(frame_id, "reused", source_file_id=req.source_file_id), None, digest
        return None, req, digest


def _select_reused(session: Session, frame: Frame, existing: PromptVersion) -> None:
    """A reused version is selected by the same rule as a fresh one (see versions.py)."""
    if frame.selected_prompt_id == existing.id or frame.review_status == "locked":
        return
    current = session.get(PromptVersion, frame.selected_prompt_id) if frame.selected_prompt_id else None
    if current is None or current.origin != "manual":
        frame.selected_prompt_id = existing.id


# Errors about the provider's set-up, not the frame: once seen, sending the other frames would only repeat them.
FATAL_CATEGORIES = ("auth", "config")


@dataclass
class _Shared:
    slots: threading.Semaphore
    fatal: list[str] = field(default_factory=list)  # the first set-up error, if any


def _refine_one(sessions: sessionmaker[Session], frame_id: int, refiner: Refiner, force: bool,
                actor: str, shared: _Shared) -> _Result:
    try:
        done, req, digest = _prepare(sessions, frame_id, refiner, force)
        if done is not None:
            return done
        assert req is not None
        with shared.slots:  # at most `concurrency` provider calls in flight; no session is open here
            if shared.fatal:
                return _Result(frame_id, "failed", f"Not sent: {shared.fatal[0]}")
            try:
                refined = refiner.refine(req)
            except ProviderError as err:
                if err.category in FATAL_CATEGORIES and not shared.fatal:
                    shared.fatal.append(str(err))
                raise
        return _Result(frame_id, "refined", source_file_id=req.source_file_id, pending=(req, digest, refined))
    except StudioError as err:
        return _Result(frame_id, "failed", str(err))
    except Exception as err:  # a bug or an unforeseen library error must not stop the other frames
        return _Result(frame_id, "failed", f"Unexpected error ({type(err).__name__}): {err}")


def _add_version(session: Session, result: _Result, refiner: Refiner, force: bool, actor: str) -> None:
    assert result.pending is not None
    req, digest, refined = result.pending
    add_refined_version(
        session, result.frame_id, refined, provider=refiner.name, model=refiner.model,
        template_version=refiner.template_version, input_hash=digest,
        inputs=input_snapshot(req, provider=refiner.name, model=refiner.model,
                              template_version=refiner.template_version),
        author=actor, force=force)


def _write(sessions: sessionmaker[Session], results: list[_Result], refiner: Refiner, force: bool,
           actor: str) -> None:
    """Store refined versions in one short transaction; if that fails, one by one, so a frame deleted
    meanwhile fails alone and the others are still saved."""
    try:
        with session_scope(sessions) as session:
            for result in results:
                _add_version(session, result, refiner, force, actor)
        return
    except Exception:
        pass
    for result in results:
        try:
            with session_scope(sessions) as session:
                _add_version(session, result, refiner, force, actor)
        except StudioError as err:
            result.outcome, result.error = "failed", f"The prompt could not be saved: {err}"
        except Exception as err:
            result.outcome, result.error = "failed", f"The prompt could not be saved ({type(err).__name__}): {err}"


def refine_frames(
    sessions: sessionmaker[Session],
    frame_ids: Iterable[int],
    refiner: Refiner,
    *,
    concurrency: int,
    force: bool = False,
    progress: ProgressFn | None = None,
    actor: str = "",
) -> BatchSummary:
    """Refine frames with at most `concurrency` requests in flight; `progress(done, total, frame_id, outcome)`
    is called on the calling thread as each frame finishes. One activity entry per script is logged at the end.
    """
    require("refine")
    ids = list(dict.fromkeys(frame_ids))
    summary = BatchSummary(provider=refiner.name, model=refiner.model)
    started = time.perf_counter()
    per_file: dict[int, dict[str, int]] = {}
    if ids:
        concurrency = max(1, concurrency)
        # A few more threads than provider slots: while `concurrency` calls are in flight, the spare threads
        # read the next frames' context, so database reads overlap the network wait (the slots, not the
        # threads, bound what the provider sees). New versions are written by this thread alone, in small
        # groups: one writer, never waiting on SQLite's lock, and one commit per group instead of per frame.
        workers = min(len(ids), concurrency + min(4, concurrency))
        shared = _Shared(slots=threading.Semaphore(concurrency))
        finished: queue.Queue[_Result] = queue.Queue()

        def run(fid: int) -> None:
            try:
                result = _refine_one(sessions, fid, refiner, force, actor, shared)
            except BaseException as err:  # never leave the collecting loop waiting for a frame
                result = _Result(fid, "failed", f"Unexpected error ({type(err).__name__}): {err}")
            finished.put(result)

        done = 0
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="refine") as pool:
            for fid in ids:
                pool.submit(run, fid)
            while done < len(ids):
                group = [finished.get()]
                while True:
                    try:
                        group.append(finished.get_nowait())
                    except queue.Empty:
                        break
                pending = [r for r in group if r.pending is not None]
                if pending:
                    _write(sessions, pending, refiner, force, actor)
                for result in group:
                    done += 1
                    summary.count(result.frame_id, result.outcome, result.error)
                    if result.source_file_id is not None:
                        counts = per_file.setdefault(result.source_file_id, {})
                        counts[result.outcome] = counts.get(result.outcome, 0) + 1
                    if progress is not None:
                        progress(done, len(ids), result.frame_id, result.outcome)
    summary.elapsed_s = time.perf_counter() - started
    if per_file:
        with session_scope(sessions) as session:
            for file_id, counts in per_file.items():
                log_activity(session, "prompts.refined", actor=actor, source_file_id=file_id,
                             subject_type="source_file", subject_id=file_id, provider=refiner.name,
                             model=refiner.model, forced=force, **counts)
    return summary
