"""A video's board, read once: the one read model the studio pages, the exports, the API and `show` share.

A board is a storyboard version as plain frozen values: its shots (narration, directions, plan fields, cast, the
selected clip and the newest clip job) and their live frames (scene text, beat, the selected prompt and image, the
newest image job), the review state, and three staleness answers computed by one set of rules:

- **prompt** — the selected prompt's stored input hashes against today's inputs (`core.prompts.context`): the
  frame's scene text, its shot context, the style bible, the template. `missing` when no prompt is selected.
- **image** — stale when the selected image was rendered from another prompt version than the selected one, or
  from the selected prompt while that prompt is stale. `missing` when no image is selected.
- **clip** — stale when the clip started (or ended) on an image that is no longer the selected image of the
  shot's first (or last) live frame, or when one of those images is stale. `missing` when no clip is selected.
- **voice** — stale when the selected narration audio no longer says what the shot says today (its narration
  after today's lexicon: an unused lexicon entry changes nothing), or was said by another provider than the
  course names, or in another voice or speed than the course's (`voice_freshness`). `missing` when the shot has
  no audio.

The review state is the one everyone reads (`core.approvals`): an approved or locked frame or shot whose content is
no longer what was approved reads `review_status == "changed"` (Changed since approved), with what changed in
`approval_changes`, so the studio, the API and the exports never call changed work approved.

The clip gate (may a clip be rendered?) is `BoardShot.clip_block_reason(relax=…)`, the same rule the render
queue enforces (`core.review.clip_gate`); `relax` is the ALLOW_UNAPPROVED_CLIPS setting.

Loading costs a constant number of SQL statements whatever the number of shots and videos: one for the script
(or storyboard) header, one for the grid of shots × frames with everything hanging off them, and one more for
the review comments when asked for. Markdown escaping and file paths are the drawer's business, not the data's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from itertools import groupby
from typing import Any, Literal, NamedTuple

from sqlalchemy import ColumnElement, Row, String, and_, bindparam, cast, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from core.errors import NotFoundError
from core.models import (
    Asset,
    CastMember,
    Comment,
    Frame,
    Job,
    PromptVersion,
    Shot,
    ShotCast,
    SourceFile,
    Storyboard,
    StyleBible,
    Video,
)
from core.prompts.context import BoardOrder, BoardSlot, StoredPrompt, part_label, request_in_board, stored_staleness
from core.prompts.style import style_data
from core.voice.style import VoiceStyle, spoken_text, voice_for_provider, voice_style
from core.approvals import APPROVED, CHANGED, effective_status, frame_parts, shot_parts
from core.approvals import changes as approval_changes
from core.review import clip_gate

StaleState = Literal["missing", "fresh", "stale"]
_CAST_SEP = "\x1f"  # names are whitespace-normalised (core.cast), so never contain this separator


@dataclass(frozen=True)
class Freshness:
    """Whether a frame's prompt or image, or a shot's clip, still matches what it was made from."""

    state: StaleState
    reasons: tuple[str, ...] = ()  # what changed, in words, when stale

    @property
    def stale(self) -> bool:
        return self.state == "stale"

    def describe(self) -> str:
        if self.state == "missing":
            return "none yet"
        if self.state == "fresh":
            return "up to date"
        return "stale: " + "; ".join(self.reasons)

    def as_json(self) -> dict[str, Any]:
        return {"state": self.state, "reasons": list(self.reasons)}


MISSING = Freshness("missing")
FRESH = Freshness("fresh")


@dataclass(frozen=True)
class JobState:
    """The newest render job of a frame (image) or shot (clip): what a status chip shows."""

    id: int
    status: str
    error: str | None
    category: str | None


@dataclass(frozen=True)
class Note:
    """One comment of a frame's or shot's review thread."""

    author: str
    body: str
    at: datetime | None


@dataclass(frozen=True)
class BoardFrame:
    id: int
    shot_id: int
    position: int
    scene_text: str  # what the frame shows (its keyframe)
    beat: str  # the stretch of narration it illustrates
    review_status: str
    lock_version: int
    prompt_id: int | None
    prompt_number: int | None
    prompt_text: str
    image_id: int | None
    image_key: str | None  # the selected image's storage key
    image_job: JobState | None
    prompt_freshness: Freshness
    image_freshness: Freshness
    comments: tuple[Note, ...] = ()
    approval_changes: tuple[str, ...] = ()  # what changed since it was approved (review_status "changed")


@dataclass(frozen=True)
class BoardShot:
    id: int
    position: int
    summary: str
    narration: str  # what is said over this shot: its stretch of the video's narration
    directions: tuple[str, ...]  # what is seen or done in the edit: never spoken
    scene: int | None
    shot_size: str
    camera_move: str
    subject: str
    action: str
    location: str
    on_screen_text: str
    motion_prompt: str
    chain_break: bool
    review_status: str
    lock_version: int
    frames: tuple[BoardFrame, ...]
    clip_id: int | None
    clip_key: str | None
    clip_duration_s: float | None
    clip_job: JobState | None
    clip_freshness: Freshness
    cast: tuple[str, ...]  # names of the cast members and sets the shot shows
    cast_is_default: bool  # True when nobody chose: the course's presenter
    comments: tuple[Note, ...] = ()
    voice_id: int | None = None  # the selected narration audio take (core.voice)
    voice_key: str | None = None
    voice_duration_s: float | None = None  # once set, the shot's length everywhere (core.exports.timing)
    voice_job: JobState | None = None
    voice_freshness: Freshness = MISSING
    approval_changes: tuple[str, ...] = ()  # what changed since it was approved (review_status "changed")

    def clip_block_reason(self, *, relax: bool) -> str | None:
        """Why a clip may not be rendered for this shot now, or None (`relax`: ALLOW_UNAPPROVED_CLIPS)."""
        return clip_gate(self.position, self.review_status, [(f.position, f.review_status) for f in self.frames],
                         relax=relax)


@dataclass(frozen=True)
class BoardVideo:
    id: int
    source_file_id: int
    position: int
    number: int
    title: str
    header_text: str
    body: str  # the video's narration: what is said
    directions: tuple[Any, ...]
    scenes: tuple[Any, ...]


@dataclass(frozen=True)
class Board:
    """One storyboard version of a video, with its live shots and frames in order."""

    id: int
    video: BoardVideo
    version: int
    is_current: bool
    created_at: datetime | None
    shots_requested: int
    frames_requested: int
    builder_version: str
    density: str
    pace_s: float | None
    planner: str
    planner_model: str
    template_version: str
    note: str
    shots: tuple[BoardShot, ...]

    @property
    def frames(self) -> list[BoardFrame]:
        return [f for s in self.shots for f in s.frames]


@dataclass(frozen=True)
class ScriptBoards:
    """A script and the current board of each of its videos (None for a video without one), in document order."""

    file_id: int
    title: str
    original_name: str
    sha256: str
    preface: str
    warnings: tuple[str, ...]
    archived: bool
    videos: tuple[BoardVideo, ...]
    boards: Mapping[int, Board] = field(default_factory=dict)  # video id -> its current board

    def board_of(self, video_id: int) -> Board | None:
        return self.boards.get(video_id)


# ---- loading ------------------------------------------------------------------------------------------------


def load_board(session: Session, storyboard_id: int, *, comments: bool = False) -> Board:
    """One storyboard version (current or not), with review threads when `comments`."""
    rows = session.execute(_header_for("board"), {"storyboard_id": storyboard_id}).all()
    if not rows or rows[0].Storyboard is None:
        raise NotFoundError(f"Storyboard {storyboard_id} does not exist")
    return _boards(session, rows, comments=comments)[rows[0].Video.id]


def load_current_board(session: Session, video_id: int, *, comments: bool = False) -> Board | None:
    """The video's current board, None when it has none."""
    rows = session.execute(_header_for("video"), {"video_id": video_id}).all()
    if not rows:
        raise NotFoundError(f"Video {video_id} does not exist")
    return _boards(session, rows, comments=comments).get(video_id)


