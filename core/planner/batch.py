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
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.activity import log_activity
from core.authz import require
from core.board_layout import DEFAULT_WPM
from core.db import session_scope
from core.errors import GateError, NotFoundError, ProviderError, StudioError, ValidationError
from core.hashing import stable_hash
from core.models import CastMember, Shot, SourceFile, Storyboard, Video
from core.planner.estimate import PlanAdmission, PlanEstimate, admit_plan, estimate_requests
from core.planner.types import Planner, PlanRequest, ShotPlanReply
from core.prompts.style import find_style_bible, style_data
from core.sentences import locate_sentences
from core.storyboard_store import PlanToStore, place_marks, store_plans

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


@dataclass(frozen=True)
class VideoInputs:
    """One video as the batch plans it: the request, its input hash, and what the current board keeps."""

    video_id: int
    source_file_id: int
    request: PlanRequest
    digest: str
    reusable_id: int | None  # a version of the video planned from these very inputs, if any
    density: str
    pace_s: float | None


def load_inputs(session: Session, video_ids: Sequence[int], planner: Planner, *,
                force: bool = False, wpm: float = DEFAULT_WPM) -> list[VideoInputs]:
    """The planner's inputs for every video, in a constant number of queries (a batch reads them once, for the
    estimate and for sending): its numbered narration, the script's directions and scene marks (each placed at
    its sentence), the style bible, the cast, the video's title and its neighbours', the current board's counts
    as the hint."""
    ids = list(dict.fromkeys(video_ids))
    if not ids:
        return []
    videos = {v.id: v for v in session.scalars(select(Video).where(Video.id.in_(ids)))}
    missing = [v for v in ids if v not in videos]
    if missing:
        raise NotFoundError(f"Video {missing[0]} does not exist")
    boards = {b.video_id: b for b in session.scalars(
        select(Storyboard).where(Storyboard.video_id.in_(ids), Storyboard.is_current.is_(True)))}
    no_board = [v for v in ids if v not in boards]
    if no_board:
        raise NotFoundError(f"Video {no_board[0]} has no storyboard to plan over")
    files = {v.source_file_id for v in videos.values()}
    titles = {(f, pos): title for f, pos, title in session.execute(
        select(Video.source_file_id, Video.position, Video.title).where(Video.source_file_id.in_(files))).tuples()}
    courses = {f: t for f, t in session.execute(
        select(SourceFile.id, SourceFile.title).where(SourceFile.id.in_(files))).tuples()}
    cast: dict[int, list[str]] = {}
    for f, name in session.execute(select(CastMember.source_file_id, CastMember.name)
                                   .where(CastMember.source_file_id.in_(files)).order_by(CastMember.id)).tuples():
        cast.setdefault(f, []).append(name)
    styles = {f: style_data(find_style_bible(session, f)) for f in files}
    out: list[tuple[int, PlanRequest, Storyboard]] = []
    for vid in ids:
        video, board = videos[vid], boards[vid]
        located = locate_sentences(video.body)
        f = video.source_file_id
        scene_starts, placed = place_marks(located.starts, video.directions or [], video.scenes or [])
        placed = [(at, text) for at, text in placed if text]
        titled = [m for m in video.scenes or [] if isinstance(m, dict)]
        scenes = tuple(f"a new scene starts at sentence {at + 1}" + (f": {m.get('title')}" if m.get("title") else "")
                       for at, m in zip(scene_starts, titled))
        paced = board.density == "paced" and board.pace_s is not None
        out.append((vid, PlanRequest(
            sentences=tuple(located.texts), video_title=video.title, course_title=courses.get(f, ""),
            previous_video_title=titles.get((f, video.position - 1), ""),
            next_video_title=titles.get((f, video.position + 1), ""),
            directions=tuple(text for _at, text in placed), direction_at=tuple(at for at, _text in placed),
            scenes=scenes, scene_starts=tuple(scene_starts), cast=tuple(cast.get(f, ())), style=styles[f],
            shots=max(1, board.shots_requested), frames=max(1, min(3, board.frames_requested)),
            density="paced" if paced else "fixed", pace_s=board.pace_s if paced else None, wpm=wpm,
        ), board))
    digests = {vid: plan_input_hash(req, planner) for vid, req, _board in out}
    reusable: dict[int, int] = {}
    if not force:
        # The newest version planned from the same inputs, the current one first.
        for vid, bid, digest, _current, _version in session.execute(
                select(Storyboard.video_id, Storyboard.id, Storyboard.plan_input_hash, Storyboard.is_current,
                       Storyboard.version)
                .where(Storyboard.video_id.in_(ids), Storyboard.plan_input_hash.in_(set(digests.values())))
                .order_by(Storyboard.is_current.desc(), Storyboard.version.desc())).tuples():
            if digests[vid] == digest:
                reusable.setdefault(vid, bid)
    return [VideoInputs(vid, videos[vid].source_file_id, req, digests[vid], reusable.get(vid), board.density,
                        board.pace_s) for vid, req, board in out]


