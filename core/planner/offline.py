"""The offline planner: the partitioning builder's cut (`core.board_layout`), dressed as a plan. No network, no cost.

Shots and frames come from `layout_board` (every sentence in exactly one frame, scenes respected, fewer frames
instead of repeats). Each keyframe's beat is its own run of sentences; its description (what it shows) is the
script's visual direction standing in that run when there is one, else the beat itself. Sizes cycle wide → medium
→ close-up so cuts vary; the camera move is a slow push in for the first shot and static after, as the offline
board always had. No two keyframes of a video get the same description (a repeated one says where it is).
"""

from __future__ import annotations

from collections.abc import Sequence

from core.board_layout import Density, layout_board
from core.planner.types import KeyframePlan, PlannedShot, PlanRequest, ShotPlanReply
from core.storyboard import summarize

OFFLINE_PLANNER_VERSION = "offline-plan-2"
_SIZES = ("wide", "medium", "close-up")


class OfflinePlanner:
    name = "offline"
    model = "offline"
    template_version = OFFLINE_PLANNER_VERSION

    def plan(self, req: PlanRequest) -> ShotPlanReply:
        density = Density(kind=req.density, shots=req.shots, frames=req.frames, pace_s=req.pace_s, wpm=req.wpm)
        return offline_plan(req.sentences, density, scene_starts=req.scene_starts,
                            directions=list(zip(req.direction_at, req.directions)), location=req.style.setting)


def offline_plan(sentences: Sequence[str], density: Density, *, scene_starts: Sequence[int] = (),
                 directions: Sequence[tuple[int, str]] = (), location: str = "") -> ShotPlanReply:
    """The deterministic plan of a video. `directions`: (index of the sentence it stands before, text)."""
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
            beat = " ".join(sentences[a:b])
            seen = [t for i in range(a, b) for t in shown.get(i, ())]
            keys.append(KeyframePlan(description=_unique("; ".join(seen) or beat, used, number + 1, f), beat=beat))
        subject = summarize(sentences[frames[0][0]])
        move = "push in" if number == 0 else "static"
        shots.append(PlannedShot(
            first_sentence=frames[0][0] + 1, last_sentence=frames[-1][1], shot_size=_SIZES[number % 3],
            camera_move=move, subject=subject, location=location, keyframes=tuple(keys),
            motion_prompt=f"{'Slow push in' if number == 0 else 'Static camera'} on {subject}",
        ))
    return ShotPlanReply(shots=tuple(shots), note=layout.note)


def _unique(text: str, used: set[str], shot: int, frame: int) -> str:
    key = " ".join(text.split()).casefold()
    if key in used:
        text = f"{text} (shot {shot}, frame {frame})"
        key = " ".join(text.split()).casefold()
    used.add(key)
    return text
