"""The cut: what is on screen when, for one video. The animatic renders it; the timelines write it down.

On the shared timing rule (`captions.shot_timings`), a shot with a selected clip shows the clip (up to its
length) and then holds on its last frame's still for the rest of the narration; a shot without a clip shows
its frames' stills one after another, sharing the shot's time; a shot with no image at all is a gap (the
animatic draws a title card there).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from core.exports.captions import ShotTiming, shot_timings
from core.exports.data import FrameRow, ShotRow, VideoRow

EventKind = Literal["clip", "still", "gap"]


@dataclass(frozen=True)
class CutEvent:
    shot: ShotRow
    kind: EventKind
    media: Path | None
    start: float  # seconds from the start of the video
    duration: float
    frame: FrameRow | None = None  # the still's frame

    @property
    def end(self) -> float:
        return self.start + self.duration


def video_cut(video: VideoRow, *, wpm: float) -> list[CutEvent]:
    events: list[CutEvent] = []
    for shot, timing in zip(video.shots, shot_timings(video.shots, wpm=wpm)):
        events.extend(_shot_events(shot, timing))
    return events


def _shot_events(shot: ShotRow, timing: ShotTiming) -> list[CutEvent]:
    stills = [f for f in shot.frames if f.image_path is not None]
    if shot.clip_path is not None:
        clip_len = min(timing.duration, shot.clip_duration_s or timing.duration)
        out = [CutEvent(shot, "clip", shot.clip_path, timing.start, clip_len)]
        rest = timing.duration - clip_len
        if rest > 1e-3:
            last = stills[-1] if stills else None
            out.append(CutEvent(shot, "still" if last else "gap", last.image_path if last else None,
                                timing.start + clip_len, rest, last))
        return out
    if not stills:
        return [CutEvent(shot, "gap", None, timing.start, timing.duration)]
    share = timing.duration / len(stills)
    return [CutEvent(shot, "still", f.image_path, timing.start + i * share, share, f) for i, f in enumerate(stills)]