def plan_request_for(session: Session, video_id: int) -> PlanRequest:
    """What a planner is given for one video (see `load_inputs`)."""
    from core.planner.offline import OfflinePlanner

    return load_inputs(session, [video_id], OfflinePlanner(), force=True)[0].request


def plan_input_hash(req: PlanRequest, planner: Planner) -> str:
    """Everything that shapes a plan: the request, the planner, its model and template. Equal hash = reuse."""
    return stable_hash({"request": req.model_dump(mode="json"), "planner": planner.name, "model": planner.model,
                        "template": planner.template_version})


# ---- estimate -----------------------------------------------------------------------------------------------------

def _estimate(inputs: Sequence[VideoInputs], planner: Planner) -> PlanEstimate:
    offline = planner.name == "offline"
    sent = [i.request for i in inputs if i.reusable_id is None and i.request.sentences]
    reused = sum(1 for i in inputs if i.reusable_id is not None)
    if offline:
        return estimate_requests([(r, "") for r in sent], model="offline", system_prompt="", reused=reused)
    from core.planner.openai_planner import build_plan_message, load_plan_template

    return estimate_requests([(r, build_plan_message(r)) for r in sent], model=planner.model,
                             system_prompt=load_plan_template(planner.template_version), reused=reused)


def estimate_plan(session: Session, video_ids: Iterable[int], planner: Planner, *, force: bool = False,
                  wpm: float = DEFAULT_WPM) -> PlanEstimate:
    """Tokens × rate of planning these videos now; videos whose plan would be reused cost nothing."""
    return _estimate(load_inputs(session, list(video_ids), planner, force=force, wpm=wpm), planner)


def _admit(session: Session, inputs: Sequence[VideoInputs], planner: Planner) -> tuple[PlanEstimate, PlanAdmission]:
    est = _estimate(inputs, planner)
    if not inputs:
        return est, PlanAdmission(False, "blocked", "Nothing to plan: no videos")
    return est, admit_plan(session, inputs[0].source_file_id, est)


def admission_for(session: Session, video_ids: list[int], planner: Planner, *, force: bool = False,
                  wpm: float = DEFAULT_WPM) -> tuple[PlanEstimate, PlanAdmission]:
    """The estimate and the budget's verdict for planning `video_ids` (all of one script); `wpm` paces a paced
    board's offline plan (the settings' speaking rate)."""
    return _admit(session, load_inputs(session, video_ids, planner, force=force, wpm=wpm), planner)


# ---- the batch ----------------------------------------------------------------------------------------------------

@dataclass
class _Result:
    inputs: VideoInputs
    outcome: Outcome
    reason: str = ""
    storyboard_id: int | None = None
    reply: ShotPlanReply | None = None  # planned, not yet stored

    @property
    def video_id(self) -> int:
        return self.inputs.video_id


