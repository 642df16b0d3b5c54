"""Request and response bodies of the HTTP API (pydantic). The OpenAPI document is generated from these."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, model_validator

# Database ids are 32-bit integers; bounding them here turns an absurd id into a 422 instead of a driver error.
MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
# PostgreSQL text cannot hold NUL characters.
NO_NUL = r"^[^\x00]*$"


class _In(BaseModel):
    # Unknown fields are a client mistake worth a 422, not something to ignore silently.
    model_config = ConfigDict(extra="forbid")


# ---- storyboard ---------------------------------------------------------------------------------


class FreshnessOut(BaseModel):
    state: str = Field(description="missing (none yet) | fresh (up to date) | stale")
    reasons: list[str] = Field(default_factory=list, description="What changed since it was made, when stale.")


class FrameOut(BaseModel):
    id: int
    position: int
    scene_text: str
    review_status: str
    selected_prompt_id: int | None
    selected_image_id: int | None
    beat: str = Field(default="", description="The stretch of the shot's narration this frame illustrates.")
    lock_version: int = 1
    prompt_text: str = Field(default="", description="The selected prompt's text.")
    prompt_staleness: FreshnessOut = Field(default_factory=lambda: FreshnessOut(state="missing"))
    image_staleness: FreshnessOut = Field(default_factory=lambda: FreshnessOut(state="missing"))


class ShotOut(BaseModel):
    id: int
    position: int
    summary: str
    review_status: str
    selected_clip_id: int | None
    frames: list[FrameOut]
    narration: str = Field(default="", description="What is said over this shot.")
    directions: list[str] = Field(default_factory=list, description="What is seen or done in the edit (not said).")
    scene: int | None = None
    shot_size: str = ""
    camera_move: str = ""
    subject: str = ""
    action: str = ""
    location: str = ""
    on_screen_text: str = ""
    motion_prompt: str = ""
    chain_break: bool = False
    lock_version: int = 1
    cast: list[str] = Field(default_factory=list, description="Cast members and sets the shot shows.")
    clip_staleness: FreshnessOut = Field(default_factory=lambda: FreshnessOut(state="missing"))


class VideoOut(BaseModel):
    id: int
    number: int = Field(description="The number written in the video's header (may repeat).")
    position: int = Field(description="1-based place of the video in the document.")
    title: str
    storyboard_id: int | None
    storyboard_version: int | None
    shots: list[ShotOut]


class StoryboardOut(BaseModel):
    file_id: int
    title: str
    videos: list[VideoOut]
    warnings: list[str]


class ExtractOut(StoryboardOut):
    created: bool = Field(description="False when the same bytes had been uploaded before (deduplicated).")


# ---- prompts --------------------------------------------------------------------------------------


class PromptGenerateIn(_In):
    file_id: Id
    video_number: int = Field(ge=0, le=MAX_ID, description="The video's header number; the first such video in document order.")
    frame_id: Id | None = Field(default=None, description="Only this frame (it must belong to the video).")
    force: bool = Field(default=False, description="Refine even when inputs are unchanged or the frame is locked.")


class PromptOut(BaseModel):
    id: int
    frame_id: int
    number: int = Field(description="Version number of this frame's prompt (1, 2, 3 …).")
    text: str
    negative_prompt: str
    shot_size: str
    camera: str
    lighting: str
    provider: str
    model: str
    template_version: str
    selected: bool
    reused: bool = Field(description="True when this version existed before the request (inputs unchanged).")


class FrameErrorOut(BaseModel):
    frame_id: int
    detail: str


class PromptGenerateOut(BaseModel):
    file_id: int
    video_id: int
    video_number: int
    provider: str
    refined: int
    reused: int
    skipped: int
    failed: int
    prompts: list[PromptOut]
    errors: list[FrameErrorOut]


# ---- generation -----------------------------------------------------------------------------------


class ImageJobIn(_In):
    prompt_id: Id | None = Field(default=None, description="Render this prompt version (selects it).")
    frame_id: Id | None = Field(default=None, description="Render the frame's selected prompt.")
    force: bool = False

    @model_validator(mode="after")
    def _one_target(self) -> ImageJobIn:
        if (self.prompt_id is None) == (self.frame_id is None):
            raise ValueError("give exactly one of prompt_id or frame_id")
        return self


class ClipJobIn(_In):
    shot_id: Id | None = Field(default=None, description="Render the shot's clip from its frames' images.")
    start_image_id: Id | None = Field(default=None, description="An image asset id.")
    start_image_url: HttpUrl | None = None
    end_image_id: Id | None = None
    end_image_url: HttpUrl | None = None
    prompt: str | None = Field(
        default=None, max_length=4000, pattern=NO_NUL, description="Motion prompt (with start/end images)."
    )
    file_id: Id | None = Field(
        default=None, description="The script an explicit-image clip is charged to (its budget applies); needed "
                                  "only when no image belongs to a script.")
    force: bool = False

    @model_validator(mode="after")
    def _one_target(self) -> ClipJobIn:
        explicit = [self.start_image_id, self.start_image_url, self.end_image_id, self.end_image_url, self.prompt,
                    self.file_id]
        if self.shot_id is not None:
            if any(v is not None for v in explicit):
                raise ValueError("give either shot_id alone, or start image + prompt (not both)")
            return self
        if (self.start_image_id is None) == (self.start_image_url is None):
            raise ValueError("give exactly one of start_image_id or start_image_url (or a shot_id)")
        if self.end_image_id is not None and self.end_image_url is not None:
            raise ValueError("give at most one of end_image_id or end_image_url")
        if not (self.prompt or "").strip():
            raise ValueError("prompt is required with a start image")
        return self


class AssetRef(BaseModel):
    id: int
    kind: str
    content_type: str
    url: str = Field(description="Path of the bytes on this API: /assets/{id}.")
    width: int | None
    height: int | None
    duration_s: float | None


class JobOut(BaseModel):
    id: int
    kind: str
    status: str = Field(description="pending → submitted → running → succeeded | failed | canceled")
    frame_id: int | None
    shot_id: int | None
    prompt_version_id: int | None
    prompt_text: str
    provider: str
    model: str
    input_asset_ids: list[int]
    input_urls: list[str]
    depends_on: list[int]
    attempts: int
    error: str | None
    error_category: str | None
    created_at: datetime | None
    submitted_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    cost_usd: float | None
    assets: list[AssetRef] = Field(description="The takes this job produced.")


class EstimateOut(BaseModel):
    """What the same `POST /generation/…` request would queue and cost, and the budget's answer; nothing queued."""

    images: int = Field(description="New image renders the request would queue (paid).")
    clips: int = Field(description="New clip renders the request would queue (paid).")
    usd: float
    credits: float
    priced_from: str = Field(description="free | rate card | fallback (a model missing from the rate card).")
    summary: str
    unchanged: int = Field(description="Subjects answered by a job already queued or a take reused (not paid).")
    skipped: dict[str, str] = Field(description="Subject id → why the request would leave it.")
    admitted: bool = Field(description="Whether the script's budget admits the whole request.")
    level: str = Field(description="ok | warning | blocked")
    reason: str
    budget_usd: float | None
    spent_usd: float
    committed_usd: float = Field(description="Already queued before this request.")


# ---- review ---------------------------------------------------------------------------------------


ReviewStatus = Literal["draft", "in_review", "needs_changes", "approved", "locked"]


class ReviewIn(_In):
    status: ReviewStatus = Field(description="draft → in_review → approved → locked, or needs_changes (with a "
                                             "comment); unlocking (locked → approved) needs a comment too.")
    comment: str | None = Field(default=None, max_length=4000, pattern=NO_NUL,
                                description="Joins the subject's review thread.")
    actor: str | None = Field(default=None, max_length=128, pattern=NO_NUL,
                              description='The name the activity log and comments record (default "api").')


class TransitionOut(BaseModel):
    subject_type: str = Field(description="frame | shot")
    subject_id: int
    from_status: str = Field(description='What it read before ("changed": approved once, changed since).')
    to_status: str
    comment_id: int | None = None


class ReviewOut(TransitionOut):
    review_status: str = Field(description="What it reads now, as the storyboard shows it.")


class VideoReviewOut(BaseModel):
    video_id: int
    moved: list[TransitionOut] = Field(description="Every frame and shot that moved (or got the comment).")
    frames_total: int
    frames_approved: int
    shots_total: int
    shots_approved: int