def load_script(session: Session, file_id: int, *, video_id: int | None = None,
                comments: bool = False) -> ScriptBoards:
    """A script's videos and their current boards (only `video_id`'s when given)."""
    rows = session.execute(_header_for("script" if video_id is None else "script_video"),
                           {"file_id": file_id, "video_id": video_id}).all()
    if not rows:
        raise NotFoundError(f"Script {file_id} is not in the library.")
    if video_id is not None and rows[0].Video is None:
        raise NotFoundError(f"Video {video_id} is not part of script {file_id}")
    source: SourceFile = rows[0].SourceFile
    videos = tuple(_video(r.Video) for r in rows if r.Video is not None)
    return ScriptBoards(
        file_id=source.id, title=source.title or "", original_name=source.original_name, sha256=source.sha256,
        preface=source.preface or "", warnings=tuple(str(w) for w in source.warnings or []),
        archived=source.archived_at is not None, videos=videos,
        boards=_boards(session, rows, comments=comments),
    )


@cache
def _header_for(kind: Literal["board", "video", "script", "script_video"]) -> Any:
    """The header statement of each way in, built once (with bound parameters)."""
    if kind == "board":
        return _header(current_only=False).where(Storyboard.id == bindparam("storyboard_id"))
    if kind == "video":
        return _header(bindparam("video_id")).where(Video.id == bindparam("video_id"))
    return _header(bindparam("video_id") if kind == "script_video" else None).where(
        SourceFile.id == bindparam("file_id"))


