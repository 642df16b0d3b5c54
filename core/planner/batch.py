"""Planning many videos: bounded concurrency, an estimate and the budget gate first, reuse of unchanged inputs, and
per-video outcomes that never stop the batch.

Each video goes through three steps, as prompt refinement does (`core.prompts.batch`): (1) a worker's read session
builds the `PlanRequest` and its input hash — when a version of the video's storyboard was planned from the very
same inputs (same planner, model and template), that version is reused, not paid again; (2) the worker asks the
planner with no database session open; (3) the calling thread stores the plan (`core.storyboard_store.store_plan`)
and the cast it names, in one transaction per video. A plan that is still invalid after the planner's one re-ask,
a refusal, or a provider that keeps failing leaves the video's storyboard as it was, with the reason on it
(`storyboards.note`): nothing is ever half-applied.
"""

from __future__ import annotations

import queue
import threading
import time
from bisect import bisect_right
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.activity import log_activity
from core.authz import require
from core.db import session_scope
from core.errors import GateError, NotFoundError, ProviderError, StudioError, ValidationError
from core.hashing import stable_hash
from core.models import CastMember, Shot, SourceFile, Storyboard, Video
from core.planner.estimate import PlanAdmission, PlanEstimate, admit_plan, estimate_requests
from core.planner.types import Planner, PlanRequest, ShotPlanReply
from core.prompts.style import find_style_bible, style_data
from core.sentences import locate_sentences

Outcome = Literal["planned", "reused", "fell_back"]
ProgressFn = Callable[[int, int, int, str], None]
FATAL_CATEGORIES = ("auth", "config")  # once seen, asking for the other videos would only repeat it


@dataclass
class PlanSummary:
    """Counts per outcome, every fallback's reason, the new storyboard of each planned video."""

    provider: str = ""
    model: str = ""
    planned: int = 0
    reused: int = 0
    fell_back: int = 0
    reasons: dict[int, str] = field(default_factory=dict)  # video id → why its plan was not applied
    outcomes: dict[int, str] = field(default_factory=dict)
    storyboards: dict[int, int] = field(default_factory=dict)  # video id → its current storyboard id
    estimate: PlanEstimate | None = None
    elapsed_s: float = 0.0

    @property
    def total(self) -> int:
        return self.planned + self.reused + self.fell_back

    def count(self, video_id: int, outcome: Outcome, reason: str | None = None) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)
        self.outcomes[video_id] = outcome
        if reason:
            self.reasons[video_id] = reason

    def to_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider, "model": self.model, "total": self.total, "planned": self.planned,
            "reused": self.reused, "fell_back": self.fell_back,
            "reasons": {str(k): v for k, v in sorted(self.reasons.items())},
            "storyboards": {str(k): v for k, v in sorted(self.storyboards.items())},
            "estimate": self.estimate.to_json() if self.estimate else None,
            "elapsed_s": round(self.elapsed_s, 3),
        }


# ---- scope and inputs ---------------------------------------------------------------------------------------------

def videos_in_scope(session: Session, *, file_id: int | None = None, video_id: int | None = None) -> list[int]:
    """The video, or every video of the script in order."""
    if (file_id is None) == (video_id is None):
        raise ValidationError("Choose exactly one of a script (--file) or a video (--video) to plan")
    if video_id is not None:
        if session.get(Video, video_id) is None:
            raise NotFoundError(f"Video {video_id} does not exist")
        return [video_id]
    if session.get(SourceFile, file_id) is None:
        raise NotFoundError(f"Script {file_id} does not exist")
    return list(session.scalars(select(Video.id).where(Video.source_file_id == file_id).order_by(Video.position)))


def _current_board(session: Session, video_id: int) -> Storyboard:
    board = session.scalar(select(Storyboard).where(Storyboard.video_id == video_id, Storyboard.is_current.is_(True)))
    if board is None:
        raise NotFoundError(f"Video {video_id} has no storyboard to plan over")
    return board


def _at_sentence(starts: list[int], at: int) -> int:
    """The 1-based number of the sentence standing at offset `at` of the body (the next one when between)."""
    return max(1, min(len(starts), bisect_right(starts, at - 1) + 1)) if starts else 1


