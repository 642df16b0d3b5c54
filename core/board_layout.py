"""The partitioning storyboard builder: a video's narration cut into shots and keyframes. Pure and deterministic.

The rules, in the order they are applied:

1. **Shots partition the narration.** Every sentence is in exactly one frame, frames are contiguous runs of whole
   sentences in script order, and a shot is a run of frames; nothing is dropped, repeated or reordered.
2. **Scenes are boundaries.** A scene mark (a scene subheading inside the video) starts a new shot: no shot and no
   frame runs across one. Every scene with narration gets at least one shot.
3. **No repeats.** A frame never shares a sentence with another, so a video with fewer sentences than the grid asks
   for gets fewer frames (and, below one per shot, fewer shots); a one-sentence video is one shot of one frame.
   Each such departure from what was asked is said in a note for the producer.
4. **Density.** `fixed`: about `shots` × `frames` (default 4 × 3). `paced`: one frame per `pace_s` seconds of
   narration at `wpm` words a minute (at least one per scene, at most one per sentence), in shots of at most
   `frames` frames. In both, frames are shared out over the scenes by narration length and each scene's frames over
   its sentences by their word counts (greedy cuts at the balanced boundaries, O(n)).
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from math import ceil

from core.errors import ValidationError

MAX_SHOTS = 200
MAX_FRAMES = 50
MAX_PACE_S = 600.0
DEFAULT_WPM = 130.0

Span = tuple[int, int]  # sentence indices [a, b)


@dataclass(frozen=True)
class Density:
    """What the producer asked for. `kind` "fixed" uses `shots` × `frames`; "paced" uses `pace_s` and `frames` as
    the most frames a shot may hold."""

    kind: str = "fixed"
    shots: int = 4
    frames: int = 3
    pace_s: float | None = None
    wpm: float = DEFAULT_WPM

    def __post_init__(self) -> None:
        if self.kind not in ("fixed", "paced"):
            raise ValidationError(f"Storyboard density must be “fixed” or “paced” (got {self.kind!r}).")
        if not 1 <= self.shots <= MAX_SHOTS:
            raise ValidationError(f"A storyboard needs between 1 and {MAX_SHOTS} shots (got {self.shots}).")
        if not 1 <= self.frames <= MAX_FRAMES:
            raise ValidationError(f"A shot needs between 1 and {MAX_FRAMES} frames (got {self.frames}).")
        if self.kind == "paced" and (self.pace_s is None or not 0 < self.pace_s <= MAX_PACE_S):
            raise ValidationError(
                f"A paced storyboard needs the seconds of narration per frame, more than 0 and at most "
                f"{MAX_PACE_S:g} (got {self.pace_s}).")
        if self.wpm <= 0:
            raise ValidationError(f"The speaking rate must be more than 0 words a minute (got {self.wpm}).")

    def label(self) -> str:
        if self.kind == "paced":
            return f"paced, one frame per {self.pace_s:g} s, at most {self.frames} a shot"
        return f"{self.shots} × {self.frames}"


@dataclass(frozen=True)
class Layout:
    """Per shot, its frames' sentence spans; `note` says where the board departs from what was asked."""

    shots: tuple[tuple[Span, ...], ...]
    note: str = ""

    @property
    def frame_count(self) -> int:
        return sum(len(s) for s in self.shots)


def narration_seconds(words: int, wpm: float = DEFAULT_WPM) -> float:
    return words * 60.0 / wpm


