"""The offline planner: the deterministic storyboard builder's cut, dressed as a plan. No network, no cost.

Shots take the builder's sentence layout (balanced by length); sizes cycle wide → medium → close-up so cuts
vary; the camera move is a slow push in for the first shot and static after, as the offline board always had.
"""

from __future__ import annotations

from core.planner.types import KeyframePlan, PlannedShot, PlanRequest, ShotPlanReply
from core.storyboard import summarize

OFFLINE_PLANNER_VERSION = "offline-plan-1"
_SIZES = ("wide", "medium", "close-up")
_ROLES = ("start", "middle", "end")


class OfflinePlanner:
    name = "offline"
    model = "offline"
    template_version = OFFLINE_PLANNER_VERSION

    def plan(self, req: PlanRequest) -> ShotPlanReply:
        n = len(req.sentences)
        count = max(1, min(req.shots, n))
        weights = [len(s) + 1 for s in req.sentences]
        total = sum(weights) or 1
        # Greedy cut at the shot boundaries of cumulative length; every shot gets at least one sentence.
        bounds: list[int] = []
        running = 0
        for i, w in enumerate(weights):
            running += w
            need_left = count - len(bounds) - 1
            if need_left and (running * count >= total * (len(bounds) + 1) or n - i - 1 == need_left):
                bounds.append(i + 1)
        starts = [0, *bounds]
        ends = [*bounds, n]
        shots = []
        for number, (a, b) in enumerate(zip(starts, ends)):
            text = " ".join(req.sentences[a:b])
            subject = summarize(req.sentences[a]) if n else ""
            roles = _ROLES[: req.frames] if req.frames > 1 else ("start",)
            shots.append(PlannedShot(
                first_sentence=a + 1, last_sentence=b, shot_size=_SIZES[number % 3],
                camera_move="push in" if number == 0 else "static", subject=subject,
                location=req.style.setting, keyframes=tuple(
                    KeyframePlan(description=f"{role} of the shot: {subject}") for role in roles),
                motion_prompt=f"{'Slow push in' if number == 0 else 'Static camera'} on {subject}" if text else "",
            ))
        return ShotPlanReply(shots=tuple(shots))
