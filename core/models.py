"""Typed SQLAlchemy 2.x models: the single source of truth of the studio.

Append-only where history matters (storyboard versions, prompt versions, assets, activity): rows are added
and *selected* by pointer, never overwritten. Staleness is answered by comparing stored input hashes
(`PromptVersion.input_hash`, `Asset.input_hash`, `Job.input_hash`) with hashes computed from current state.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    case,
    func,
    select,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, column_property, mapped_column, relationship

from core.db import UTCDateTime


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# Review statuses shared by frames and shots (issue: review gates).
REVIEW_STATUSES = ("draft", "in_review", "needs_changes", "approved", "locked")


class SourceFile(Timestamped, Base):
    """An uploaded Word script, deduplicated by the SHA-256 of its bytes; the bytes live under the data dir."""

    __tablename__ = "source_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    original_name: Mapped[str] = mapped_column(String(512))  # only ever displayed
    stored_name: Mapped[str] = mapped_column(String(128))  # generated, relative to the data dir
    size_bytes: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(512), default="")
    preface: Mapped[str] = mapped_column(Text, default="")
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    budget_usd: Mapped[float | None] = mapped_column(Float)
    # The producer's corrections of how ingestion read the script: {"flipped_tables": [n, …],
    # "marks": {"<line text hash>": "narration" | "direction"}}. Applied on every rebuild.
    ingest_overrides: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    chain_shots: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))

    videos: Mapped[list[Video]] = relationship(
        back_populates="source_file", order_by="Video.position", cascade="all, delete-orphan"
    )
    style_bible: Mapped[StyleBible | None] = relationship(back_populates="source_file", uselist=False)


class StyleBible(Base):
    """The course's look, applied to every video of a script. Prompts store its hash, so edits mark them stale."""

    __tablename__ = "style_bibles"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_file_id: Mapped[int] = mapped_column(ForeignKey("source_files.id"), unique=True)
    visual_style: Mapped[str] = mapped_column(Text, default="")
    palette: Mapped[str] = mapped_column(Text, default="")
    characters: Mapped[str] = mapped_column(Text, default="")  # recurring presenter / characters
    setting: Mapped[str] = mapped_column(Text, default="")
    aspect_ratio: Mapped[str] = mapped_column(String(16), default="16:9")
    negative_prompt: Mapped[str] = mapped_column(Text, default="")
    # The course's narration voice (migration 0012, core.voice.style): one voice, speed and pronunciation lexicon
    # for every video. Kept out of the visual fields' hash, so changing the voice never makes prompts stale.
    voice_provider: Mapped[str] = mapped_column(String(16), default="", server_default="")  # "" = studio default
    voice_name: Mapped[str] = mapped_column(String(64), default="", server_default="")  # "" = provider default
    voice_speed: Mapped[float] = mapped_column(Float, default=1.0, server_default=text("1.0"))
    voice_lexicon: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")  # written -> spoken
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    source_file: Mapped[SourceFile] = relationship(back_populates="style_bible")