def _header(video_id: Any = None, *, current_only: bool = True) -> Any:
    """Script → style bible → videos (only `video_id` when given) → their current storyboard (every version
    when not `current_only`, for the caller to filter), and the course's default presenter."""
    presenter = (select(CastMember.name)
                 .where(CastMember.source_file_id == SourceFile.id, CastMember.kind == "presenter")
                 .order_by(CastMember.id).limit(1).correlate(SourceFile).scalar_subquery())
    on_video: ColumnElement[bool] = Video.source_file_id == SourceFile.id
    if video_id is not None:
        on_video = and_(on_video, Video.id == video_id)
    return (
        select(SourceFile, StyleBible, Video, Storyboard, presenter.label("presenter"))
        .select_from(SourceFile)
        .outerjoin(StyleBible, StyleBible.source_file_id == SourceFile.id)
        .outerjoin(Video, on_video)
        .outerjoin(Storyboard, and_(Storyboard.video_id == Video.id, Storyboard.is_current.is_(True))
                   if current_only else Storyboard.video_id == Video.id)
        .order_by(Video.position)
    )


def _video(video: Video) -> BoardVideo:
    return BoardVideo(id=video.id, source_file_id=video.source_file_id, position=video.position,
                      number=video.number, title=video.title or "", header_text=video.header_text or "",
                      body=video.body or "", directions=tuple(video.directions or ()),
                      scenes=tuple(video.scenes or ()))


def _boards(session: Session, rows: Sequence[Row[Any]], *, comments: bool) -> dict[int, Board]:
    heads = [r for r in rows if r.Storyboard is not None]
    if not heads:
        return {}
    board_ids = [r.Storyboard.id for r in heads]
    grid = session.execute(_grid_statement(), {"board_ids": board_ids}).all()
    notes = _comments(session, board_ids) if comments else {}
    by_board = {bid: list(g) for bid, g in groupby(grid, key=lambda r: r.storyboard_id)}
    out: dict[int, Board] = {}
    for head in heads:
        board: Storyboard = head.Storyboard
        source: SourceFile = head.SourceFile
        video = _video(head.Video)
        shots = _shots(by_board.get(board.id, []), source=source, bible=head.StyleBible, video=video,
                       presenter=head.presenter, notes=notes)
        out[video.id] = Board(
            id=board.id, video=video, version=board.version, is_current=bool(board.is_current),
            created_at=board.created_at, shots_requested=board.shots_requested,
            frames_requested=board.frames_requested, builder_version=board.builder_version or "",
            density=board.density or "fixed", pace_s=board.pace_s, planner=board.planner or "",
            planner_model=board.planner_model or "", template_version=board.template_version or "",
            note=board.note or "", shots=shots)
    return out


def _newest_job_per(owner: InstrumentedAttribute[int | None], kind: str, owners: Any) -> Any:
    return (select(owner.label("owner"), func.max(Job.id).label("job_id"))
            .where(Job.kind == kind, owner.in_(owners)).group_by(owner).subquery())


