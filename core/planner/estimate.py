"""What planning costs before it runs: tokens × the chat model's rate, and the script's budget gate.

Pure apart from `admit_plan` (which reads the script's spend). Tokens are counted the way a chat model bills them,
roughly: about four characters a token for English and markup, about two for Arabic (whose words split into more
tokens). The answer's tokens follow from the shots and keyframes asked for. The estimate says what one request per
video costs; a re-ask (an invalid first plan) can double a video's share, so the gate keeps `REASK_MARGIN` free.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

from core.planner.types import PlanRequest

# USD per million tokens (input, output), as the providers publish them; offline plans are free. A model that is
# not listed is priced at `FALLBACK_PER_MTOK`, on the high side: an estimate too low is the complaint.
TOKEN_RATES_PER_MTOK: dict[str, tuple[float, float]] = {
    "offline": (0.0, 0.0),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-nano": (0.10, 0.40),
}
FALLBACK_PER_MTOK = (5.00, 15.00)
REASK_MARGIN = 0.10  # of the estimate, kept free under the budget for re-asks
ANSWER_TOKENS_PER_SHOT = 90  # subject, action, location, move, motion prompt, JSON
ANSWER_TOKENS_PER_KEYFRAME = 35


def count_tokens(text: str) -> int:
    """About what a tokenizer makes of `text`: Arabic letters at two characters a token, the rest at four."""
    arabic = sum(1 for ch in text if "\u0600" <= ch <= "\u06ff" or "\u0750" <= ch <= "\u077f")
    return (arabic + 1) // 2 + (len(text) - arabic + 3) // 4


def token_rate(model: str) -> tuple[float, float, bool]:
    """(usd per M input tokens, per M output tokens, known) for `model` (an org prefix `openai/` is ignored)."""
    name = model.rsplit("/", 1)[-1]
    rate = TOKEN_RATES_PER_MTOK.get(name)
    if rate is None:
        # Dated snapshots ("gpt-4o-mini-2024-07-18") price as their family.
        family = max((k for k in TOKEN_RATES_PER_MTOK if name.startswith(k + "-")), key=len, default=None)
        rate = TOKEN_RATES_PER_MTOK.get(family) if family else None
    return (*rate, True) if rate is not None else (*FALLBACK_PER_MTOK, False)


@dataclass(frozen=True)
class PlanEstimate:
    """The price of planning some videos. `reused` videos are not sent (their inputs did not change)."""

    model: str
    videos: int
    reused: int
    prompt_tokens: int
    completion_tokens: int
    usd: float
    rate_known: bool

    def summary(self) -> str:
        sent = self.videos - self.reused
        if self.model == "offline":
            return f"{sent} video(s) to plan offline: free"
        note = "" if self.rate_known else f" (no published rate for {self.model!r}: priced high)"
        reused = f", {self.reused} unchanged and reused" if self.reused else ""
        return (f"{sent} video(s) to plan with {self.model}{reused}: about {self.prompt_tokens:,} + "
                f"{self.completion_tokens:,} tokens, ≈ ${self.usd:.4f}{note}")

    def to_json(self) -> dict[str, object]:
        return {"model": self.model, "videos": self.videos, "reused": self.reused,
                "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "usd": self.usd, "rate_known": self.rate_known}


def estimate_requests(requests: Sequence[tuple[PlanRequest, str]], *, model: str, system_prompt: str,
                      reused: int = 0) -> PlanEstimate:
    """Tokens × rate for `requests`: (request, its user message) of every video that would be sent."""
    prompt = completion = 0
    system = count_tokens(system_prompt)
    for req, message in requests:
        prompt += system + count_tokens(message) + 8  # per-message framing
        shots = max(1, min(req.shots, len(req.sentences)))
        completion += shots * (ANSWER_TOKENS_PER_SHOT + ANSWER_TOKENS_PER_KEYFRAME * req.frames)
    per_in, per_out, known = token_rate(model)
    usd = 0.0 if model == "offline" else (prompt * per_in + completion * per_out) / 1_000_000
    return PlanEstimate(model=model, videos=len(requests) + reused, reused=reused, prompt_tokens=prompt,
                        completion_tokens=completion, usd=round(usd, 6), rate_known=known or model == "offline")


@dataclass(frozen=True)
class PlanAdmission:
    admitted: bool
    level: Literal["ok", "warning", "blocked"]
    reason: str


def admit_plan(session: Session, file_id: int, estimate: PlanEstimate) -> PlanAdmission:
    """The budget gate, all or nothing: planning is refused when the script's spend, the renders already queued
    and this estimate (plus the re-ask margin) would pass its budget; a warning past 80 %."""
    from core import cost  # cost reads jobs; imported here so the planner package stays light

    status = cost.budget_status(session, file_id, rate_card=cost.load_rate_card(session))
    line = estimate.summary()
    if status.budget_usd is None or estimate.usd == 0:
        return PlanAdmission(True, "ok", line)
    needed = estimate.usd * (1 + REASK_MARGIN)
    after = status.spent_usd + status.committed_usd + needed
    left = status.budget_usd - status.spent_usd - status.committed_usd
    if after > status.budget_usd + 1e-9:
        return PlanAdmission(False, "blocked",
                             f"Nothing was planned: planning would cost about ${needed:.4f} (with room for re-asks), "
                             f"but only ${max(left, 0):.4f} of the ${status.budget_usd:.2f} budget is left. Raise the "
                             "budget or plan offline.")
    if after >= cost.WARN_FRACTION * status.budget_usd:
        return PlanAdmission(True, "warning", f"{line}. After it about {after / status.budget_usd:.0%} of the "
                                              f"${status.budget_usd:.2f} budget is used.")
    return PlanAdmission(True, "ok", line)
