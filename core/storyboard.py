"""The storyboard builder: a video's narration cut into shots × frames. Pure and deterministic.

The body is split into sentences, then the sentences are laid out over `shots * frames` frames in reading order,
balanced by character count: each sentence goes to the frame whose share of the text holds its midpoint
(a greedy pass over cumulative character counts, O(n)). Sentences are never cut. The layout is then nudged so
that no frame is empty and no frame is skipped:

- more sentences than frames: frames hold one or more whole sentences;
- fewer sentences than frames: consecutive frames reuse the nearest sentence (a long sentence spans more frames);
- an empty body: the requested grid with empty scene text, for the producer to fill in by hand.

A shot's `narration` is the sentences its frames cover, in order and without repeats; its `summary` is its first
sentence, cut to about a dozen words.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from core.errors import ValidationError
from core.sentences import split_sentences

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
    sentences = split_sentences(body)
    total = shots * frames
    per_frame = _layout(sentences, total)
    plans: list[ShotPlan] = []
    for s in range(shots):
        groups = per_frame[s * frames : (s + 1) * frames]
        covered = _unique_in_order(index for group in groups for index in group)
        narration = " ".join(sentences[i] for i in covered)
        summary = summarize(sentences[covered[0]]) if covered else ""
        frame_plans = tuple(FramePlan(" ".join(sentences[i] for i in group)) for group in groups)
        plans.append(ShotPlan(summary=summary, narration=narration, frames=frame_plans))
    return StoryboardPlan(shots=tuple(plans))


def summarize(sentence: str, *, words: int = SUMMARY_WORDS) -> str:
    """A shot's one-line summary: the sentence without its end mark, cut to `words` words with an ellipsis."""
    parts = sentence.split()
    if len(parts) > words:
        return " ".join(parts[:words]).rstrip(_TRAILING_MARKS) + "…"
    return " ".join(parts).rstrip(_TRAILING_MARKS) or sentence.strip()


def _layout(sentences: list[str], frame_count: int) -> list[list[int]]:
    """For each frame, the indices of the sentences it shows (contiguous, in order, never empty if any exist)."""
    n = len(sentences)
    if n == 0:
        return [[] for _ in range(frame_count)]
    # Weight by length so a long sentence counts for more; +1 keeps every sentence's weight positive.
    weights = [len(s) + 1 for s in sentences]
    total = sum(weights)
    starts = _cumulative_starts(weights)
    if n >= frame_count:
        ideal = [min(frame_count - 1, (2 * starts[i] + weights[i]) * frame_count // (2 * total)) for i in range(n)]
        frame_of = _monotone_cover(ideal, frame_count)
        groups: list[list[int]] = [[] for _ in range(frame_count)]
        for i, f in enumerate(frame_of):
            groups[f].append(i)
        return groups
    # Fewer sentences than frames: each frame shows the sentence under its own midpoint.
    ideal = [_sentence_at(starts, ((2 * f + 1) * total) / (2 * frame_count)) for f in range(frame_count)]
    return [[i] for i in _monotone_cover(ideal, n)]


def _monotone_cover(ideal: list[int], targets: int) -> list[int]:
    """Map items 0..k-1 onto 0..targets-1 as close to `ideal` as allowed by: start at 0, end at targets-1,
    step by 0 or 1. Needs k >= targets. The result hits every target, so no frame (or sentence) is skipped."""
    k = len(ideal)
    out: list[int] = []
    prev = -1
    for i, want in enumerate(ideal):
        low = max(targets - k + i, prev if prev >= 0 else 0)  # leave room to reach the last target
        high = min(i, targets - 1, prev + 1)
        value = min(max(want, low), high)
        out.append(value)
        prev = value
    return out


def _cumulative_starts(weights: list[int]) -> list[int]:
    starts: list[int] = []
    acc = 0
    for w in weights:
        starts.append(acc)
        acc += w
    return starts


def _sentence_at(starts: list[int], position: float) -> int:
    """Index of the sentence whose span of the text holds `position`."""
    return max(0, bisect_right(starts, position) - 1)


def _unique_in_order(indices: Iterable[int]) -> list[int]:
    seen: set[int] = set()
    out: list[int] = []
    for i in indices:
        if i not in seen:
            seen.add(i)
            out.append(i)
    return out
