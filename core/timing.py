"""How long a shot lasts: the one rule the cut, the caption cues, the shot list and the clip length all use.

A shot with narration audio lasts exactly as long as its audio (the voice sets the pace; no minimum, the audio
carries its own pauses). A shot without audio lasts as long as its narration takes to say at a speaking rate in
words per minute, never less than `MIN_SHOT_S` so a silent shot is still seen — and is marked *estimated*, so
every page and export can say which lengths are real and which are guesses.
"""

from __future__ import annotations

from dataclasses import dataclass

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

