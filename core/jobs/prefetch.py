"""What a batch of requests over one board reads, read once: for estimates drawn on every page run.

A request for one frame or shot reads its prompt, its images, its video and style bible, its cast references,
the shot it is chained to and the jobs already there for the same inputs — one query each. A page that prices a
whole video ("Render all", one "Approve and render clip" per shot, "Voice all") would make hundreds of them on
every run. `warm` reads them for all the board's shots at once, into the batch's `lookups` (and the session's
identity map, so `session.get` of a prompt or an image is no query). The request functions themselves are
unchanged: they ask `planning.memo` and `JobIndex` what they would otherwise ask the database, so an estimate
still runs the very request it prices.

The job index is for dry runs only: a real request reads the queue under the write lock (`core.db.begin_sqlite`), after
anything another writer committed, and must not answer from an earlier read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from core.jobs import planning
from core.models import JOB_ACTIVE, Asset, Job, PromptVersion, Shot, SourceFile, Storyboard, StyleBible, Video
from core.review import current_shots

JOBS_KEY = ("jobs", 0)
_KEPT_KEY = ("kept", 0)
_FRAMES_KEY = ("frames warmed", 0)


@dataclass
class JobIndex:
    """The jobs of a set of frames and shots by input hash (every input hash names its frame or shot, so these
    are all the jobs a request over them can find): the newest in flight, the newest finished with a take."""

    active: dict[str, Job] = field(default_factory=dict)
    reusable: dict[str, Job] = field(default_factory=dict)
    shots: frozenset[int] = frozenset()  # the shots whose jobs (and their frames' jobs) it holds

    def covers(self, shot_ids: Sequence[int]) -> bool:
        return set(shot_ids) <= self.shots

    def in_flight(self, input_hash: str, kind: str | None = None) -> Job | None:
        job = self.active.get(input_hash)
        return job if job is not None and (kind is None or job.kind == kind) else None

    def finished(self, input_hash: str) -> Job | None:
        return self.reusable.get(input_hash)


def board_shots(session: Session, video_id: int, lookups: planning.Lookups | None) -> list[Shot]:
    """A video's live shots (`core.review.current_shots`, three queries), read once per dry batch: a page's
    estimates in one session (images, clips, voices, one-click prices, the pre-checks) all start from them."""
    shots: list[Shot] = planning.memo(lookups, ("current shots", video_id), lambda: current_shots(session, video_id))
    return shots


def job_index(lookups: planning.Lookups) -> JobIndex | None:
    """The batch's job index, when `warm` read one."""
    found = lookups.get(JOBS_KEY)
    return found if isinstance(found, JobIndex) else None


def warm(session: Session, shots: Sequence[Shot], lookups: planning.Lookups, *, jobs: bool,
         frames: bool = True) -> None:
    """Read for these shots what their requests would read one by one; `jobs` also indexes the jobs already there
    (dry runs only, see the module's note). Without `frames`, only what shot-level requests (voices) read. Lookups
    that a warm with frames already filled for these shots are left as they are (one read for a page's prices)."""
    live = [s for s in shots if s.deleted_at is None]
    if not live:
        return
    index = job_index(lookups)
    if index is not None and index.covers([s.id for s in live]) and lookups.get(_FRAMES_KEY):
        return
    keyframes = [f for s in live for f in planning.live_frames(s)] if frames else []
    prompt_ids = {f.selected_prompt_id for f in keyframes if f.selected_prompt_id}
    asset_ids = {f.selected_image_id for f in keyframes if f.selected_image_id}
    asset_ids |= {i for s in live for i in (s.selected_clip_id, s.selected_voice_id) if i}
    # The identity map holds rows weakly: keep them referenced for as long as the batch lives.
    kept: list[object] = list(lookups.get(_KEPT_KEY, []))
    if prompt_ids:
        kept += session.scalars(select(PromptVersion).where(PromptVersion.id.in_(prompt_ids))).all()
    if asset_ids:
        kept += session.scalars(select(Asset).where(Asset.id.in_(asset_ids))).all()
    lookups[_KEPT_KEY] = kept
    if frames:
        lookups[_FRAMES_KEY] = True
    _warm_boards(session, live, lookups)
    if jobs:
        lookups[JOBS_KEY] = _index(session, [f.id for f in keyframes], [s.id for s in live])


def _warm_boards(session: Session, shots: Sequence[Shot], lookups: planning.Lookups) -> None:
    """Per board: its video, script and style bible; per shot: its script, cast references and chained shot."""
    from core.cast import cast_of_shots, references_of
    from core.continuity import chain_links

    by_board: dict[int, list[Shot]] = {}
    for shot in shots:
        by_board.setdefault(shot.storyboard_id, []).append(shot)
    rows = session.execute(select(Storyboard.id, Video, SourceFile).join(Video, Video.id == Storyboard.video_id)
                           .join(SourceFile, SourceFile.id == Video.source_file_id)
                           .where(Storyboard.id.in_(list(by_board)))).tuples().all()
    bibles = {b.source_file_id: b for b in session.scalars(
        select(StyleBible).where(StyleBible.source_file_id.in_({source.id for _b, _v, source in rows})))}
    chained = [board_id for board_id, _video, source in rows if source.chain_shots]
    whole: dict[int, list[Shot]] = {}  # every live shot of a chained board, whichever of them were asked for
    if chained:
        for shot in session.scalars(select(Shot).where(Shot.storyboard_id.in_(chained), Shot.deleted_at.is_(None))
                                    .order_by(Shot.position, Shot.id)):
            whole.setdefault(shot.storyboard_id, []).append(shot)
    for board_id, video, source in rows:
        lookups[("video", board_id)] = video
        lookups[("bible", source.id)] = bibles.get(source.id)
        choices = cast_of_shots(session, source.id, by_board[board_id])
        links = chain_links(whole.get(board_id, []), enabled=source.chain_shots)
        for shot in by_board[board_id]:
            lookups[("file", shot.id)] = source.id
            lookups[("refs", shot.id)] = [r.as_param() for r in references_of(choices[shot.id].members)]
            lookups[("chained", shot.id)] = links.get(shot.id)


def _index(session: Session, frame_ids: list[int], shot_ids: list[int]) -> JobIndex:
    mine = or_(Job.frame_id.in_(frame_ids), Job.shot_id.in_(shot_ids)) if frame_ids else Job.shot_id.in_(shot_ids)
    index = JobIndex(shots=frozenset(shot_ids))
    for job in session.scalars(select(Job).where(mine, Job.status.in_(JOB_ACTIVE)).order_by(Job.id)):
        index.active[job.input_hash] = job  # ascending ids: the newest wins, as `_in_flight` orders them
    with_take = exists().where(Asset.job_id == Job.id, Asset.discarded_at.is_(None))
    for job in session.scalars(select(Job).where(mine, Job.status == "succeeded", with_take).order_by(Job.id)):
        index.reusable[job.input_hash] = job
    return index