class _Slots:
    """At most `concurrency` requests in flight, held around each request only (the planner's `gate`); once a
    fatal error was seen (a bad key, a wrong setting), a request waiting for a slot is not sent."""

    def __init__(self, concurrency: int) -> None:
        self._free = threading.Semaphore(max(1, concurrency))
        self.fatal: list[str] = []

    def __enter__(self) -> None:
        self._free.acquire()
        if self.fatal:
            self._free.release()
            raise ProviderError(f"Not sent: {self.fatal[0]}", category="not_sent")

    def __exit__(self, *exc: object) -> None:
        self._free.release()

    def note(self, err: ProviderError) -> None:
        if err.category in FATAL_CATEGORIES and not self.fatal:
            self.fatal.append(str(err))


def _plan_one(inputs: VideoInputs, planner: Planner, slots: _Slots) -> _Result:
    """The planner call for one video, with no database session open. While one video's request waits for the
    provider, the next video's message is built and the previous reply checked, outside the slots: a slot goes
    to the next request the moment a reply is in."""
    if slots.fatal:
        return _Result(inputs, "fell_back", f"Not sent: {slots.fatal[0]}")
    try:
        try:
            reply = planner.plan(inputs.request, gate=slots)
        except ProviderError as err:
            slots.note(err)
            raise
        return _Result(inputs, "planned", reply=reply)
    except StudioError as err:
        return _Result(inputs, "fell_back", str(err))
    except Exception as err:  # a bug or an unforeseen library error must not stop the other videos
        return _Result(inputs, "fell_back", f"Unexpected error ({type(err).__name__}): {err}")


def _to_store(result: _Result, planner: Planner) -> PlanToStore:
    assert result.reply is not None
    inputs, req = result.inputs, result.inputs.request
    return PlanToStore(inputs.video_id, result.reply, planner=planner.name, model=planner.model,
                       template_version=planner.template_version, density=inputs.density, pace_s=inputs.pace_s,
                       input_hash=inputs.digest, shots_requested=req.shots, frames_requested=req.frames)


def _assign_cast(session: Session, result: _Result, board: Storyboard) -> None:
    """The cast the plan names, on the new board's shots; names not in the style bible are noted, not assigned."""
    from core.cast import assign_cast

    assert result.reply is not None
    reply = result.reply
    if not any(shot.cast for shot in reply.shots):
        return
    known = set(result.inputs.request.cast)
    missing = sorted({n for shot in reply.shots for n in shot.cast if n not in known})
    shots = list(session.scalars(select(Shot.id).where(Shot.storyboard_id == board.id).order_by(Shot.position)))
    for shot_id, planned in zip(shots, reply.shots):
        names = [n for n in dict.fromkeys(planned.cast) if n in known]
        if names:
            assign_cast(session, shot_id, names)
    if missing:
        board.note = f"The plan named cast that is not in the style bible (not assigned): {', '.join(missing)}"


def _settle(session: Session, results: Sequence[_Result], planner: Planner, actor: str) -> None:
    """What finished videos change on the board: their new plans (stored together, in one round of INSERTs), a
    reused version made current again, or the reason a video fell back noted on the storyboard it keeps."""
    planned = [r for r in results if r.outcome == "planned"]
    boards = store_plans(session, [_to_store(r, planner) for r in planned], actor=actor)
    for result, board in zip(planned, boards):
        result.storyboard_id = board.id
        _assign_cast(session, result, board)
    for result in results:
        if result.outcome == "reused" and result.storyboard_id is not None:
            reused = session.get(Storyboard, result.storyboard_id)
            if reused is not None and not reused.is_current:
                from core.library import set_current_storyboard

                set_current_storyboard(session, reused.id, actor=actor)
        elif result.outcome == "fell_back":
            kept = _current_board(session, result.video_id)
            kept.note = (f"Not re-planned by {planner.name} ({planner.model}): {result.reason} "
                         f"This storyboard (version {kept.version}) is unchanged.")
            result.storyboard_id = kept.id