class Video(Base):
    __tablename__ = "videos"
    __table_args__ = (UniqueConstraint("source_file_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_file_id: Mapped[int] = mapped_column(ForeignKey("source_files.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # document order, 1-based
    number: Mapped[int] = mapped_column(Integer)  # as written in the header (may repeat / be out of order)
    title: Mapped[str] = mapped_column(String(1024), default="")
    header_text: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")  # narration only: what is said
    directions: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")  # what is seen, in order
    scenes: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")  # scene marks inside the video

    source_file: Mapped[SourceFile] = relationship(back_populates="videos")
    storyboards: Mapped[list[Storyboard]] = relationship(
        back_populates="video", order_by="Storyboard.version", cascade="all, delete-orphan"
    )


class Storyboard(Timestamped, Base):
    """A version of a video's cut into shots and frames. Exactly one per video is current."""

    __tablename__ = "storyboards"
    __table_args__ = (
        UniqueConstraint("video_id", "version"),
        Index(
            "uq_storyboards_one_current",
            "video_id",
            unique=True,
            sqlite_where=text("is_current = 1"),
            postgresql_where=text("is_current"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    shots_requested: Mapped[int] = mapped_column(Integer)
    frames_requested: Mapped[int] = mapped_column(Integer)
    builder_version: Mapped[str] = mapped_column(String(32), default="1")
    density: Mapped[str] = mapped_column(String(16), default="fixed", server_default="fixed")  # fixed | paced
    pace_s: Mapped[float | None] = mapped_column(Float)
    planner: Mapped[str] = mapped_column(String(32), default="offline", server_default="offline")
    planner_model: Mapped[str] = mapped_column(String(128), default="", server_default="")
    template_version: Mapped[str] = mapped_column(String(32), default="", server_default="")
    plan_input_hash: Mapped[str] = mapped_column(String(64), default="", server_default="")
    note: Mapped[str] = mapped_column(Text, default="", server_default="")  # shown to the producer

    video: Mapped[Video] = relationship(back_populates="storyboards")
    shots: Mapped[list[Shot]] = relationship(
        back_populates="storyboard", order_by="Shot.position", cascade="all, delete-orphan"
    )


# Table aliases (not ORM ones, which would configure the mappers before Shot exists) for Shot.narration.
_narrated_board = Storyboard.__table__.alias("narrated_board")
_narrated_video = Video.__table__.alias("narrated_video")


class Shot(Base):
    __tablename__ = "shots"

    id: Mapped[int] = mapped_column(primary_key=True)
    storyboard_id: Mapped[int] = mapped_column(ForeignKey("storyboards.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # 1-based within the storyboard
    summary: Mapped[str] = mapped_column(Text, default="")
    # The narration a shot covers is a stretch of its video's body: the builder stores only where it lies
    # (a third copy of the script's text made storing a script cost more than parsing it). A shot written by
    # hand, or stored before 0003, keeps its own text in the `narration` column instead.
    narration_text: Mapped[str] = mapped_column("narration", Text, default="")
    narration_start: Mapped[int | None] = mapped_column(Integer)
    narration_end: Mapped[int | None] = mapped_column(Integer)
    review_status: Mapped[str] = mapped_column(String(32), default="draft")
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    selected_clip_id: Mapped[int | None] = mapped_column(
        ForeignKey("assets.id", use_alter=True, name="fk_shots_selected_clip_id_assets")
    )
    lock_version: Mapped[int] = mapped_column(Integer, default=1)  # bumped on edits; checked on save
    # The narration audio take the cut uses (migration 0012, core.voice): its length times the shot.
    selected_voice_id: Mapped[int | None] = mapped_column(
        ForeignKey("assets.id", use_alter=True, name="fk_shots_selected_voice_id_assets")
    )
    directions: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    scene: Mapped[int | None] = mapped_column(Integer)
    shot_size: Mapped[str] = mapped_column(String(32), default="", server_default="")
    camera_move: Mapped[str] = mapped_column(String(32), default="", server_default="")
    subject: Mapped[str] = mapped_column(Text, default="", server_default="")
    action: Mapped[str] = mapped_column(Text, default="", server_default="")
    location: Mapped[str] = mapped_column(Text, default="", server_default="")
    on_screen_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    motion_prompt: Mapped[str] = mapped_column(Text, default="", server_default="")
    chain_break: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # Chosen to show no cast member or set: no default presenter, no references (migration 0009, core.cast).
    shows_nobody: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # What was approved: {"parts": {...}, "by", "at"} (migration 0010, core.approvals); None until approved.
    approval: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    storyboard: Mapped[Storyboard] = relationship(back_populates="shots")
    frames: Mapped[list[Frame]] = relationship(
        back_populates="shot", order_by="Frame.position", cascade="all, delete-orphan"
    )

    # Read-only: the covered stretch of the body when a span is stored, else the shot's own text. One SQL
    # expression, so loading shots (or selecting `Shot.narration` in a query) reads it in the same statement.
    narration: Mapped[str] = column_property(
        case(
            (
                narration_end.is_not(None),
                select(func.substr(_narrated_video.c.body, narration_start + 1, narration_end - narration_start))
                .where(_narrated_board.c.id == storyboard_id, _narrated_video.c.id == _narrated_board.c.video_id)
                .correlate_except(_narrated_board, _narrated_video)
                .scalar_subquery(),
            ),
            else_=narration_text,
        )
    )


class Frame(Base):
    """One still of a shot. `lock_version` is the optimistic-lock counter: a stale writer gets a conflict."""

    __tablename__ = "frames"

    id: Mapped[int] = mapped_column(primary_key=True)
    shot_id: Mapped[int] = mapped_column(ForeignKey("shots.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # 1-based within the shot
    scene_text: Mapped[str] = mapped_column(Text, default="")  # what the frame shows (its keyframe)
    beat: Mapped[str] = mapped_column(Text, default="", server_default="")  # the narration it illustrates
    review_status: Mapped[str] = mapped_column(String(32), default="draft")
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    selected_prompt_id: Mapped[int | None] = mapped_column(
        ForeignKey("prompt_versions.id", use_alter=True, name="fk_frames_selected_prompt_id_prompt_versions")
    )
    selected_image_id: Mapped[int | None] = mapped_column(
        ForeignKey("assets.id", use_alter=True, name="fk_frames_selected_image_id_assets")
    )
    lock_version: Mapped[int] = mapped_column(Integer, default=1)  # bumped on edits; checked on save
    # What was approved: {"parts": {...}, "by", "at"} (migration 0010, core.approvals); None until approved.
    approval: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    shot: Mapped[Shot] = relationship(back_populates="frames")


class PromptVersion(Timestamped, Base):
    """An image prompt for a frame. Append only; the frame points at the selected one."""

    __tablename__ = "prompt_versions"
    __table_args__ = (UniqueConstraint("frame_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    frame_id: Mapped[int] = mapped_column(ForeignKey("frames.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, 3 … per frame
    text: Mapped[str] = mapped_column(Text)
    negative_prompt: Mapped[str] = mapped_column(Text, default="")
    shot_size: Mapped[str] = mapped_column(String(64), default="")
    camera: Mapped[str] = mapped_column(String(256), default="")
    lighting: Mapped[str] = mapped_column(String(256), default="")
    style_notes: Mapped[str] = mapped_column(Text, default="")
    origin: Mapped[str] = mapped_column(String(16))  # "refined" | "manual"
    provider: Mapped[str] = mapped_column(String(32))  # "openai" | "offline" | "manual"
    model: Mapped[str] = mapped_column(String(128), default="")
    template_version: Mapped[str] = mapped_column(String(32), default="")
    input_hash: Mapped[str] = mapped_column(String(64), index=True)  # scene text + context + bible + template
    inputs: Mapped[dict[str, Any]] = mapped_column(default=dict)  # snapshot of what was sent, for provenance
    author: Mapped[str] = mapped_column(String(128), default="")
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("prompt_versions.id"))


class Asset(Timestamped, Base):
    """A rendered image or clip (a take). Content-addressed on disk; append only; discarded softly."""

    __tablename__ = "assets"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "image" | "clip" | "voice" (narration audio)
    frame_id: Mapped[int | None] = mapped_column(ForeignKey("frames.id"), index=True)
    shot_id: Mapped[int | None] = mapped_column(ForeignKey("shots.id"), index=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"), index=True)
    prompt_version_id: Mapped[int | None] = mapped_column(ForeignKey("prompt_versions.id"))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    storage_key: Mapped[str] = mapped_column(String(256))  # e.g. "assets/ab/abcdef….png"
    content_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    duration_s: Mapped[float | None] = mapped_column(Float)
    provider: Mapped[str] = mapped_column(String(32), default="")
    model: Mapped[str] = mapped_column(String(128), default="")
    input_hash: Mapped[str] = mapped_column(String(64), default="")  # what it was rendered from
    remote_url: Mapped[str | None] = mapped_column(Text)
    discarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


JOB_STATUSES = ("pending", "submitted", "running", "succeeded", "failed", "canceled")
JOB_ACTIVE = ("pending", "submitted", "running")
ACTIVE_JOB_SQL = "status IN ('pending', 'submitted', 'running')"  # the partial unique index's condition


class Job(Timestamped, Base):
    """One render. The idempotency key is stored before the remote POST so a restart never pays twice."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "image" | "clip" | "voice"
    frame_id: Mapped[int | None] = mapped_column(ForeignKey("frames.id"), index=True)
    shot_id: Mapped[int | None] = mapped_column(ForeignKey("shots.id"), index=True)
    # The script the render is charged to (`core.money`): set on every new job, so renders of no frame or shot
    # (cast candidates, clips from explicit images) count in its spend and budget too. No foreign key: a plain
    # column keeps migration 0010 one ADD COLUMN everywhere; older jobs are found through their frame or shot.
    source_file_id: Mapped[int | None] = mapped_column(Integer, index=True)
    prompt_version_id: Mapped[int | None] = mapped_column(ForeignKey("prompt_versions.id"))
    prompt_text: Mapped[str] = mapped_column(Text, default="")
    input_asset_ids: Mapped[list[Any]] = mapped_column(default=list)  # start / end images for clips
    depends_on: Mapped[list[Any]] = mapped_column(default=list)  # job ids that must succeed first
    provider: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(128), default="")
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    input_hash: Mapped[str] = mapped_column(String(64), index=True)  # same render == same hash
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    remote_request_id: Mapped[str | None] = mapped_column(String(128))
    status_url: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    polls: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    error_category: Mapped[str | None] = mapped_column(String(32))  # failed | nsfw | timeout | provider | …
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)  # retry-after / backoff
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cost_usd: Mapped[float | None] = mapped_column(Float)
    cost_credits: Mapped[float | None] = mapped_column(Float)
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    requested_by: Mapped[str] = mapped_column(String(128), default="")

    # One active job per input, guaranteed by the database: two requests racing for the same render (a double
    # click, two tabs, parallel API calls) cannot both insert; the loser gets the winner's job (core.jobs.queue).
    __table_args__ = (
        Index("uq_jobs_active_input", "kind", "input_hash", unique=True,
              sqlite_where=text(ACTIVE_JOB_SQL), postgresql_where=text(ACTIVE_JOB_SQL)),
    )


class Comment(Timestamped, Base):
    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(16))  # "frame" | "shot"
    subject_id: Mapped[int] = mapped_column(Integer, index=True)
    author: Mapped[str] = mapped_column(String(128))
    body: Mapped[str] = mapped_column(Text)


class Activity(Base):
    """Who did what, when. Append only."""

    __tablename__ = "activity"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(128), default="")
    action: Mapped[str] = mapped_column(String(64))
    source_file_id: Mapped[int | None] = mapped_column(ForeignKey("source_files.id"), index=True)
    subject_type: Mapped[str] = mapped_column(String(16), default="")
    subject_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class RateOverride(Base):
    """A producer's (or the estimate endpoint's) price for one model, overriding the seeded default in
    `core.cost.DEFAULT_RATES`. In the database, not the data dir, so every studio and worker sharing the
    database prices jobs the same way."""

    __tablename__ = "rate_overrides"

    model: Mapped[str] = mapped_column(String(128), primary_key=True)
    unit: Mapped[str] = mapped_column(String(16))  # "image" | "clip_second" | "character" (a voice)
    credits: Mapped[float] = mapped_column(Float)
    usd: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(16), default="edited")  # "edited" | "api" | "imported"
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str] = mapped_column(String(128), default="")


CAST_KINDS = ("presenter", "character", "set")


class CastMember(Timestamped, Base):
    """A presenter, recurring character or set of a course's style bible, with reference images that every
    render of a shot showing it sends to models that take references (migration 0004)."""

    __tablename__ = "cast_members"
    __table_args__ = (UniqueConstraint("source_file_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_file_id: Mapped[int] = mapped_column(ForeignKey("source_files.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16), default="character")  # CAST_KINDS
    description: Mapped[str] = mapped_column(Text, default="")

    images: Mapped[list[CastImage]] = relationship(
        back_populates="member", order_by="CastImage.id", cascade="all, delete-orphan"
    )


class CastImage(Timestamped, Base):
    """One reference image of a cast member or set, in the asset store. `remote_url` is where it was uploaded to
    Higgs once (reused by every job and after restarts); `locked` marks the producer's pick of generated
    candidates (unpicked candidates are not sent)."""

    __tablename__ = "cast_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("cast_members.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(256))
    content_type: Mapped[str] = mapped_column(String(64), default="image/png")
    origin: Mapped[str] = mapped_column(String(16), default="upload")  # "upload" | "candidate"
    is_reference: Mapped[bool] = mapped_column(Boolean, default=True)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    remote_url: Mapped[str | None] = mapped_column(Text)
    uploaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    member: Mapped[CastMember] = relationship(back_populates="images")


class ShotCast(Base):
    """Which cast members and sets a shot shows, chosen on the board (or by the AI plan)."""

    __tablename__ = "shot_cast"

    shot_id: Mapped[int] = mapped_column(ForeignKey("shots.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("cast_members.id"), primary_key=True, index=True)