@cache
def _grid_statement() -> Any:
    """Built once (its aliases, subqueries and 50 labelled columns cost more to construct than to run), with the
    storyboard ids as the expanding parameter `board_ids`.

    One row per live frame (one row with frame columns None for a shot without live frames), ordered by board,
    shot and frame, with the selected prompt's stored hashes, the selected image and clip, the clip's source
    images, the newest image and clip jobs, and the shot's chosen cast."""
    board_ids: Any = bindparam("board_ids", expanding=True)
    image_asset, clip_asset, voice_asset = aliased(Asset), aliased(Asset), aliased(Asset)
    image_job, clip_job, clip_source = aliased(Job), aliased(Job), aliased(Job)
    voice_job, voice_source = aliased(Job), aliased(Job)
    board_shots = select(Shot.id).where(Shot.storyboard_id.in_(board_ids))
    board_frames = select(Frame.id).join(Shot, Shot.id == Frame.shot_id).where(Shot.storyboard_id.in_(board_ids))
    last_image = _newest_job_per(Job.frame_id, "image", board_frames)
    last_clip = _newest_job_per(Job.shot_id, "clip", board_shots)
    last_voice = _newest_job_per(Job.shot_id, "voice", board_shots)
    chosen_cast = (
        select(func.aggregate_strings(cast(CastMember.id, String) + ":" + CastMember.name, _CAST_SEP))
        .select_from(ShotCast).join(CastMember, CastMember.id == ShotCast.member_id)
        .where(ShotCast.shot_id == Shot.id).correlate(Shot).scalar_subquery()
    )
    return (
        select(
            Shot.storyboard_id, Shot.id.label("shot_id"), Shot.position.label("shot_position"), Shot.summary,
            Shot.narration, Shot.directions, Shot.scene, Shot.shot_size, Shot.camera_move, Shot.subject,
            Shot.action, Shot.location, Shot.on_screen_text, Shot.motion_prompt, Shot.chain_break,
            Shot.review_status.label("shot_review_status"), Shot.lock_version.label("shot_lock_version"),
            Shot.approval.label("shot_approval"), clip_asset.sha256.label("clip_sha"),
            Shot.selected_clip_id, clip_asset.storage_key.label("clip_key"),
            clip_asset.duration_s.label("clip_duration_s"), clip_source.input_asset_ids.label("clip_inputs"),
            clip_source.params.label("clip_params"),
            clip_job.id.label("clip_job_id"), clip_job.status.label("clip_job_status"),
            clip_job.error.label("clip_job_error"), clip_job.error_category.label("clip_job_category"),
            chosen_cast.label("cast"),
            Shot.selected_voice_id, voice_asset.storage_key.label("voice_key"),
            voice_asset.duration_s.label("voice_duration_s"), voice_source.params.label("voice_params"),
            voice_source.provider.label("voice_provider"), voice_source.prompt_text.label("voice_spoken"),
            voice_job.id.label("voice_job_id"), voice_job.status.label("voice_job_status"),
            voice_job.error.label("voice_job_error"), voice_job.error_category.label("voice_job_category"),
            Frame.id.label("frame_id"), Frame.position.label("frame_position"), Frame.scene_text, Frame.beat,
            Frame.lock_version.label("frame_lock_version"), Frame.review_status.label("frame_review_status"),
            Frame.approval.label("frame_approval"), PromptVersion.negative_prompt.label("prompt_negative"),
            image_asset.sha256.label("image_sha"),
            Frame.selected_prompt_id, PromptVersion.number.label("prompt_number"),
            PromptVersion.text.label("prompt_text"), PromptVersion.origin.label("prompt_origin"),
            PromptVersion.provider.label("prompt_provider"), PromptVersion.model.label("prompt_model"),
            PromptVersion.input_hash.label("prompt_input_hash"),
            PromptVersion.inputs["hashes"].label("prompt_hashes"),
            Frame.selected_image_id, image_asset.storage_key.label("image_key"),
            image_asset.prompt_version_id.label("image_prompt_id"),
            image_job.id.label("image_job_id"), image_job.status.label("image_job_status"),
            image_job.error.label("image_job_error"), image_job.error_category.label("image_job_category"),
        )
        .select_from(Shot)
        .outerjoin(Frame, and_(Frame.shot_id == Shot.id, Frame.deleted_at.is_(None)))
        .outerjoin(PromptVersion, PromptVersion.id == Frame.selected_prompt_id)
        .outerjoin(image_asset, image_asset.id == Frame.selected_image_id)
        .outerjoin(last_image, last_image.c.owner == Frame.id)
        .outerjoin(image_job, image_job.id == last_image.c.job_id)
        .outerjoin(clip_asset, clip_asset.id == Shot.selected_clip_id)
        .outerjoin(clip_source, clip_source.id == clip_asset.job_id)
        .outerjoin(last_clip, last_clip.c.owner == Shot.id)
        .outerjoin(clip_job, clip_job.id == last_clip.c.job_id)
        .outerjoin(voice_asset, voice_asset.id == Shot.selected_voice_id)
        .outerjoin(voice_source, voice_source.id == voice_asset.job_id)
        .outerjoin(last_voice, last_voice.c.owner == Shot.id)
        .outerjoin(voice_job, voice_job.id == last_voice.c.job_id)
        .where(Shot.storyboard_id.in_(board_ids), Shot.deleted_at.is_(None))
        .order_by(Shot.storyboard_id, Shot.position, Shot.id, Frame.position, Frame.id)
    )


