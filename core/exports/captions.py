"""Captions (SRT and WebVTT) from the narration, and the shot timings the animatic and the timeline share.

A shot's length is `core.timing.shot_length`: its narration audio's length once it is voiced, else the
words-per-minute estimate (marked `estimated`). Within a shot, each sentence gets a share of the time
proportional to its length — characters in a voiced shot (speech time follows the letters said), words in an
estimated one (as the estimate counts them); a sentence too long for two caption lines is cut into several cues.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from core.exports.data import ShotRow, VideoRow
from core.sentences import split_sentences
from core.timing import DEFAULT_WPM as DEFAULT_WPM
from core.timing import MIN_SHOT_S as MIN_SHOT_S
from core.timing import estimated_seconds, shot_length
MAX_LINE_CHARS = 42  # two lines of this at most per cue, the usual subtitle guideline
_TIMESTAMP = re.compile(r"(\d+):(\d{2}):(\d{2})[,.](\d{3})")


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class ShotTiming:
    shot_id: int
    start: float
    end: float
    estimated: bool = True  # False when the shot's narration audio sets its length

    @property
    def duration(self) -> float:
        return self.end - self.start


def speaking_rate(settings: object) -> float:
    """The words-per-minute setting (`speaking_rate_wpm`) if the settings have one, else the default."""
    value = getattr(settings, "speaking_rate_wpm", None)
    return float(value) if isinstance(value, (int, float)) and value > 0 else DEFAULT_WPM


def word_count(text: str) -> int:
    return len(text.split())


def narration_seconds(text: str, *, wpm: float, min_seconds: float = MIN_SHOT_S) -> float:
    return estimated_seconds(text, wpm=wpm, min_seconds=min_seconds)


def shot_timings(shots: Sequence[ShotRow], *, wpm: float, min_seconds: float = MIN_SHOT_S) -> list[ShotTiming]:
    out: list[ShotTiming] = []
    t = 0.0
    for shot in shots:
        length = shot_length(shot.narration, voice_s=shot.voice_duration_s, wpm=wpm, min_seconds=min_seconds)
        out.append(ShotTiming(shot.shot_id, round(t, 3), round(t + length.seconds, 3), length.estimated))
        t += length.seconds
    return out


def caption_cues(video: VideoRow, *, wpm: float, min_seconds: float = MIN_SHOT_S) -> list[Cue]:
    cues: list[Cue] = []
    for shot, timing in zip(video.shots, shot_timings(video.shots, wpm=wpm, min_seconds=min_seconds)):
        pieces = [c for s in split_sentences(shot.narration) for c in _chunks(s)]

        def weight(piece: str, voiced: bool = not timing.estimated) -> int:
            return max(1, len(piece) if voiced else word_count(piece))

        total = sum(weight(p) for p in pieces)
        t = timing.start
        for piece in pieces:
            share = timing.duration * weight(piece) / total
            cues.append(Cue(round(t, 3), round(t + share, 3), _wrap(piece)))
            t += share
    return cues


def _chunks(sentence: str) -> Iterable[str]:
    """Cut a sentence into pieces that fit two caption lines."""
    current: list[str] = []
    for word in sentence.split():
        if current and len(" ".join(current + [word])) > 2 * MAX_LINE_CHARS:
            yield " ".join(current)
            current = []
        current.append(word)
    if current:
        yield " ".join(current)


def _wrap(text: str) -> str:
    if len(text) <= MAX_LINE_CHARS:
        return text
    words = text.split()
    best = min(range(1, len(words)),
               key=lambda i: abs(len(" ".join(words[:i])) - len(" ".join(words[i:]))), default=len(words))
    return " ".join(words[:best]) + "\n" + " ".join(words[best:])


def _stamp(seconds: float, sep: str) -> str:
    ms = round(seconds * 1000)
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def to_srt(cues: Sequence[Cue]) -> str:
    blocks = [f"{n}\n{_stamp(c.start, ',')} --> {_stamp(c.end, ',')}\n{c.text}\n" for n, c in enumerate(cues, 1)]
    return "\n".join(blocks)


def to_vtt(cues: Sequence[Cue]) -> str:
    blocks = [f"{n}\n{_stamp(c.start, '.')} --> {_stamp(c.end, '.')}\n{c.text}\n" for n, c in enumerate(cues, 1)]
    return "WEBVTT\n\n" + "\n".join(blocks)


def parse_captions(text: str) -> list[Cue]:
    """Read SRT or WebVTT back (cue numbers, the WEBVTT header and cue settings are tolerated)."""
    cues: list[Cue] = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()):
        lines = block.split("\n")
        for i, line in enumerate(lines):
            if "-->" in line:
                left, right = line.split("-->", 1)
                start, end = _seconds(left), _seconds(right.split()[0])
                cues.append(Cue(start, end, "\n".join(lines[i + 1:])))
                break
    return cues


def _seconds(stamp: str) -> float:
    m = _TIMESTAMP.search(stamp.strip())
    if not m:
        raise ValueError(f"not a caption timestamp: {stamp!r}")
    h, mi, s, ms = (int(x) for x in m.groups())
    return h * 3600 + mi * 60 + s + ms / 1000
