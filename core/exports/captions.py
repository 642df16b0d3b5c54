"""Captions (SRT and WebVTT) from the narration, and the shot timings the animatic and the timeline share.

A shot's length is `core.timing.shot_length`: its narration audio's length once it is voiced, else the
words-per-minute estimate (marked `estimated`). Within a shot, each sentence gets a share of the time
proportional to its length — characters in a voiced shot (speech time follows the letters said), words in an
estimated one (as the estimate counts them); a sentence too long for two caption lines is cut into several cues.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from core.exports.data import ShotRow, VideoRow
from core.sentences import split_sentences
from core.timing import DEFAULT_WPM as DEFAULT_WPM
from core.timing import MIN_SHOT_S as MIN_SHOT_S
from core.timing import estimated_seconds, shot_length
MAX_LINE_CHARS = 42  # two lines of this at most per cue, the usual subtitle guideline
MIN_CUE_S = 1.0  # shorter than this a caption cannot be read before it goes
RLE, PDF = "\u202b", "\u202c"  # right-to-left embedding and its end (Unicode bidi controls)
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
    """The video's cues: each sentence of each shot's narration, cut to fit two lines of `MAX_LINE_CHARS`, timed by
    its share of the shot's words; then the same text twice in a row is one cue, and no cue is shorter than
    `MIN_CUE_S` (it borrows from its neighbours, so the cues still end with the shots)."""
    cues: list[Cue] = []
    timings = shot_timings(video.shots, wpm=wpm, min_seconds=min_seconds)
    for shot, timing in zip(video.shots, timings):
        pieces = [c for s in split_sentences(shot.narration) for c in _chunks(s)]
        # Within a voiced shot a sentence lasts about as long as its letters take to say; an estimated shot keeps
        # the words-per-minute split.
        voiced = not timing.estimated
        weights = [max(1, len(p) if voiced else word_count(p)) for p in pieces]
        t = timing.start
        for piece, share in zip(pieces, _shares(weights, timing.duration)):
            cues.append(Cue(round(t, 3), round(t + share, 3), piece))
            t += share
    return _at_least(_merge_repeats(cues), MIN_CUE_S, end=timings[-1].end if timings else 0.0)


def _shares(weights: list[int], total: float, minimum: float = MIN_CUE_S) -> list[float]:
    """`total` seconds split in proportion to `weights`, but no share under `minimum` when the shot is long enough
    for that: a short sentence gets its second from the longer ones of the same shot, so the cues keep ending
    with their shot. (A shot too short for all its cues is evened out across shots by `_at_least`.)"""
    if not weights:
        return []
    if minimum * len(weights) > total:
        return [total * w / sum(weights) for w in weights]
    held: set[int] = set()
    while True:
        free = total - minimum * len(held)
        rest = sum(w for i, w in enumerate(weights) if i not in held)
        short = {i for i, w in enumerate(weights) if i not in held and free * w / rest < minimum}
        if not short:
            return [minimum if i in held else free * w / rest for i, w in enumerate(weights)]
        held |= short


def _merge_repeats(cues: list[Cue]) -> list[Cue]:
    """A sentence said again by the next shot (a shot split in two shares its narration) is one longer cue: the
    same caption flashing off and on again reads as a glitch."""
    out: list[Cue] = []
    for cue in cues:
        if out and _same(out[-1].text, cue.text):
            out[-1] = Cue(out[-1].start, cue.end, out[-1].text)
        else:
            out.append(cue)
    return out


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


def _at_least(cues: list[Cue], seconds: float, *, end: float) -> list[Cue]:
    """Cues of at least `seconds` (a flash under a second cannot be read), in order, never overlapping, ending when
    the narration does. A short cue runs on into the next one's time; at the end, the last cues start earlier
    instead. Only a narration with less than `seconds` per cue in all keeps cues shorter (never empty ones)."""
    if not cues:
        return []
    video_end = max(end, cues[-1].end)
    starts, ends = [c.start for c in cues], [c.end for c in cues]
    for i in range(len(cues)):  # forward: push each cue to a full second, and what follows after it
        if i:
            starts[i] = max(starts[i], ends[i - 1])
        ends[i] = max(ends[i], starts[i] + seconds)
    for i in reversed(range(len(cues))):  # backward: give the overrun back from the end, keeping a second each
        ends[i] = min(ends[i], video_end if i == len(cues) - 1 else starts[i + 1])
        starts[i] = max(0.0, min(starts[i], ends[i] - seconds))
    out = [Cue(round(s, 3), round(e, 3), c.text) for s, e, c in zip(starts, ends, cues)]
    return [c for c in out if c.end > c.start]


def _chunks(sentence: str) -> Iterable[str]:
    """Cut a sentence into cues of at most two lines of `MAX_LINE_CHARS` (each returned with its line break)."""
    lines = _lines(sentence.split())
    for i in range(0, len(lines), 2):
        yield _balance(lines[i:i + 2])


def _lines(words: list[str]) -> list[str]:
    """Fill lines of at most `MAX_LINE_CHARS`; a word longer than a line (a URL) is cut across lines."""
    lines: list[str] = []
    current = ""
    for word in words:
        while len(word) > MAX_LINE_CHARS:
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:MAX_LINE_CHARS])
            word = word[MAX_LINE_CHARS:]
        if current and len(current) + 1 + len(word) > MAX_LINE_CHARS:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        lines.append(current)
    return lines


def _balance(lines: list[str]) -> str:
    """Two lines of about equal length (easier to read than a full line over a short one), each still fitting."""
    if len(lines) < 2:
        return "".join(lines)
    words = " ".join(lines).split()
    splits = [i for i in range(1, len(words))
              if len(" ".join(words[:i])) <= MAX_LINE_CHARS and len(" ".join(words[i:])) <= MAX_LINE_CHARS]
    if not splits:  # a line cut inside a long word: keep the fill as it is
        return "\n".join(lines)
    best = min(splits, key=lambda i: abs(len(" ".join(words[:i])) - len(" ".join(words[i:]))))
    return " ".join(words[:best]) + "\n" + " ".join(words[best:])


def is_rtl(line: str) -> bool:
    """A line reads right to left when its first letter with a direction is Arabic (or Hebrew)."""
    for ch in line:
        direction = unicodedata.bidirectional(ch)
        if direction in ("R", "AL"):
            return True
        if direction == "L":
            return False
    return False


def _directed(text: str) -> str:
    """Each right-to-left line wrapped in RLE … PDF, so a player that lays every line out left to right still
    puts its full stop, question mark or quote at the line's left end, where an Arabic reader expects it."""
    return "\n".join(f"{RLE}{line}{PDF}" if is_rtl(line) else line for line in text.split("\n"))


def _stamp(seconds: float, sep: str) -> str:
    ms = round(seconds * 1000)
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def to_srt(cues: Sequence[Cue]) -> str:
    blocks = [f"{n}\n{_stamp(c.start, ',')} --> {_stamp(c.end, ',')}\n{_directed(c.text)}\n"
              for n, c in enumerate(cues, 1)]
    return "\n".join(blocks)


def to_vtt(cues: Sequence[Cue]) -> str:
    blocks = [f"{n}\n{_stamp(c.start, '.')} --> {_stamp(c.end, '.')}\n{_directed(c.text)}\n"
              for n, c in enumerate(cues, 1)]
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
                text = "\n".join(lines[i + 1:]).replace(RLE, "").replace(PDF, "")  # the marks are layout only
                cues.append(Cue(start, end, text))
                break
    return cues


def _seconds(stamp: str) -> float:
    m = _TIMESTAMP.search(stamp.strip())
    if not m:
        raise ValueError(f"not a caption timestamp: {stamp!r}")
    h, mi, s, ms = (int(x) for x in m.groups())
    return h * 3600 + mi * 60 + s + ms / 1000
