"""The data of shot planning: what a planner is given (`PlanRequest`) and what it answers (`ShotPlanReply`).

Pure pydantic values, no I/O. Sentence numbers are 1-based and inclusive (`first_sentence`..`last_sentence`),
as a producer (and a model) reads them in the numbered narration.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from core.prompts.types import StyleBibleData

SHOT_SIZES = ("extreme wide", "wide", "medium wide", "medium", "medium close-up", "close-up", "extreme close-up")
CAMERA_MOVES = ("static", "push in", "pull out", "pan left", "pan right", "tilt up", "tilt down", "orbit",
                "tracking", "handheld")


class PlanRequest(BaseModel):
    """Everything a planner may use for one video. Contains no secret and no database handle."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sentences: tuple[str, ...]
    video_title: str = ""
    course_title: str = ""
    previous_video_title: str = ""
    next_video_title: str = ""
    directions: tuple[str, ...] = ()  # the script's visual directions, in order (their texts)
    style: StyleBibleData = Field(default_factory=StyleBibleData)
    scenes: tuple[str, ...] = ()  # scene marks: "before sentence 4: Scene 2 — The lab"
    cast: tuple[str, ...] = ()  # names of the course's cast and sets a shot may show
    shots: int = Field(default=4, ge=1)  # a hint: how many shots the producer asked for
    frames: int = Field(default=3, ge=1, le=3)  # keyframes per shot: start (, middle) (, end)
    # Where things stand in the narration (0-based sentence indices), for planners that respect them.
    scene_starts: tuple[int, ...] = ()  # sentences that open a scene
    direction_at: tuple[int, ...] = ()  # for each of `directions`, the sentence it is shown with
    density: str = "fixed"  # "fixed" (about shots × frames) | "paced" (one frame per pace_s seconds)
    pace_s: float | None = Field(default=None, gt=0)
    wpm: float = Field(default=130.0, gt=0)  # the speaking rate that paces a "paced" board


class KeyframePlan(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    description: str
    beat: str = ""  # the narration this keyframe illustrates; empty: the store gives it its share of the shot's


class PlannedShot(BaseModel):
    """One shot as a planner answers it. Vocabulary is checked by `validate_plan`, not here, so that every
    problem of a reply can be reported at once (and sent back to the model in one re-ask)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    first_sentence: int
    last_sentence: int
    shot_size: str
    camera_move: str
    subject: str = ""
    action: str = ""
    location: str = ""
    on_screen_text: str = ""
    keyframes: tuple[KeyframePlan, ...] = ()
    motion_prompt: str = ""
    cast: tuple[str, ...] = ()  # names of the course's cast and sets this shot shows (assigned after storing)


class ShotPlanReply(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    shots: tuple[PlannedShot, ...]
    note: str = ""  # the planner's word to the producer (e.g. why there are fewer frames than asked)


@runtime_checkable
class Planner(Protocol):
    """A provider of shot plans. `plan` may be slow (network); it never touches the database. `gate`, when given,
    is held around each request in flight and only then (a batch's concurrency limit): building the message,
    reading the reply and waiting between retries happen outside it."""

    name: str
    model: str
    template_version: str

    def plan(self, req: PlanRequest, *, gate: AbstractContextManager[Any] | None = None) -> ShotPlanReply: ...