def plan_request_for(session: Session, video_id: int) -> PlanRequest:
    """What a planner is given for a video: its numbered narration, the script's directions and scene marks (each
    placed at its sentence), the style bible, the cast, the video's title and its neighbours', and the current
    board's counts as the hint."""
    video = session.get(Video, video_id)
    if video is None:
        raise NotFoundError(f"Video {video_id} does not exist")
    board = _current_board(session, video_id)
    located = locate_sentences(video.body)
    titles: dict[int, str] = {pos: title for pos, title in session.execute(
        select(Video.position, Video.title).where(Video.source_file_id == video.source_file_id)).tuples()}
    source = session.get(SourceFile, video.source_file_id)
    starts = located.starts
    directions = tuple(f"(at sentence {_at_sentence(starts, int(d.get('at', 0)))}) {str(d.get('text', '')).strip()}"
                       for d in video.directions or [] if isinstance(d, dict) and str(d.get("text", "")).strip())
    scenes = tuple(f"a new scene starts at sentence {_at_sentence(starts, int(m.get('at', 0)))}"
                   + (f": {m.get('title')}" if m.get("title") else "")
                   for m in video.scenes or [] if isinstance(m, dict))
    cast = tuple(session.scalars(select(CastMember.name).where(CastMember.source_file_id == video.source_file_id)
                                 .order_by(CastMember.id)))
    return PlanRequest(
        sentences=tuple(located.texts), video_title=video.title, course_title=source.title if source else "",
        previous_video_title=titles.get(video.position - 1, ""), next_video_title=titles.get(video.position + 1, ""),
        directions=directions, scenes=scenes, cast=cast,
        style=style_data(find_style_bible(session, video.source_file_id)),
        shots=max(1, board.shots_requested), frames=max(1, min(3, board.frames_requested)),
    )


def plan_input_hash(req: PlanRequest, planner: Planner) -> str:
    """Everything that shapes a plan: the request, the planner, its model and template. Equal hash = reuse."""
    return stable_hash({"request": req.model_dump(mode="json"), "planner": planner.name, "model": planner.model,
                        "template": planner.template_version})


def _reusable_board(session: Session, video_id: int, digest: str) -> Storyboard | None:
    """The newest version of the video planned from these very inputs (the current one first)."""
    boards = list(session.scalars(select(Storyboard).where(Storyboard.video_id == video_id,
                                                           Storyboard.plan_input_hash == digest)
                                  .order_by(Storyboard.is_current.desc(), Storyboard.version.desc())))
    return boards[0] if boards else None


# ---- estimate -----------------------------------------------------------------------------------------------------

def estimate_plan(session: Session, video_ids: Iterable[int], planner: Planner, *, force: bool = False) -> PlanEstimate:
    """Tokens × rate of planning these videos now; videos whose plan would be reused cost nothing."""
    sent: list[tuple[PlanRequest, str]] = []
    reused = 0
    offline = planner.name == "offline"
    if not offline:
        from core.planner.openai_planner import build_plan_message, load_plan_template
    for vid in video_ids:
        req = plan_request_for(session, vid)
        if not req.sentences:
            continue
        if not force and _reusable_board(session, vid, plan_input_hash(req, planner)) is not None:
            reused += 1
            continue
        sent.append((req, "" if offline else build_plan_message(req)))
    system = "" if offline else load_plan_template(planner.template_version)
    return estimate_requests(sent, model="offline" if offline else planner.model, system_prompt=system,
                             reused=reused)


def admission_for(session: Session, video_ids: list[int], planner: Planner, *,
                  force: bool = False) -> tuple[PlanEstimate, PlanAdmission]:
    """The estimate and the budget's verdict for planning `video_ids` (all of one script)."""
    est = estimate_plan(session, video_ids, planner, force=force)
    if not video_ids:
        return est, PlanAdmission(False, "blocked", "Nothing to plan: no videos")
    video = session.get(Video, video_ids[0])
    assert video is not None
    return est, admit_plan(session, video.source_file_id, est)


# ---- the batch ----------------------------------------------------------------------------------------------------

@dataclass
class _Result:
    video_id: int
    outcome: Outcome
    reason: str = ""
    storyboard_id: int | None = None
    pending: tuple[PlanRequest, str, ShotPlanReply] | None = None


def _plan_one(sessions: sessionmaker[Session], video_id: int, planner: Planner, force: bool,
              slots: threading.Semaphore, fatal: list[str]) -> _Result:
    try:
        with session_scope(sessions) as session:
            req = plan_request_for(session, video_id)
            digest = plan_input_hash(req, planner)
            prior = None if force else _reusable_board(session, video_id, digest)
            if prior is not None:
                return _Result(video_id, "reused", storyboard_id=prior.id)
        if not req.sentences:
            return _Result(video_id, "fell_back", "the video has no narration to plan")
        with slots:  # at most `concurrency` planner calls in flight; no session is open here
            if fatal:
                return _Result(video_id, "fell_back", f"Not sent: {fatal[0]}")
            try:
                reply = planner.plan(req)
            except ProviderError as err:
                if err.category in FATAL_CATEGORIES and not fatal:
                    fatal.append(str(err))
                raise
        return _Result(video_id, "planned", pending=(req, digest, reply))
    except StudioError as err:
        return _Result(video_id, "fell_back", str(err))
    except Exception as err:  # a bug or an unforeseen library error must not stop the other videos
        return _Result(video_id, "fell_back", f"Unexpected error ({type(err).__name__}): {err}")


