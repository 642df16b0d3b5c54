"""Captions (SRT and WebVTT) from the narration, and the timing rule the animatic and the timeline share.

The timing rule: a shot lasts as long as its narration takes to speak at a speaking rate in words per minute
(never less than `MIN_SHOT_S`, so a silent shot is still seen). Within a shot, each sentence gets a share of
the time proportional to its words; a sentence too long for two caption lines is cut into several cues.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from core.exports.data import ShotRow, VideoRow
from core.sentences import split_sentences

DEFAULT_WPM = 130.0  # a measured narration pace for Arabic and English course voice-over
MIN_SHOT_S = 2.0
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
    return max(min_seconds, word_count(text) * 60.0 / wpm)


def shot_timings(shots: Sequence[ShotRow], *, wpm: float, min_seconds: float = MIN_SHOT_S) -> list[ShotTiming]:
    out: list[ShotTiming] = []
    t = 0.0
    for shot in shots:
        d = narration_seconds(shot.narration, wpm=wpm, min_seconds=min_seconds)
        out.append(ShotTiming(shot.shot_id, round(t, 3), round(t + d, 3)))
        t += d
    return out


def caption_cues(video: VideoRow, *, wpm: float, min_seconds: float = MIN_SHOT_S) -> list[Cue]:
    cues: list[Cue] = []
    for shot, timing in zip(video.shots, shot_timings(video.shots, wpm=wpm, min_seconds=min_seconds)):
        pieces = [c for s in split_sentences(shot.narration) for c in _chunks(s)]
        total = sum(max(1, word_count(p)) for p in pieces)
        t = timing.start
        for piece in pieces:
            share = timing.duration * max(1, word_count(piece)) / total
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
