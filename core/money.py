"""Money: the one rule for what a render costs, what a script has spent and promised, and whether a request fits
its budget. The studio's pages, the CLI and the API all ask here, so the same request gets the same price and the
same answer everywhere.

Rules a producer can rely on:
- a render's price is the rate card's (`DEFAULT_RATES` in code, overlaid with the `rate_overrides` table) for its
  model, per image, per second of clip or per character of narration spoken (`core.catalog` says which);
  offline renders and the offline voice are free;
- a model missing from the rate card is never free by accident: it is priced at the stated `FALLBACK_USD`
  (deliberately on the high side) and every estimate says "fallback price" until an admin prices it;
- a voice job is priced for the characters it speaks (the narration after the lexicon, `Job.params["characters"]`),
  through the same estimate and admission as images and clips;
- a clip is priced for the duration it is actually sent with (the accepted length nearest to the shot's
  narration, see `core.jobs.planning.clip_duration`), a fixed-length model for its one length;
- an estimate prices exactly what the same request would queue: the queue's request functions run without
  committing (`core.jobs.queue.quote_*`) and the jobs they would create are priced here, one by one;
- a request is admitted whole or not at all: when the script's spend, plus the jobs already queued, plus this
  request would pass the budget, nothing is queued, and the reason says how much is left;
- spend is what the provider reported per finished job (`Job.cost_usd`), else the rate card's price for it;
  jobs count in the script they are charged to (`Job.source_file_id`), or their frame's or shot's script.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core import catalog
from core.catalog import PRICE_UNITS, PriceUnit
from core.errors import GateError, NotFoundError
from core.models import JOB_ACTIVE, Asset, Frame, Job, RateOverride, Shot, SourceFile, Storyboard, Video

WARN_FRACTION = 0.8
PriceSource = Literal["free", "rate card", "fallback", "reported"]


@dataclass(frozen=True)
class Rate:
    """The price of one image, one second of clip, or one character spoken, on a model."""

    model: str
    unit: PriceUnit
    credits: float
    usd: float
    source: str = "default"  # "default" | "edited" | "api"


# Seeded from Higgsfield's published pricing at about $0.0625 per credit; the estimate endpoint refines them.
DEFAULT_RATES: dict[str, Rate] = {
    r.model: r
    for r in (
        Rate("higgsfield-ai/soul/standard", "image", 1.5, 0.094),
        Rate("bytedance/seedream/v4/text-to-image", "image", 1.0, 0.0625),
        Rate("flux-pro/kontext/max/text-to-image", "image", 1.5, 0.094),
        Rate("kling-video/v2.1/pro/image-to-video", "clip_second", 1.4, 0.0875),
        Rate("kling-video/v2.6/pro/image-to-video", "clip_second", 1.6, 0.10),
        Rate("kling-video/omni/first-last-frame", "clip_second", 1.6, 0.10),
        # The offline renderer costs nothing; listed so offline renders are priced (at zero) like any other.
        Rate("offline", "image", 0.0, 0.0),
        Rate("offline-clip", "clip_second", 0.0, 0.0),
        # Voices, per character spoken: OpenAI's text-to-speech prices per million characters
        # (gpt-4o-mini-tts: "about $0.015 a minute" at ~1,250 characters a minute ≈ $12 per million).
        Rate("gpt-4o-mini-tts", "character", 0.0, 12.0 / 1_000_000),
        Rate("tts-1", "character", 0.0, 15.0 / 1_000_000),
        Rate("tts-1-hd", "character", 0.0, 30.0 / 1_000_000),
        Rate("espeak-ng", "character", 0.0, 0.0),  # the offline voice
    )
}

# What a model missing from the rate card is priced at, per unit: on the high side on purpose (an estimate that is
# too low is the complaint: "one run cost €30 without warning"). $0.20 a second is $1.00 for a 5 s clip; a voice at
# $60 per million characters is twice the dearest OpenAI voice.
FALLBACK_USD: dict[PriceUnit, float] = {"image": 0.10, "clip_second": 0.20, "character": 60.0 / 1_000_000}
FALLBACK_CREDITS: dict[PriceUnit, float] = {"image": 1.6, "clip_second": 3.2, "character": 0.0}


def _quantity(unit: PriceUnit, *, seconds: float = 0.0, characters: int = 0) -> float:
    """How many of `unit` one render buys: 1 image, its clip seconds, or its characters spoken."""
    if unit == "clip_second":
        return seconds
    if unit == "character":
        return float(max(0, characters))
    return 1.0


@dataclass(frozen=True)
class RateCard:
    rates: dict[str, Rate]

    def get(self, model: str) -> Rate | None:
        return self.rates.get(model)

    def require(self, model: str) -> Rate:
        from core.errors import ValidationError

        rate = self.rates.get(model)
        if rate is None:
            raise ValidationError(f"No price for model {model!r} on the rate card; add it in Settings → Rate card")
        return rate

    def price(self, model: str, *, seconds: float = 0.0, characters: int = 0) -> tuple[float, float]:
        """(usd, credits) of one image, one clip of `seconds`, or `characters` spoken, for a model on the card."""
        rate = self.require(model)
        qty = _quantity(rate.unit, seconds=seconds, characters=characters)
        return rate.usd * qty, rate.credits * qty


def load_rate_card(session: Session) -> RateCard:
    """The defaults overlaid with the `rate_overrides` table (shared by every process on the database)."""
    rates = dict(DEFAULT_RATES)
    for row in session.scalars(select(RateOverride)):
        if row.unit not in PRICE_UNITS:
            continue  # a hand-broken row falls back to the default rather than breaking every page
        rates[row.model] = Rate(model=row.model, unit=row.unit,
                                credits=float(row.credits), usd=float(row.usd), source=row.source)
    return RateCard(rates)


# ---- the price of one render --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Price:
    usd: float
    credits: float
    source: PriceSource
    seconds: float = 0.0  # the clip seconds priced (0 for an image)
    characters: int = 0  # the characters spoken priced (a voice job)


def price_render(card: RateCard, *, provider: str, kind: str, model: str, duration: float | None = None,
                 characters: int = 0) -> Price:
    """What one render costs: the rate card's price for its model, else the stated fallback (never $0 by
    accident). A clip is priced for the `duration` it is sent with (`core.catalog`: a fixed-length model for
    its one length); a voice for the `characters` it speaks."""
    seconds = 0.0
    if kind == "clip":  # billed for the length the job carries: what it is sent with (decided from the schema)
        seconds = catalog.capabilities(provider, model, kind="clip").billed_seconds(duration)
    characters = max(0, characters) if kind == "voice" else 0
    offline = catalog.is_offline(provider)
    rate = card.get(model)
    if rate is not None:
        qty = _quantity(rate.unit, seconds=seconds, characters=characters)
        usd, credits = rate.usd * qty, rate.credits * qty
        return Price(usd, credits, "free" if usd == 0 and offline else "rate card", seconds, characters)
    if offline:
        return Price(0.0, 0.0, "free", seconds, characters)
    unit = catalog.price_unit(provider, model, kind if kind in ("clip", "voice") else "image")
    qty = _quantity(unit, seconds=seconds, characters=characters)
    return Price(FALLBACK_USD[unit] * qty, FALLBACK_CREDITS[unit] * qty, "fallback", seconds, characters)


def job_duration(job: Job) -> float | None:
    """The clip length a job was (or will be) sent with, from its parameters."""
    value = (job.params or {}).get("duration")
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def job_characters(job: Job) -> int:
    """The characters a voice job speaks (stored when it is queued: the narration after the lexicon)."""
    value = (job.params or {}).get("characters")
    try:
        return int(value) if value is not None else len(job.prompt_text or "")
    except (TypeError, ValueError):
        return len(job.prompt_text or "")


def price_job(job: Job, card: RateCard, *, clip_seconds: float | None = None) -> Price:
    """What a job costs: the provider's reported figures when it has them, else `price_render` of its model for
    the clip length it rendered (`clip_seconds`, the asset's) or was sent with, or the characters it speaks."""
    if job.cost_usd is not None:
        return Price(job.cost_usd, job.cost_credits or 0.0, "reported")
    price = price_render(card, provider=job.provider, kind=job.kind, model=job.model,
                         duration=clip_seconds or job_duration(job),
                         characters=job_characters(job) if job.kind == "voice" else 0)
    if job.cost_credits is not None:
        return Price(price.usd, job.cost_credits, price.source, price.seconds, price.characters)
    return price


def job_cost(job: Job, rate_card: RateCard, *, clip_seconds: float | None = None) -> tuple[float, float]:
    """(usd, credits) of `price_job`."""
    price = price_job(job, rate_card, clip_seconds=clip_seconds)
    return price.usd, price.credits


# ---- spend, committed, budget -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Spend:
    usd: float
    credits: float
    jobs: int
    priced_from_card: int  # jobs without an API-reported cost, priced from the rate card
    by_kind: dict[str, float]


def spend(session: Session, *, file_id: int | None = None, video_id: int | None = None,
          rate_card: RateCard | None = None) -> Spend:
    """What the completed jobs of a script or video cost (only completed generations are charged)."""
    card = rate_card or load_rate_card(session)
    stmt = _scope(select(Job).where(Job.status == "succeeded"), file_id=file_id, video_id=video_id)
    return _sum(session, session.scalars(stmt).all(), card)


def committed_usd(session: Session, *, file_id: int, rate_card: RateCard) -> float:
    """The price of jobs queued or running for the script: money already promised."""
    stmt = _scope(select(Job).where(Job.status.in_(JOB_ACTIVE)), file_id=file_id, video_id=None)
    return _sum(session, session.scalars(stmt).all(), rate_card).usd


@dataclass(frozen=True)
class BudgetStatus:
    budget_usd: float | None
    spent_usd: float
    committed_usd: float
    level: Literal["none", "ok", "warning", "exhausted"]

    @property
    def remaining_usd(self) -> float | None:
        return None if self.budget_usd is None else self.budget_usd - self.spent_usd - self.committed_usd

    @property
    def fraction(self) -> float | None:
        if not self.budget_usd:
            return None
        return (self.spent_usd + self.committed_usd) / self.budget_usd


def budget_status(session: Session, file_id: int, *, rate_card: RateCard | None = None) -> BudgetStatus:
    source = session.get(SourceFile, file_id)
    if source is None:
        raise NotFoundError(f"Script {file_id} does not exist")
    card = rate_card or load_rate_card(session)
    spent = spend(session, file_id=file_id, rate_card=card).usd
    committed = committed_usd(session, file_id=file_id, rate_card=card)
    budget = source.budget_usd
    if budget is None:
        level: Literal["none", "ok", "warning", "exhausted"] = "none"
    elif spent + committed >= budget:
        level = "exhausted"
    elif spent + committed >= WARN_FRACTION * budget:
        level = "warning"
    else:
        level = "ok"
    return BudgetStatus(budget, round(spent, 4), round(committed, 4), level)


def observed_reroll_rate(session: Session, *, kind: str, file_id: int | None = None) -> float:
    """Extra renders per subject so far: (charged jobs − subjects rendered) / subjects rendered, 0 without history.
    A forecast for the producer ("re-rolls have added about 40 % so far"), not part of any price: an estimate
    prices what would be queued, nothing more."""
    subject = Job.frame_id if kind == "image" else Job.shot_id
    stmt = select(func.count(Job.id), func.count(func.distinct(subject))).where(
        Job.kind == kind, Job.status == "succeeded", subject.is_not(None))
    if file_id is not None:
        stmt = stmt.where(_job_in_file(file_id))
    jobs, subjects = session.execute(stmt).one()
    if not subjects:
        return 0.0
    return max(0.0, (jobs - subjects) / subjects)


# ---- admission: the whole request, or nothing ---------------------------------------------------------------

@dataclass(frozen=True)
class Admission:
    """Whether a request of `request_usd` fits the script's budget, with the words for it."""

    admitted: bool
    level: Literal["ok", "warning", "blocked"]
    reason: str
    request_usd: float
    budget_usd: float | None
    spent_usd: float
    committed_usd: float  # already queued before this request

    @property
    def left_after_usd(self) -> float | None:
        if self.budget_usd is None:
            return None
        return self.budget_usd - self.spent_usd - self.committed_usd - self.request_usd

    def raise_if_refused(self) -> None:
        if not self.admitted:
            raise GateError(self.reason, category="budget")


def verdict(*, request_usd: float, budget_usd: float | None, spent_usd: float, committed_usd: float,
            items: int) -> Admission:
    """The one budget rule over numbers: admitted whole when spent + queued + this request stays within the budget;
    a warning from `WARN_FRACTION` on; free requests always pass."""
    def answer(admitted: bool, level: Literal["ok", "warning", "blocked"], reason: str) -> Admission:
        return Admission(admitted, level, reason, round(request_usd, 4), budget_usd, round(spent_usd, 4),
                         round(committed_usd, 4))

    cost_line = f"This request: ${request_usd:.2f} for {items} render(s)"
    if request_usd <= 0:
        return answer(True, "ok", f"{cost_line} (free).")
    if budget_usd is None:
        return answer(True, "ok", f"{cost_line}. No budget is set for this script.")
    after = spent_usd + committed_usd + request_usd
    left = budget_usd - spent_usd - committed_usd
    if after > budget_usd + 1e-9:
        return answer(False, "blocked",
                      f"Nothing was queued: this request would cost ${request_usd:.2f}, but only "
                      f"${max(left, 0):.2f} of the ${budget_usd:.2f} budget is left (${spent_usd:.2f} spent, "
                      f"${committed_usd:.2f} already queued). An admin can raise the budget on the Review page, "
                      "or render fewer items.")
    if budget_usd > 0 and after >= WARN_FRACTION * budget_usd:
        return answer(True, "warning", f"{cost_line}. After it {after / budget_usd:.0%} of the ${budget_usd:.2f} "
                                       f"budget is used (${budget_usd - after:.2f} left).")
    return answer(True, "ok", f"{cost_line}; ${budget_usd - after:.2f} of the ${budget_usd:.2f} budget stays free.")


def admit(session: Session, file_id: int | None, request_usd: float, *, items: int,
          already_queued_usd: float = 0.0, rate_card: RateCard | None = None) -> Admission:
    """Whether a request costing `request_usd` fits script `file_id`'s budget. `already_queued_usd` is the part
    of the request already flushed as active jobs (the queue checks after inserting): it is not counted twice."""
    if file_id is None:
        return verdict(request_usd=request_usd, budget_usd=None, spent_usd=0.0, committed_usd=0.0, items=items)
    card = rate_card or load_rate_card(session)
    source = session.get(SourceFile, file_id)
    if source is None:
        raise NotFoundError(f"Script {file_id} does not exist")
    spent = spend(session, file_id=file_id, rate_card=card).usd
    committed = committed_usd(session, file_id=file_id, rate_card=card) - already_queued_usd
    return verdict(request_usd=request_usd, budget_usd=source.budget_usd, spent_usd=spent,
                   committed_usd=max(committed, 0.0), items=items)


def enforce_budget(session: Session, file_id: int | None, new_jobs: Sequence[Job], *,
                   rate_card: RateCard | None = None) -> Admission:
    """The hard stop, checked in core after a request's jobs are added (flushed, uncommitted): refuse the whole
    request with `GateError` (category "budget") when it does not fit, so the caller's transaction queues
    nothing. Free requests pass without reading the ledger."""
    card = rate_card or load_rate_card(session)
    usd = sum(price_job(j, card).usd for j in new_jobs)
    if not new_jobs or usd <= 0 or file_id is None:
        return verdict(request_usd=usd, budget_usd=None, spent_usd=0.0, committed_usd=0.0, items=len(new_jobs))
    answer = admit(session, file_id, usd, items=len(new_jobs), already_queued_usd=usd, rate_card=card)
    answer.raise_if_refused()
    return answer


# ---- quotes: what a request would queue, priced -------------------------------------------------------------

@dataclass(frozen=True)
class QuotedJob:
    """One render a request would queue (and pay for)."""

    kind: Literal["image", "clip", "voice"]
    provider: str
    model: str
    frame_id: int | None
    shot_id: int | None
    price: Price


@dataclass(frozen=True)
class Quote:
    """What a request would queue and what that costs: `jobs` are the new renders (paid); `existing` the jobs it
    would return instead (in flight, or a finished take reused: not paid again); `skipped` the subjects it would
    leave, with why; `admission` the budget's answer for the whole of it."""

    jobs: tuple[QuotedJob, ...]
    existing: int
    skipped: dict[int, str]
    admission: Admission
    kept: frozenset[int] = field(default_factory=frozenset)  # subjects skipped because approved with a take

    @property
    def images(self) -> int:
        return sum(1 for j in self.jobs if j.kind == "image")

    @property
    def clips(self) -> int:
        return sum(1 for j in self.jobs if j.kind == "clip")

    @property
    def voices(self) -> int:
        return sum(1 for j in self.jobs if j.kind == "voice")

    @property
    def characters(self) -> int:
        """The characters the voice jobs would speak (what they are priced for)."""
        return sum(j.price.characters for j in self.jobs if j.kind == "voice")

    @property
    def total_usd(self) -> float:
        return round(sum(j.price.usd for j in self.jobs), 4)

    @property
    def credits(self) -> float:
        return round(sum(j.price.credits for j in self.jobs), 4)

    @property
    def source(self) -> Literal["free", "rate card", "fallback"]:
        """"free" when nothing is paid, "fallback" when any model is off the rate card, else "rate card"."""
        sources = {j.price.source for j in self.jobs}
        if "fallback" in sources:
            return "fallback"
        return "free" if self.total_usd <= 0 else "rate card"

    @property
    def fallback_models(self) -> list[str]:
        return sorted({j.model for j in self.jobs if j.price.source == "fallback"})

    def cost_text(self) -> str:
        """"free (offline)", "≈ $1.20", or "≈ $1.20 (fallback price for x/y: not on the rate card …)". "≈": the
        rate card is what we expect to be billed; the provider's bill decides (`Job.cost_usd`)."""
        if self.source == "free":
            if self.jobs and all(j.provider == "voice-offline" for j in self.jobs):
                return "free (offline voice)"
            return "free (offline)" if all(catalog.is_offline(j.provider) for j in self.jobs) else "free"
        text = f"≈ ${self.total_usd:.2f}"
        if self.source == "fallback":
            text += (f" (fallback price for {', '.join(self.fallback_models)}: not on the rate card; an admin "
                     "can price it in Settings → Rate card)")
        return text

    def summary(self) -> str:
        if self.voices and not self.images and not self.clips:
            return f"{self.voices} shot(s) to voice, {self.characters} characters: {self.cost_text()}"
        voices = f", {self.voices} voice(s)" if self.voices else ""
        return f"{self.images} image(s), {self.clips} clip(s){voices}: {self.cost_text()}"


def combined(quotes: Sequence[Quote]) -> Quote:
    """Several requests' quotes as one (their renders together), for a button that makes them all at once. The
    admission is the last one's: each was asked against the same spend, so the budget is asked again by the
    request itself."""
    if not quotes:
        raise ValueError("no quotes to combine")
    return Quote(jobs=tuple(j for q in quotes for j in q.jobs), existing=sum(q.existing for q in quotes),
                 skipped={k: v for q in quotes for k, v in q.skipped.items()}, admission=quotes[-1].admission,
                 kept=frozenset(k for q in quotes for k in q.kept))


def quote_jobs(session: Session, file_id: int | None, jobs: Iterable[Job], *, existing: int = 0,
               skipped: dict[int, str] | None = None, kept: Iterable[int] = (),
               rate_card: RateCard | None = None) -> Quote:
    """Price `jobs` (not yet queued) one by one and ask the budget about the whole of them."""
    card = rate_card or load_rate_card(session)
    quoted = tuple(QuotedJob(j.kind if j.kind in ("clip", "voice") else "image",  # type: ignore[arg-type]
                             j.provider, j.model, j.frame_id, j.shot_id, price_job(j, card)) for j in jobs)
    usd = sum(q.price.usd for q in quoted)
    admission = admit(session, file_id, usd, items=len(quoted), rate_card=card) if usd > 0 else \
        verdict(request_usd=0.0, budget_usd=None, spent_usd=0.0, committed_usd=0.0, items=len(quoted))
    return Quote(quoted, existing, dict(skipped or {}), admission, frozenset(kept))


# ---- query helpers ------------------------------------------------------------------------------------------

def _job_ids(*, file_id: int | None, video_id: int | None) -> Any:
    """The ids of jobs of a script or video via the job's own shot or its frame's shot."""
    stmt = (select(Job.id).outerjoin(Frame, Frame.id == Job.frame_id)
            .join(Shot, Shot.id == func.coalesce(Job.shot_id, Frame.shot_id))
            .join(Storyboard, Storyboard.id == Shot.storyboard_id).join(Video, Video.id == Storyboard.video_id))
    if video_id is not None:
        stmt = stmt.where(Video.id == video_id)
    if file_id is not None:
        stmt = stmt.where(Video.source_file_id == file_id)
    return stmt


def _job_in_file(file_id: int) -> Any:
    """A job counts in a script when it is charged to it, or (older jobs) when its frame or shot is in it."""
    return or_(Job.source_file_id == file_id, Job.id.in_(_job_ids(file_id=file_id, video_id=None)))


def _scope(stmt: Any, *, file_id: int | None, video_id: int | None) -> Any:
    if file_id is None and video_id is None:
        return stmt
    if video_id is None and file_id is not None:
        return stmt.where(_job_in_file(file_id))
    return stmt.where(Job.id.in_(_job_ids(file_id=file_id, video_id=video_id)))


def _sum(session: Session, jobs: Iterable[Job], card: RateCard) -> Spend:
    jobs = list(jobs)
    clip_ids = [j.id for j in jobs if j.kind == "clip" and j.cost_usd is None]
    durations: dict[int, float] = {}
    if clip_ids:
        for job_id, dur in session.execute(select(Asset.job_id, Asset.duration_s)
                                           .where(Asset.job_id.in_(clip_ids), Asset.duration_s.is_not(None))):
            if job_id is not None and dur is not None:
                durations[job_id] = float(dur)
    usd = credits = 0.0
    by_kind: dict[str, float] = {}
    from_card = 0
    for job in jobs:
        price = price_job(job, card, clip_seconds=durations.get(job.id))
        from_card += job.cost_usd is None
        usd += price.usd
        credits += price.credits
        by_kind[job.kind] = by_kind.get(job.kind, 0.0) + price.usd
    return Spend(round(usd, 4), round(credits, 4), len(jobs), from_card, {k: round(v, 4) for k, v in by_kind.items()})