def _comments(session: Session, board_ids: list[int]) -> dict[tuple[str, int], tuple[Note, ...]]:
    shots = select(Shot.id).where(Shot.storyboard_id.in_(board_ids))
    frames = select(Frame.id).join(Shot, Shot.id == Frame.shot_id).where(Shot.storyboard_id.in_(board_ids))
    out: dict[tuple[str, int], list[Note]] = {}
    for row in session.execute(
        select(Comment.subject_type, Comment.subject_id, Comment.author, Comment.body, Comment.created_at)
        .where(or_(and_(Comment.subject_type == "shot", Comment.subject_id.in_(shots)),
                   and_(Comment.subject_type == "frame", Comment.subject_id.in_(frames))))
        .order_by(Comment.created_at, Comment.id)
    ):
        out.setdefault((row.subject_type, row.subject_id), []).append(Note(row.author, row.body, row.created_at))
    return {k: tuple(v) for k, v in out.items()}


# ---- assembling (pure) --------------------------------------------------------------------------------------


class _FrameFields(NamedTuple):
    """A frame's columns as a refine request reads them (`core.prompts.context.FrameFields`)."""

    id: int
    position: int
    scene_text: str
    beat: str


class _ShotFields(NamedTuple):
    """A shot's columns as a refine request reads them (`core.prompts.context.ShotFields`), plan included."""

    id: int
    position: int
    summary: str
    directions: tuple[str, ...]
    shot_size: str
    camera_move: str
    subject: str
    action: str
    location: str


def _job(row: Row[Any], prefix: str) -> JobState | None:
    job_id = getattr(row, f"{prefix}_job_id")
    if job_id is None:
        return None
    return JobState(job_id, getattr(row, f"{prefix}_job_status"), getattr(row, f"{prefix}_job_error"),
                    getattr(row, f"{prefix}_job_category"))


def _cast(value: str | None, presenter: str | None) -> tuple[tuple[str, ...], bool]:
    if value:
        pairs = sorted((int(i), name) for i, _, name in (p.partition(":") for p in value.split(_CAST_SEP)))
        return tuple(name for _, name in pairs), False
    return ((presenter,) if presenter else ()), True


