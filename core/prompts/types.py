"""The data of prompt refinement: what a refiner is asked (`RefineRequest`) and what it answers (`RefinedPrompt`).

Pure pydantic values, no I/O. A request is everything that shapes a frame's prompt, so its parts are what the
input hash (and therefore staleness) is computed from: the scene text, the context (video, shot, neighbours),
the style bible and the template.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_validator

ASPECT_RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4", "21:9")


class StyleBibleData(BaseModel):
    """The course's look, as sent to a refiner. Mirrors the `StyleBible` row without ids or timestamps."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    visual_style: str = ""
    palette: str = ""
    characters: str = ""  # recurring presenter / characters, described so every frame draws them the same way
    setting: str = ""
    aspect_ratio: str = "16:9"
    negative_prompt: str = ""

    @field_validator("visual_style", "palette", "characters", "setting", "negative_prompt")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @field_validator("aspect_ratio")
    @classmethod
    def _known_ratio(cls, value: str) -> str:
        value = value.strip()
        if value not in ASPECT_RATIOS:
            raise ValueError(f"aspect ratio must be one of {', '.join(ASPECT_RATIOS)}")
        return value


class RefineRequest(BaseModel):
    """Everything a refiner may use for one frame. Contains no secret and no database handle."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    frame_id: int | None = None
    source_file_id: int | None = None
    scene_text: str
    course_title: str = ""
    video_title: str = ""
    shot_summary: str = ""
    shot_position: int = Field(default=1, ge=1)
    shot_count: int = Field(default=1, ge=1)
    frame_position: int = Field(default=1, ge=1)
    frame_count: int = Field(default=1, ge=1)
    previous_scene_text: str = ""  # the frame before this one (across shot boundaries): continuity
    next_scene_text: str = ""
    style: StyleBibleData = Field(default_factory=StyleBibleData)
    # The keyframe's plan (see core/prompts/keyframe.py): what to draw beside the scene text, and the narration
    # it illustrates as context only (never quoted into an English prompt).
    beat: str = ""
    directions: tuple[str, ...] = ()  # the shot's visual directions from the script
    planned_size: str = ""  # the shot's size from the plan ("close-up")
    camera_move: str = ""  # the shot's camera move from the plan ("push in")
    subject: str = ""
    action: str = ""
    location: str = ""

    @property
    def frame_role(self) -> str:
        """Where the frame sits in its shot: `single`, `first`, `middle` or `last`."""
        if self.frame_count == 1:
            return "single"
        if self.frame_position == 1:
            return "first"
        if self.frame_position >= self.frame_count:
            return "last"
        return "middle"

    def context_fields(self) -> dict[str, Any]:
        """The parts of the request that are neither the scene text nor the style bible (hashed as 'context')."""
        return {
            "course_title": self.course_title,
            "video_title": self.video_title,
            "shot_summary": self.shot_summary,
            "shot_position": self.shot_position,
            "shot_count": self.shot_count,
            "frame_position": self.frame_position,
            "frame_count": self.frame_count,
            "previous_scene_text": self.previous_scene_text,
            "next_scene_text": self.next_scene_text,
            # The plan's parts only when set, so prompts made before shots were planned keep their hashes.
            **{name: value for name, value in (("beat", self.beat), ("directions", list(self.directions)),
                                               ("planned_size", self.planned_size),
                                               ("camera_move", self.camera_move), ("subject", self.subject),
                                               ("action", self.action), ("location", self.location)) if value},
        }


class RefinedPrompt(BaseModel):
    """A refiner's answer: the image prompt and its parts. `extra="ignore"` tolerates chatty servers."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    # All fields required: a reply missing one did not follow the format (strict schema or JSON mode alike).
    prompt: str = Field(min_length=1)
    negative_prompt: str
    shot_size: str
    camera: str
    lighting: str
    style_notes: str

    @field_validator("prompt")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("prompt is empty")
        return value.strip()


@runtime_checkable
class Refiner(Protocol):
    """A provider of image prompts. `refine` may be slow (network); it never touches the database."""

    name: str
    model: str
    template_version: str

    def refine(self, req: RefineRequest) -> RefinedPrompt: ...