def _store(session: Session, result: _Result, planner: Planner, actor: str) -> None:
    from core.cast import assign_cast
    from core.storyboard_store import store_plan

    assert result.pending is not None
    req, digest, reply = result.pending
    current = _current_board(session, result.video_id)
    board = store_plan(session, result.video_id, reply, planner=planner.name, model=planner.model,
                       template_version=planner.template_version, density=current.density, pace_s=current.pace_s,
                       input_hash=digest, actor=actor, shots_requested=req.shots, frames_requested=req.frames)
    known = set(req.cast)
    missing: list[str] = []
    shots = list(session.scalars(select(Shot).where(Shot.storyboard_id == board.id).order_by(Shot.position)))
    for shot, planned in zip(shots, reply.shots):
        names = [n for n in dict.fromkeys(planned.cast) if n in known]
        missing += [n for n in planned.cast if n not in known and n not in missing]
        if names:
            assign_cast(session, shot.id, names)
    if missing:
        board.note = f"The plan named cast that is not in the style bible (not assigned): {', '.join(missing)}"
    result.storyboard_id = board.id


def _note_fallback(session: Session, video_id: int, planner: Planner, reason: str) -> None:
    board = session.scalar(select(Storyboard).where(Storyboard.video_id == video_id, Storyboard.is_current.is_(True)))
    if board is not None:
        board.note = (f"Not re-planned by {planner.name} ({planner.model}): {reason} "
                      f"This storyboard (version {board.version}) is unchanged.")


def _write(sessions: sessionmaker[Session], result: _Result, planner: Planner, actor: str) -> None:
    """Store one video's plan in its own transaction; any failure leaves the video as it was, with the reason."""
    if result.pending is not None:
        try:
            with session_scope(sessions) as session:
                _store(session, result, planner, actor)
            return
        except StudioError as err:
            result.outcome, result.reason = "fell_back", str(err)
        except Exception as err:
            result.outcome, result.reason = "fell_back", f"The plan could not be stored ({type(err).__name__}): {err}"
    if result.outcome == "reused" and result.storyboard_id is not None:
        with session_scope(sessions) as session:
            board = session.get(Storyboard, result.storyboard_id)
            if board is not None and not board.is_current:
                from core.library import set_current_storyboard

                set_current_storyboard(session, board.id, actor=actor)
        return
    if result.outcome == "fell_back":
        try:
            with session_scope(sessions) as session:
                _note_fallback(session, result.video_id, planner, result.reason)
                result.storyboard_id = _current_board(session, result.video_id).id
        except StudioError:
            pass


def plan_videos(
    sessions: sessionmaker[Session],
    video_ids: Iterable[int],
    planner: Planner,
    *,
    concurrency: int = 4,
    force: bool = False,
    progress: ProgressFn | None = None,
    actor: str = "",
    check_budget: bool = True,
) -> PlanSummary:
    """Plan videos of one script with at most `concurrency` planner calls in flight; `progress(done, total,
    video_id, outcome)` is called on the calling thread as each video finishes. The estimate is checked against
    the script's budget first: a refusal (`GateError`, category "budget") plans nothing."""
    require("edit")
    ids = list(dict.fromkeys(video_ids))
    summary = PlanSummary(provider=planner.name, model=planner.model)
    started = time.perf_counter()
    with session_scope(sessions) as session:
        est, verdict = admission_for(session, ids, planner, force=force) if ids else (None, None)
    summary.estimate = est
    if check_budget and verdict is not None and not verdict.admitted:
        raise GateError(verdict.reason, category="budget")
    if ids:
        slots = threading.Semaphore(max(1, concurrency))
        fatal: list[str] = []
        finished: queue.Queue[_Result] = queue.Queue()

        def run(vid: int) -> None:
            try:
                result = _plan_one(sessions, vid, planner, force, slots, fatal)
            except BaseException as err:  # never leave the collecting loop waiting for a video
                result = _Result(vid, "fell_back", f"Unexpected error ({type(err).__name__}): {err}")
            finished.put(result)

        # A couple more threads than slots, so the next videos' reads overlap the network wait.
        workers = min(len(ids), max(1, concurrency) + 2)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="plan") as pool:
            for vid in ids:
                pool.submit(run, vid)
            for done in range(1, len(ids) + 1):
                result = finished.get()
                _write(sessions, result, planner, actor)
                summary.count(result.video_id, result.outcome, result.reason or None)
                if result.storyboard_id is not None:
                    summary.storyboards[result.video_id] = result.storyboard_id
                if progress is not None:
                    progress(done, len(ids), result.video_id, result.outcome)
    summary.elapsed_s = time.perf_counter() - started
    if ids:
        with session_scope(sessions) as session:
            video = session.get(Video, ids[0])
            log_activity(session, "storyboards.planned", actor=actor,
                         source_file_id=video.source_file_id if video else None, subject_type="source_file",
                         subject_id=video.source_file_id if video else None, provider=planner.name,
                         model=planner.model, planned=summary.planned, reused=summary.reused,
                         fell_back=summary.fell_back, estimate_usd=est.usd if est else 0.0)
    return summary
