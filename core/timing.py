"""How long a shot lasts: the one rule the cut, the caption cues, the shot list and the clip length all use.

A shot with narration audio lasts exactly as long as its audio (the voice sets the pace; no minimum, the audio
carries its own pauses). A shot without audio lasts as long as its narration takes to say at a speaking rate in
words per minute, never less than `MIN_SHOT_S` so a silent shot is still seen — and is marked *estimated*, so
every page and export can say which lengths are real and which are guesses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from core.settings import Settings

DEFAULT_WPM = 130.0  # a measured narration pace for Arabic and English course voice-over
MIN_SHOT_S = 2.0


@dataclass(frozen=True)
class ShotLength:
    seconds: float
    estimated: bool  # True: from words per minute; False: the narration audio's own length

    @property
    def source(self) -> str:
        return "estimate (words per minute)" if self.estimated else "narration audio"


def estimated_seconds(narration: str, *, wpm: float = DEFAULT_WPM, min_seconds: float = MIN_SHOT_S) -> float:
    return max(min_seconds, len(narration.split()) * 60.0 / wpm)


def shot_length(narration: str, *, voice_s: float | None, wpm: float = DEFAULT_WPM,
                min_seconds: float = MIN_SHOT_S) -> ShotLength:
    """The shot's length: its audio's when it has audio, else the words-per-minute estimate."""
    if voice_s is not None and voice_s > 0:
        return ShotLength(round(float(voice_s), 3), False)
    return ShotLength(estimated_seconds(narration, wpm=wpm, min_seconds=min_seconds), True)


def clips_out_of_step(session: Session, video_id: int, *, settings: Settings) -> dict[int, str]:
    """Shot id → why its clip no longer fits its narration: the shot was voiced (or re-voiced) after the clip was
    rendered, and a clip asked for now would last another accepted duration than the one it has. Only voiced shots
    are judged (a words-per-minute estimate is no reason to pay for a clip again); fixed-length models never are."""
    from sqlalchemy import select

    from core.jobs import planning
    from core.models import Asset, Job
    from core.review import current_shots

    shots = [s for s in current_shots(session, video_id) if s.selected_clip_id and s.selected_voice_id]
    if not shots:
        return {}
    made: dict[int, object] = dict(session.execute(select(Asset.id, Job.params).join(Job, Job.id == Asset.job_id)
                                .where(Asset.id.in_([s.selected_clip_id for s in shots]))).tuples().all())
    voices: dict[int, float | None] = dict(session.execute(select(Asset.id, Asset.duration_s)
                                  .where(Asset.id.in_([s.selected_voice_id for s in shots]))).tuples().all())
    from core.errors import ValidationError

    try:
        provider = planning.resolve_provider(settings, None)
    except ValidationError:  # no renderer can be used: the page says so where it offers renders
        return {}
    model = planning.model_for(settings, provider, "clip")
    out: dict[int, str] = {}
    for shot in shots:
        params = made.get(shot.selected_clip_id or 0)
        had = params.get("duration") if isinstance(params, dict) else None
        wanted = planning.clip_duration(shot, settings=settings, provider=provider, model=model)
        spoken = voices.get(shot.selected_voice_id or 0)
        if wanted is None or had is None or spoken is None or float(had) == float(wanted):
            continue
        out[shot.id] = (f"Its narration now lasts {spoken:.1f} s: a clip rendered now would last {wanted} s "
                        f"(this one was made for {float(had):g} s). Re-render it to match the voice.")
    return out