def _shots(rows: list[Row[Any]], *, source: SourceFile, bible: StyleBible | None, video: BoardVideo,
           presenter: str | None, notes: Mapping[tuple[str, int], tuple[Note, ...]]) -> tuple[BoardShot, ...]:
    order = BoardOrder([BoardSlot(r.frame_id, r.shot_id, r.scene_text or "") for r in rows if r.frame_id is not None])
    style = style_data(bible)
    voice = voice_style(bible)
    shots: list[BoardShot] = []
    seen: dict[int, BoardFrame] = {}  # every frame so far: a chained clip starts on the previous shot's last
    for _, group in groupby(rows, key=lambda r: r.shot_id):
        shot_rows = list(group)
        first = shot_rows[0]
        fields = _ShotFields(first.shot_id, first.shot_position, first.summary or "",
                             tuple(str(d) for d in first.directions or ()), first.shot_size or "",
                             first.camera_move or "", first.subject or "", first.action or "", first.location or "")
        frames = tuple(_frame(r, order, fields, source=source, video=video, style=style, notes=notes)
                       for r in shot_rows if r.frame_id is not None)
        seen.update((f.id, f) for f in frames)
        names, default = _cast(first.cast, presenter)
        shot_status = first.shot_review_status or "draft"
        # Fingerprints only where an approval can be checked: the other rows skip the hashing.
        now = (shot_parts([_frame_parts(r) for r in shot_rows if r.frame_id is not None], first.clip_sha)
               if shot_status in APPROVED else {})
        frames_changed = any(f.review_status == CHANGED for f in frames)
        shots.append(BoardShot(
            id=first.shot_id, position=first.shot_position, summary=first.summary or "",
            narration=first.narration or "", directions=tuple(str(d) for d in first.directions or ()),
            scene=first.scene, shot_size=first.shot_size or "", camera_move=first.camera_move or "",
            subject=first.subject or "", action=first.action or "", location=first.location or "",
            on_screen_text=first.on_screen_text or "", motion_prompt=first.motion_prompt or "",
            chain_break=bool(first.chain_break),
            review_status=effective_status(shot_status, first.shot_approval, now, frames_changed=frames_changed),
            approval_changes=_shot_changes(shot_status, first.shot_approval, now, frames_changed),
            lock_version=first.shot_lock_version, frames=frames, clip_id=first.selected_clip_id,
            clip_key=first.clip_key, clip_duration_s=first.clip_duration_s, clip_job=_job(first, "clip"),
            clip_freshness=clip_freshness(first.selected_clip_id, first.clip_inputs, frames,
                                          params=first.clip_params, frames_by_id=seen),
            cast=names, cast_is_default=default, comments=notes.get(("shot", first.shot_id), ()),
            voice_id=first.selected_voice_id, voice_key=first.voice_key, voice_duration_s=first.voice_duration_s,
            voice_job=_job(first, "voice"),
            voice_freshness=voice_freshness(first.selected_voice_id, first.voice_params, first.narration or "",
                                            voice, provider=first.voice_provider, spoken=first.voice_spoken),
        ))
    return tuple(shots)


def _frame(row: Row[Any], order: BoardOrder, shot: _ShotFields, *, source: SourceFile, video: BoardVideo, style: Any,
           notes: Mapping[tuple[str, int], tuple[Note, ...]]) -> BoardFrame:
    prompt = MISSING
    if row.selected_prompt_id is not None and row.prompt_origin is not None:
        frame = _FrameFields(row.frame_id, row.frame_position, row.scene_text or "", row.beat or "")
        request = request_in_board(order, frame, shot, source_file_id=source.id, course_title=source.title or "",
                                   video_title=video.title, style=style)
        hashes = row.prompt_hashes if isinstance(row.prompt_hashes, dict) else None
        found = stored_staleness(StoredPrompt(row.selected_prompt_id, row.frame_id, row.prompt_origin,
                                              row.prompt_provider, row.prompt_model or "",
                                              row.prompt_input_hash or "", hashes), request)
        prompt = prompt_freshness(found.state, found.changed)
    status = row.frame_review_status or "draft"
    now = _frame_parts(row) if status in APPROVED else {}
    return BoardFrame(
        id=row.frame_id, shot_id=row.shot_id, position=row.frame_position, scene_text=row.scene_text or "",
        beat=row.beat or "", review_status=effective_status(status, row.frame_approval, now),
        approval_changes=approval_changes(row.frame_approval, now) if status in APPROVED else (),
        lock_version=row.frame_lock_version,
        prompt_id=row.selected_prompt_id, prompt_number=row.prompt_number, prompt_text=row.prompt_text or "",
        image_id=row.selected_image_id, image_key=row.image_key, image_job=_job(row, "image"),
        prompt_freshness=prompt,
        image_freshness=image_freshness(row.selected_image_id, row.image_prompt_id, row.selected_prompt_id, prompt),
        comments=notes.get(("frame", row.frame_id), ()),
    )


def _shot_changes(status: str, approval: object, now: dict[str, str], frames_changed: bool) -> tuple[str, ...]:
    if status not in APPROVED:
        return ()
    what = approval_changes(approval, now)
    return what + ("frames",) if frames_changed and "frames" not in what else what


def _frame_parts(row: Row[Any]) -> dict[str, str]:
    """A grid row's frame as `core.approvals` fingerprints it (the same parts the review gates compute)."""
    return frame_parts(scene_text=row.scene_text, beat=row.beat, prompt_text=row.prompt_text,
                       negative_prompt=row.prompt_negative, image_sha=row.image_sha)


