"""The pre-check of a "render all": what will render, what cannot and why, what it costs — one summary.

Read before anything is queued, so it never says "Nothing was queued"; each reason names its shot or frame once;
the budget is mentioned only when money is involved (offline renders are free, so no "raise the budget").
The queue functions (`core.jobs.request_video_clips` / `request_video_images`) still decide for themselves: this
is what the producer reads before confirming.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal

from sqlalchemy.orm import Session

from core import approvals
from core.errors import NotFoundError
from core.jobs import planning
from core.jobs.planning import CostEstimate
from core.models import Shot, Video
from core.review import APPROVED_STATUSES, clip_block_reason, clip_gate_relaxed, current_shots
from core.settings import Settings

Kind = Literal["image", "clip"]
_LABEL_PREFIX = re.compile(r"^(Shot|Frame) \d+( of shot \d+)?: ")
SHOWN_REASONS = 5


@dataclass(frozen=True)
class BatchCheck:
    """`ready`: labels of what will render; `blocked`: label → why not; `reused`: already up to date (not paid
    again); `budget_note`: said only when money is involved; `admitted`: something will render and the budget
    allows it."""

    kind: Kind
    ready: tuple[str, ...]
    blocked: dict[str, str] = field(default_factory=dict)
    reused: int = 0
    estimate: CostEstimate | None = None
    budget_note: str | None = None
    admitted: bool = True

    @property
    def noun(self) -> str:
        return "shot" if self.kind == "clip" else "frame"

    def cost_text(self) -> str:
        """"free (offline)", "≈ $1.20" (rate card prices) or "$1.20" (the provider's own estimate)."""
        est = self.estimate
        if est is None or est.source == "free":
            return "free (offline)"
        return f"{'≈ ' if est.source == 'rate card' else ''}${est.total_usd:.2f}"

    def headline(self) -> str:
        """One sentence: "3 shots will render (2 image(s) first), free (offline); 1 cannot yet; 2 are up to date."."""
        def n(count: int) -> str:
            return f"{count} {self.noun}{'' if count == 1 else 's'}"

        first = f"{n(len(self.ready))} will render"
        if self.ready:
            images = self.estimate.images if self.estimate else 0
            first += (f" ({images} image(s) first)" if self.kind == "clip" and images else "") + f", {self.cost_text()}"
        parts = [first]
        if self.blocked:
            parts.append(f"{n(len(self.blocked))} cannot yet")
        if self.reused:
            parts.append(f"{n(self.reused)} {'is' if self.reused == 1 else 'are'} up to date")
        return "; ".join(parts) + "."

    def reasons(self, limit: int = SHOWN_REASONS) -> list[str]:
        """"Shot 2: frame(s) 1 are not approved yet", at most `limit` lines and a count of the rest."""
        lines = [f"{label}: {why}" for label, why in list(self.blocked.items())[:limit]]
        if len(self.blocked) > limit:
            lines.append(f"and {len(self.blocked) - limit} more")
        return lines


def _without_label(reason: str) -> str:
    """A gate's reason without the "Shot 3: " it starts with (the summary names the shot once)."""
    text = _LABEL_PREFIX.sub("", reason).rstrip(".")
    return text[:1].lower() + text[1:] if text else text


def check_video_clips(session: Session, video_id: int, *, settings: Settings) -> BatchCheck:
    """Every live shot of the video: will its clip render, is it up to date, or why not."""
    shots = _shots(session, video_id)
    relax = clip_gate_relaxed(settings)
    ready: list[str] = []
    blocked: dict[str, str] = {}
    reused = 0
    images = 0
    provider = settings.active_renderer
    for shot in shots:
        label = f"Shot {shot.position}"
        frames = planning.live_frames(shot)
        if shot.selected_clip_id is not None and approvals.shot_status(session, shot) in APPROVED_STATUSES:
            reused += 1
            continue
        reason = clip_block_reason(session, shot.id, relax=relax)
        ends = frames[:1] + (frames[-1:] if len(frames) > 1 and planning.takes_end_frame(settings, provider)
                             else [])
        unprompted = [str(f.position) for f in ends if f.selected_image_id is None and f.selected_prompt_id is None]
        if reason is None and unprompted:
            reason = f"frame(s) {', '.join(unprompted)} have no prompt yet (refine them on the Prompts page)"
        if reason is not None:
            blocked[label] = _without_label(reason)
            continue
        ready.append(label)
        images += sum(1 for f in ends if f.selected_image_id is None)
    estimate = planning.estimate_jobs(session, settings=settings, images=images, clips=len(ready))
    return _with_budget(session, video_id, BatchCheck("clip", tuple(ready), blocked, reused, estimate))


def check_video_images(session: Session, video_id: int, *, settings: Settings) -> BatchCheck:
    """Every live frame of the video without an image: will it render, or why not."""
    ready: list[str] = []
    blocked: dict[str, str] = {}
    reused = 0
    for shot in _shots(session, video_id):
        for frame in planning.live_frames(shot):
            label = f"Shot {shot.position} · frame {frame.position}"
            if frame.selected_image_id is not None:
                reused += 1
            elif frame.review_status == "locked":
                blocked[label] = "locked: its image cannot change"
            elif frame.selected_prompt_id is None:
                blocked[label] = "no prompt yet (refine it on the Prompts page)"
            else:
                ready.append(label)
    estimate = planning.estimate_jobs(session, settings=settings, images=len(ready), clips=0)
    return _with_budget(session, video_id, BatchCheck("image", tuple(ready), blocked, reused, estimate))


def _shots(session: Session, video_id: int) -> list[Shot]:
    if session.get(Video, video_id) is None:
        raise NotFoundError(f"Video {video_id} does not exist")
    return current_shots(session, video_id)


def _with_budget(session: Session, video_id: int, check: BatchCheck) -> BatchCheck:
    """Add the budget's word when money is involved; refuse when nothing would render or the budget is passed."""
    from core import cost  # cost reads jobs; a local import keeps the layers one-way

    est = check.estimate
    if not check.ready:
        return replace(check, admitted=False)
    if est is None or est.source == "free" or est.total_usd <= 0:
        return check
    video = session.get(Video, video_id)
    assert video is not None
    status = cost.budget_status(session, video.source_file_id, rate_card=cost.load_rate_card(session))
    if status.budget_usd is None:
        return replace(check, budget_note="No budget is set for this script.")
    left = status.budget_usd - status.spent_usd - status.committed_usd
    if est.total_usd > left + 1e-9:
        return replace(check, admitted=False, budget_note=(
            f"This would cost about ${est.total_usd:.2f}, but only ${max(left, 0):.2f} of the "
            f"${status.budget_usd:.2f} budget is left: an admin can raise it on the Review page, or render fewer "
            f"{check.noun}s."))
    return replace(check, budget_note=f"${left - est.total_usd:.2f} of the ${status.budget_usd:.2f} budget "
                                       "stays free after it.")