def _write(sessions: sessionmaker[Session], results: list[_Result], planner: Planner, actor: str) -> None:
    """Settle finished videos in one short transaction; if that fails, one by one, so a video whose plan the store
    refuses falls back alone (its storyboard as it was, with the reason) and the others are still stored."""
    try:
        with session_scope(sessions) as session:
            _settle(session, results, planner, actor)
        return
    except Exception:  # noqa: BLE001 - retried one by one below, where each failure gets its own reason
        pass
    for result in results:
        try:
            with session_scope(sessions) as session:
                _settle(session, [result], planner, actor)
            continue
        except StudioError as err:
            reason = str(err)
        except Exception as err:
            reason = f"The plan could not be stored ({type(err).__name__}): {err}"
        if result.outcome != "planned":
            continue  # only a note was lost
        result.outcome, result.reason, result.reply, result.storyboard_id = "fell_back", reason, None, None
        try:
            with session_scope(sessions) as session:
                _settle(session, [result], planner, actor)
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
    wpm: float = DEFAULT_WPM,
) -> PlanSummary:
    """Plan videos of one script with at most `concurrency` planner calls in flight; `progress(done, total,
    video_id, outcome)` is called on the calling thread as each video finishes. The estimate is checked against
    the script's budget first: a refusal (`GateError`, category "budget") plans nothing."""
    require("edit")
    summary = PlanSummary(provider=planner.name, model=planner.model)
    started = time.perf_counter()
    with session_scope(sessions) as session:
        inputs = load_inputs(session, list(video_ids), planner, force=force, wpm=wpm)
        if not inputs:
            return summary
        source = session.get(SourceFile, inputs[0].source_file_id)
        gated = check_budget and source is not None and source.budget_usd is not None
        if gated:  # with a budget, nothing is sent before the estimate is admitted
            summary.estimate, verdict = _admit(session, inputs, planner)
            if not verdict.admitted:
                raise GateError(verdict.reason, category="budget")
    finished: queue.Queue[_Result] = queue.Queue()
    to_send = []
    for item in inputs:
        if item.reusable_id is not None:
            finished.put(_Result(item, "reused", storyboard_id=item.reusable_id))
        elif not item.request.sentences:
            finished.put(_Result(item, "fell_back", "the video has no narration to plan"))
        else:
            to_send.append(item)
    slots = _Slots(concurrency)

    def run(item: VideoInputs) -> None:
        try:
            result = _plan_one(item, planner, slots)
        except BaseException as err:  # never leave the collecting loop waiting for a video
            result = _Result(item, "fell_back", f"Unexpected error ({type(err).__name__}): {err}")
        finished.put(result)

    total = len(inputs)
    done = 0
    # More threads than slots: each waits for a slot with its message built, and checks its reply after giving
    # the slot back. The requests in flight stay bounded by `slots`.
    with ThreadPoolExecutor(max_workers=max(1, min(len(to_send), 2 * max(1, concurrency))),
                            thread_name_prefix="plan") as pool:
        for item in to_send:
            pool.submit(run, item)
        while done < total:
            try:
                group = [finished.get(timeout=0.05 if summary.estimate is None else None)]
            except queue.Empty:
                # Without a budget the estimate is only reported: priced once the requests are out and waiting.
                summary.estimate = _estimate(inputs, planner)
                continue
            while True:
                try:
                    group.append(finished.get_nowait())
                except queue.Empty:
                    break
            # One writer (this thread), a few videos per tiny transaction: SQLite's lock is never contended
            # by the batch itself, and one commit serves every video that finished meanwhile.
            _write(sessions, group, planner, actor)
            for result in group:
                done += 1
                summary.count(result.video_id, result.outcome, result.reason or None)
                if result.storyboard_id is not None:
                    summary.storyboards[result.video_id] = result.storyboard_id
                if progress is not None:
                    progress(done, total, result.video_id, result.outcome)
    if summary.estimate is None:
        summary.estimate = _estimate(inputs, planner)
    summary.elapsed_s = time.perf_counter() - started
    with session_scope(sessions) as session:
        file_id = inputs[0].source_file_id
        log_activity(session, "storyboards.planned", actor=actor, source_file_id=file_id, subject_type="source_file",
                     subject_id=file_id, provider=planner.name, model=planner.model, planned=summary.planned,
                     reused=summary.reused, fell_back=summary.fell_back,
                     estimate_usd=summary.estimate.usd if summary.estimate else 0.0)
    return summary