def layout_board(sentences: Sequence[str], density: Density, *, scene_starts: Sequence[int] = ()) -> Layout:
    """Cut `sentences` into shots of frames (the module docstring's rules). `scene_starts`: 0-based indices of
    sentences that open a scene (0 and out-of-range indices are ignored)."""
    n = len(sentences)
    if n == 0:
        return Layout(shots=(), note="This video has no narration: add frames by hand.")
    # Sentences are stripped: words are spaces + 1 (at C speed) unless spaces run together.
    words = [s.count(" ") + 1 if "  " not in s else len(s.split()) or 1 for s in sentences]
    cuts = sorted({i for i in scene_starts if 0 < i < n})
    bounds = [0, *cuts, n]
    scenes = list(zip(bounds, bounds[1:]))
    scene_words = [sum(words[a:b]) for a, b in scenes]
    sizes = [b - a for a, b in scenes]
    k = len(scenes)
    notes: list[str] = []

    if density.kind == "paced":
        assert density.pace_s is not None
        seconds = narration_seconds(sum(words), density.wpm)
        wanted = max(1, round(seconds / density.pace_s))
        total = min(n, max(k, wanted))
        frames_of = apportion(total, scene_words, [1] * k, sizes)
        shots_of = [ceil(f / density.frames) for f in frames_of]
        notes.append(f"Paced: {total} frame(s) for {seconds:.0f} s of narration at {density.wpm:g} words a minute "
                     f"(one per {density.pace_s:g} s).")
        if total < wanted:
            notes.append(f"The narration has {n} sentence(s), so {total} frame(s) instead of {wanted}: "
                         "a frame never repeats a sentence.")
    else:
        asked = density.shots * density.frames
        total = min(n, max(k, asked))
        frames_of = apportion(total, scene_words, [1] * k, sizes)
        least = [ceil(f / density.frames) for f in frames_of]
        shot_total = min(total, max(sum(least), density.shots))
        shots_of = apportion(shot_total, frames_of, least, frames_of)
        if n == 1 and asked > 1:
            notes.append(f"This video has one sentence of narration: one shot of one frame "
                         f"(not {density.shots} × {density.frames}), so that no frame repeats another.")
        elif total < asked:
            notes.append(f"This video has {n} sentences of narration: {shot_total} shot(s) and {total} frame(s) "
                         f"instead of {density.shots} × {density.frames}, so that no frame repeats another.")
        if shot_total > density.shots:
            notes.append(f"{k} scenes: {shot_total} shots instead of {density.shots}, so that no shot runs across "
                         "a scene.")

    shots: list[tuple[Span, ...]] = []
    for (a, b), f, s in zip(scenes, frames_of, shots_of):
        cut = balanced_cuts(words[a:b], f)
        spans = [(a + x, a + y) for x, y in zip(cut, cut[1:])]
        per_shot = [f // s + (1 if i < f % s else 0) for i in range(s)]
        at = 0
        for count in per_shot:
            shots.append(tuple(spans[at:at + count]))
            at += count
    return Layout(shots=tuple(shots), note=" ".join(notes))


def balanced_cuts(weights: Sequence[int], parts: int) -> list[int]:
    """Boundaries `[0, c1, …, n]` cutting items into `parts` non-empty contiguous runs (needs 1 ≤ parts ≤ n):
    run j ends before the first item whose midpoint lies at or past j/parts of the total weight, moved as little as
    needed to leave every run at least one item. A bisection per boundary over the items' doubled midpoints."""
    n = len(weights)
    if parts <= 1:
        return [0, n]
    doubled_mid = [2 * before + w for before, w in zip(accumulate(weights, initial=0), weights)]
    total = sum(weights)
    cuts = [0]
    for j in range(1, parts):
        k = bisect_left(doubled_mid, 2 * total * j / parts, 1)
        cuts.append(min(max(k, cuts[-1] + 1), n - (parts - j)))
    cuts.append(n)
    return cuts


def apportion(total: int, weights: Sequence[int], low: Sequence[int], high: Sequence[int]) -> list[int]:
    """`total` units shared out in proportion to `weights`, each share between its `low` and `high` (needs
    sum(low) ≤ total ≤ sum(high)): start at the lows, then give each unit to the share furthest below its ideal."""
    out = list(low)
    left = total - sum(out)
    weight = sum(weights) or 1
    heap = [(-(total * w / weight - out[i]), i) for i, w in enumerate(weights) if out[i] < high[i]]
    heapq.heapify(heap)
    while left > 0 and heap:
        _gap, i = heapq.heappop(heap)
        out[i] += 1
        left -= 1
        if out[i] < high[i]:
            heapq.heappush(heap, (-(total * weights[i] / weight - out[i]), i))
    return out