# ---- the staleness rules (pure) -----------------------------------------------------------------------------


def prompt_freshness(state: str, changed: Sequence[str]) -> Freshness:
    """A prompt's staleness (`core.prompts.context.Staleness` parts) in the board's words."""
    if state == "missing":
        return MISSING
    if state == "fresh":
        return FRESH
    return Freshness("stale", tuple(f"{part_label(p)} changed" for p in changed) or ("inputs changed",))


def image_freshness(image_id: int | None, image_prompt_id: int | None, selected_prompt_id: int | None,
                    prompt: Freshness) -> Freshness:
    """Stale when the image was drawn from another prompt than the selected one, or from a stale prompt."""
    if image_id is None:
        return MISSING
    if image_prompt_id is not None and image_prompt_id != selected_prompt_id:
        return Freshness("stale", ("rendered from another prompt version than the selected one",))
    if prompt.stale:
        return Freshness("stale", ("its prompt is stale",))
    return FRESH


def clip_freshness(clip_id: int | None, inputs: object, frames: Sequence[BoardFrame], *, params: object = None,
                   frames_by_id: Mapping[int, BoardFrame] | None = None) -> Freshness:
    """Stale when the clip's start (end) image is no longer the selected image of the frame it started (ended) on
    — the frames its job names (`start_frame_id`, `end_frame_id`: a chained clip starts on the previous shot's
    last frame), else the shot's first (last) live frame — or one of those images is stale. A clip whose source
    images are not recorded (made outside a shot) is taken as is."""
    if clip_id is None:
        return MISSING
    used = [int(i) for i in inputs if isinstance(i, int)] if isinstance(inputs, list) else []
    if not used:
        return FRESH
    if not frames:
        return Freshness("stale", ("the shot has no frames left",))
    reasons: list[str] = []
    ends = [("start", frames[0])] + ([("end", frames[-1])] if len(used) > 1 else [])
    named = params if isinstance(params, dict) else {}
    if frames_by_id is not None and isinstance(named.get("start_frame_id"), int):
        start = frames_by_id.get(named["start_frame_id"])
        end_id = named.get("end_frame_id")
        end = frames_by_id.get(end_id) if isinstance(end_id, int) else None
        if start is None or (len(used) > 1 and end is None):
            return Freshness("stale", ("a frame it was rendered from is gone",))
        ends = [("start", start)] + ([("end", end)] if len(used) > 1 and end is not None else [])
    for (role, frame), asset_id in zip(ends, used):
        if frame.image_id != asset_id:
            reasons.append(f"the {role} frame's selected image changed")
        elif frame.image_freshness.stale:
            reasons.append(f"the {role} frame's image is stale")
    return Freshness("stale", tuple(reasons)) if reasons else FRESH


def voice_freshness(voice_id: int | None, params: object, narration: str, style: VoiceStyle, *,
                    provider: str | None, spoken: str | None) -> Freshness:
    """Stale when the selected take no longer says what the shot would say today (its narration after today's
    lexicon), or was said by another provider than the course names, in another voice or at another speed than
    the course's. `provider`, `params` and `spoken` are the take's job's (`Job.provider`, `params`,
    `prompt_text`). With the studio's default provider (the course names none), a take by either provider is
    current: the OpenAI take that replaced an offline one reads fresh."""
    if voice_id is None:
        return MISSING
    if not isinstance(params, dict) or provider is None:
        return FRESH  # audio made outside a voice job (an import): taken as is
    said_by = provider.removeprefix("voice-")
    reasons: list[str] = []
    if spoken_text(narration, style.lexicon) != " ".join((spoken or "").split()):
        reasons.append("what the shot says changed since it was voiced (its narration or the lexicon)")
    if style.provider and style.provider != said_by:
        reasons.append(f"it was voiced by the {said_by} voice; the course's is now {style.provider}")
    want = voice_for_provider(said_by, style.voice)
    had = params.get("course_voice")
    if had is None:  # voiced before the course's own voice was recorded on the job
        had = params.get("voice") if want else ""
    if want != had:
        reasons.append(f"the course's voice is now {want or 'the provider default'}")
    if round(float(params.get("speed") or 1.0), 3) != round(style.speed, 3):
        reasons.append(f"the course's speed is now {style.speed:g}")
    return Freshness("stale", tuple(reasons)) if reasons else FRESH
