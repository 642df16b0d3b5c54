"""The pre-check of a "render all": what will render, what cannot and why, what it costs — one summary.

Read before anything is queued, so it never says "Nothing was queued"; each reason names its shot or frame once;
the budget is mentioned only when money is involved (offline renders are free, so no "raise the budget"). The
summary is the words for the page; the answer is the queue's and `core.money`'s: it is built from
`core.jobs.quote_video_*`, which runs the very request the button makes without writing it, so what it says will
render is what the click queues, at the price `core.money` gives, admitted by the same budget rule.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.jobs import planning, prefetch
from core.jobs.planning import Lookups
from core.jobs.queue import quote_video_clips, quote_video_images
from core.models import JOB_ACTIVE, Job
from core.money import Quote
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
    estimate: Quote | None = None
    rendering: int = 0  # of `reused`: those whose render is still on the way (not paid again, not done yet)
    budget_note: str | None = None
    admitted: bool = True

    @property
    def noun(self) -> str:
        return "shot" if self.kind == "clip" else "frame"

    def cost_text(self) -> str:
        """"free (offline)", or the quote's price ("≈ $1.20", with a word when a fallback price is in it)."""
        return "free (offline)" if self.estimate is None else self.estimate.cost_text()

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
        done = self.reused - self.rendering
        if self.rendering:
            parts.append(f"{n(self.rendering)} {'is' if self.rendering == 1 else 'are'} rendering")
        if done:
            parts.append(f"{n(done)} {'is' if done == 1 else 'are'} up to date")
        return "; ".join(parts) + "."

    def reasons(self, limit: int = SHOWN_REASONS) -> list[str]:
        """"Shot 2: frame(s) 1 are not approved yet", at most `limit` lines and a count of the rest."""
        lines = [f"{label}: {why}" for label, why in list(self.blocked.items())[:limit]]
        if len(self.blocked) > limit:
            lines.append(f"and {len(self.blocked) - limit} more")
        return lines


def without_label(reason: str) -> str:
    """A gate's reason without the "Shot 3: " it starts with (the summary names the shot once)."""
    text = _LABEL_PREFIX.sub("", reason).rstrip(".")
    return text[:1].lower() + text[1:] if text else text


def check_video_clips(session: Session, video_id: int, *, settings: Settings) -> BatchCheck:
    """Every live shot of the video: will its clip render, is it up to date, or why not."""
    lookups: Lookups = {}
    quote = quote_video_clips(session, video_id, settings=settings, lookups=lookups)  # a missing video: NotFound
    shots = prefetch.board_shots(session, video_id, lookups)  # read by the quote: no query
    new_clips = {j.shot_id for j in quote.jobs if j.kind == "clip"}
    ready: list[str] = []
    blocked: dict[str, str] = {}
    reused = 0
    for shot in shots:
        label = f"Shot {shot.position}"
        if shot.id in new_clips:
            ready.append(label)
        elif shot.id in quote.skipped and shot.id not in quote.kept:
            blocked[label] = without_label(quote.skipped[shot.id])
        else:
            reused += 1  # approved with its clip, or the same clip already rendered or on the way
    rendering = _rendering(session, "clip", shot_ids=[s.id for s in shots])
    return _with_budget(BatchCheck("clip", tuple(ready), blocked, reused, quote,
                                   rendering=len(rendering - new_clips)))


def check_video_images(session: Session, video_id: int, *, settings: Settings) -> BatchCheck:
    """Every live frame of the video: will it render (a missing image, or one whose inputs changed), or why not."""
    lookups: Lookups = {}
    quote = quote_video_images(session, video_id, settings=settings, lookups=lookups)
    new_frames = {j.frame_id for j in quote.jobs}
    ready: list[str] = []
    blocked: dict[str, str] = {}
    reused = 0
    shots = prefetch.board_shots(session, video_id, lookups)  # read by the quote: no query
    for shot in shots:
        for frame in planning.live_frames(shot):
            label = f"Shot {shot.position} · frame {frame.position}"
            if frame.id in new_frames:
                ready.append(label)
            elif frame.id in quote.skipped and frame.id not in quote.kept:
                if frame.review_status == "locked":
                    blocked[label] = "locked: its image cannot change"
                elif frame.selected_prompt_id is None:
                    blocked[label] = "no prompt yet (refine it on the Prompts page)"
                else:
                    blocked[label] = without_label(quote.skipped[frame.id])
            else:
                reused += 1
    rendering = _rendering(session, "image", frame_ids=[f.id for s in shots for f in planning.live_frames(s)])
    return _with_budget(BatchCheck("image", tuple(ready), blocked, reused, quote,
                                   rendering=len(rendering - new_frames)))


def _rendering(session: Session, kind: Kind, *, frame_ids: Sequence[int] = (),
               shot_ids: Sequence[int] = ()) -> set[int]:
    """The frames (images) or shots (clips) with a render of that kind on the way: asked for, not finished."""
    if kind == "image":
        found = session.scalars(select(Job.frame_id).where(Job.kind == "image", Job.status.in_(JOB_ACTIVE),
                                                           Job.frame_id.in_(list(frame_ids))))
    else:
        found = session.scalars(select(Job.shot_id).where(Job.kind == "clip", Job.status.in_(JOB_ACTIVE),
                                                          Job.shot_id.in_(list(shot_ids))))
    return {i for i in found if i is not None}


def _with_budget(check: BatchCheck) -> BatchCheck:
    """The budget's word when money is involved (`core.money`'s admission of the whole quote); refuse when nothing
    would render or the budget would be passed."""
    est = check.estimate
    if not check.ready:
        return replace(check, admitted=False)
    if est is None or est.total_usd <= 0:
        return check
    verdict = est.admission
    if verdict.budget_usd is None:
        return replace(check, budget_note="No budget is set for this script.")
    left = verdict.budget_usd - verdict.spent_usd - verdict.committed_usd
    if not verdict.admitted:
        return replace(check, admitted=False, budget_note=(
            f"This would cost about ${est.total_usd:.2f}, but only ${max(left, 0):.2f} of the "
            f"${verdict.budget_usd:.2f} budget is left: an admin can raise it on the Review page, or render fewer "
            f"{check.noun}s."))
    return replace(check, budget_note=f"${left - est.total_usd:.2f} of the ${verdict.budget_usd:.2f} budget "
                                      "stays free after it.")
