"""The storyboard builder: a video's narration cut into shots × frames. Pure and deterministic.

The body is split into sentences, then the sentences are laid out over `shots * frames` frames in reading order,
balanced by character count: each sentence goes to the frame whose share of the text holds its midpoint
(a greedy pass over cumulative character counts, O(n)). Sentences are never cut. The layout is then nudged so
that no frame is empty and no frame is skipped:

- more sentences than frames: frames hold one or more whole sentences;
- fewer sentences than frames: consecutive frames reuse the nearest sentence (a long sentence spans more frames);
- an empty body: the requested grid with empty scene text, for the producer to fill in by hand.

A shot's `narration` is the stretch of the body its frames cover, verbatim from its first sentence to its last
(line breaks kept), and `narration_span` is where that stretch lies in the body, so a store can keep the span
instead of a third copy of the text; its `summary` is its first sentence, cut to about a dozen words.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from core.errors import ValidationError
from core.sentences import locate_sentences

# Stored with every storyboard, so a layout produced by an older builder can be told apart.
BUILDER_VERSION = "1"
SUMMARY_WORDS = 12
MAX_SHOTS = 200
MAX_FRAMES = 50
_TRAILING_MARKS = " .!?؟؛…،,:;-–—"


@dataclass(frozen=True)
class FramePlan:
    scene_text: str


@dataclass(frozen=True)
class ShotPlan:
    summary: str
    narration: str
    frames: tuple[FramePlan, ...]
    narration_span: tuple[int, int] = (0, 0)  # body[start:end] == narration


@dataclass(frozen=True)
class StoryboardPlan:
    shots: tuple[ShotPlan, ...]

    @property
    def frame_count(self) -> int:
        return sum(len(shot.frames) for shot in self.shots)

    def to_json(self) -> dict[str, Any]:
        return {
            "builder_version": BUILDER_VERSION,
            "shots": [
                {
                    "summary": shot.summary,
                    "narration": shot.narration,
                    "narration_span": list(shot.narration_span),
                    "frames": [{"scene_text": frame.scene_text} for frame in shot.frames],
                }
                for shot in self.shots
            ],
        }


def build_storyboard(body: str, *, shots: int = 4, frames: int = 3) -> StoryboardPlan:
    """Cut `body` into `shots` shots of `frames` frames each (see the module docstring for the rules)."""
    if not 1 <= shots <= MAX_SHOTS:
        raise ValidationError(f"A storyboard needs between 1 and {MAX_SHOTS} shots (got {shots}).")
    if not 1 <= frames <= MAX_FRAMES:
        raise ValidationError(f"A shot needs between 1 and {MAX_FRAMES} frames (got {frames}).")
    located = locate_sentences(body)
    sentences = located.texts
    spans = _layout(sentences, shots * frames)
    plans: list[ShotPlan] = []
    for s in range(shots):
        own = spans[s * frames : (s + 1) * frames]
        # Frames cover contiguous, non-decreasing runs, so the shot covers first frame's start .. last frame's end.
        first, last = own[0][0], own[-1][1]
        span = (located.starts[first], located.ends[last - 1]) if last > first else (0, 0)
        plans.append(ShotPlan(
            summary=summarize(sentences[first]) if last > first else "",
            narration=body[span[0]:span[1]],
            frames=tuple(FramePlan(" ".join(sentences[a:b])) for a, b in own),
            narration_span=span,
        ))
    return StoryboardPlan(shots=tuple(plans))


def summarize(sentence: str, *, words: int = SUMMARY_WORDS) -> str:
    """A shot's one-line summary: the sentence without its end mark, cut to `words` words with an ellipsis."""
    parts = sentence.split()
    if len(parts) > words:
        return " ".join(parts[:words]).rstrip(_TRAILING_MARKS) + "…"
    return " ".join(parts).rstrip(_TRAILING_MARKS) or sentence.strip()


def _layout(sentences: list[str], frame_count: int) -> list[tuple[int, int]]:
    """For each frame, the span `[a, b)` of sentence indices it shows: contiguous, in order, never empty when
    there are sentences (an empty body gives empty spans)."""
    n = len(sentences)
    if n == 0:
        return [(0, 0)] * frame_count
    # Weight by length so a long sentence counts for more; +1 keeps every sentence's weight positive.
    weights = [len(s) + 1 for s in sentences]
    starts = list(accumulate(weights, initial=0))
    total = starts.pop()
    if n >= frame_count:
        # Each sentence goes to the frame whose share of the text holds its midpoint.
        twice_total = 2 * total
        ideal = [(2 * start + w) * frame_count // twice_total for start, w in zip(starts, weights)]
        frame_of = _monotone_cover(ideal, frame_count)
        firsts = [0] * frame_count
        for i in range(n - 1, -1, -1):
            firsts[frame_of[i]] = i
        return [(firsts[f], firsts[f + 1] if f + 1 < frame_count else n) for f in range(frame_count)]
    # Fewer sentences than frames: each frame shows the sentence under its own midpoint.
    ideal = [max(0, bisect_right(starts, (2 * f + 1) * total / (2 * frame_count)) - 1) for f in range(frame_count)]
    return [(i, i + 1) for i in _monotone_cover(ideal, n)]


def _monotone_cover(ideal: list[int], targets: int) -> list[int]:
    """Map items 0..k-1 onto 0..targets-1 as close to `ideal` as allowed by: start at 0, end at targets-1,
    step by 0 or 1. Needs k >= targets. The result hits every target, so no frame (or sentence) is skipped."""
    k = len(ideal)
    last = targets - 1
    out: list[int] = []
    prev = 0
    for i, want in enumerate(ideal):
        low = targets - k + i  # leave room to reach the last target
        if low < prev:
            low = prev
        high = prev + 1 if i else 0
        if high > last:
            high = last
        prev = low if want < low else high if want > high else want
        out.append(prev)
    return out
