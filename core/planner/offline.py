"""The offline planner: the partitioning builder's cut (`core.board_layout`), dressed as a plan. No network, no cost.

Shots and frames come from `layout_board` (every sentence in exactly one frame, scenes respected, fewer frames
instead of repeats). Each keyframe's beat is its own run of sentences; its description (what it shows) is the
script's visual direction standing in that run when there is one, else the beat's first sentence (cut to
`PICTURE_WORDS` words). Sizes cycle wide → medium
→ close-up so cuts vary; the camera move is a slow push in for the first shot and static after, as the offline
board always had. No two keyframes of a video get the same description (a repeated one says where it is).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from core.board_layout import Density, layout_board
from core.planner.types import KeyframePlan, PlannedShot, PlanRequest, ShotPlanReply
from core.prompts.keyframe import drawable
from core.sentences import summarize

OFFLINE_PLANNER_VERSION = "offline-plan-2"
_SIZES = ("wide", "medium", "close-up")
PICTURE_WORDS = 24  # a keyframe without a direction shows its beat's first sentence, cut to this many words


class OfflinePlanner:
    name = "offline"
    model = "offline"
    template_version = OFFLINE_PLANNER_VERSION

    def plan(self, req: PlanRequest, *, gate: AbstractContextManager[Any] | None = None) -> ShotPlanReply:
        density = Density(kind=req.density, shots=req.shots, frames=req.frames, pace_s=req.pace_s, wpm=req.wpm)
        return offline_plan(req.sentences, density, scene_starts=req.scene_starts,
                            directions=list(zip(req.direction_at, req.directions)), location=req.style.setting)


@dataclass(frozen=True, slots=True)
class OfflineShot:
    """One shot of the offline cut, as plain data (the board store reads it without building a plan)."""

    first: int  # 0-based sentence index, inclusive
    last: int  # exclusive
    shot_size: str
    camera_move: str
    subject: str
    motion_prompt: str
    keyframes: tuple[tuple[str, str], ...]  # (description, beat)


def offline_shots(sentences: Sequence[str], density: Density, *, scene_starts: Sequence[int] = (),
                  directions: Sequence[tuple[int, str]] = ()) -> tuple[list[OfflineShot], str]:
    """The deterministic cut of a video and its note. `directions`: (index of the sentence it stands before, text)."""
    layout = layout_board(sentences, density, scene_starts=scene_starts)
    shown: dict[int, list[str]] = {}
    for at, text in directions:
        if text.strip():
            shown.setdefault(at, []).append(text.strip())
    used: set[str] = set()
    shots = []
    for number, frames in enumerate(layout.shots):
        keys = []
        for f, (a, b) in enumerate(frames, start=1):
            seen = [t for i in range(a, b) for t in shown.get(i, ())] if shown else []
            picture = "; ".join(seen) if seen else _picture(sentences[a])
            keys.append((_unique(picture, used, number + 1, f), " ".join(sentences[a:b])))
        subject = summarize(sentences[frames[0][0]])
        first = number == 0
        shots.append(OfflineShot(
            first=frames[0][0], last=frames[-1][1], shot_size=_SIZES[number % 3],
            camera_move="push in" if first else "static", subject=subject,
            motion_prompt=f"{'Slow push in' if first else 'Static camera'} on {drawable(subject)}"
            if drawable(subject) else "", keyframes=tuple(keys)))
    return shots, layout.note


def offline_plan(sentences: Sequence[str], density: Density, *, scene_starts: Sequence[int] = (),
                 directions: Sequence[tuple[int, str]] = (), location: str = "") -> ShotPlanReply:
    """The deterministic plan of a video. `directions`: (index of the sentence it stands before, text)."""
    shots, note = offline_shots(sentences, density, scene_starts=scene_starts, directions=directions)
    return ShotPlanReply(note=note, shots=tuple(
        PlannedShot(first_sentence=s.first + 1, last_sentence=s.last, shot_size=s.shot_size,
                    camera_move=s.camera_move, subject=s.subject, location=location, motion_prompt=s.motion_prompt,
                    keyframes=tuple(KeyframePlan(description=d, beat=b) for d, b in s.keyframes))
        for s in shots))


def _picture(sentence: str) -> str:
    return sentence if sentence.count(" ") < PICTURE_WORDS else summarize(sentence, words=PICTURE_WORDS)


def _unique(text: str, used: set[str], shot: int, frame: int) -> str:
    key = " ".join(text.split()).casefold()
    if key in used:
        text = f"{text} — {shot}.{frame}"  # shot.frame: digits read the same in either direction
        key = " ".join(text.split()).casefold()
    used.add(key)
    return text
