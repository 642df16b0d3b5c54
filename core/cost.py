"""Cost: the rate card, estimates before a batch, all-or-nothing admission against a script's budget, and spend.

The rate card lives in code (`DEFAULT_RATES`, the seeded defaults) plus the `rate_overrides` table holding only
what a producer edited or what the Higgs estimate endpoint reported, so a new default in code reaches every
studio while edits survive upgrades, and every studio and worker sharing the database uses the same prices.

Money rules a producer can rely on:
- an estimate is items × rate × (1 + the re-roll rate observed so far on this script);
- a batch is admitted whole or not at all: if any item fails its checks, or the script's spend plus the
  jobs already queued plus this estimate would pass the budget, nothing is queued and the reason says why;
- crossing 80 % of the budget warns, 100 % stops;
- spend is what the API reported per job (`Job.cost_usd`), else the rate card's price for that job.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from core.activity import log_activity
from core.authz import require
from core.db import session_scope
from core.errors import GateError, NotFoundError, ValidationError
from core.models import JOB_ACTIVE, Asset, Frame, Job, RateOverride, Shot, SourceFile, Storyboard, Video, utcnow
from core.review import APPROVED_STATUSES

Unit = Literal["image", "clip_second"]
LEGACY_RATE_CARD_FILE = "rate_card.json"  # where overrides lived before migration 0002
WARN_FRACTION = 0.8
DEFAULT_CLIP_SECONDS = 5.0


@dataclass(frozen=True)
class Rate:
    """The price of one image, or of one second of clip, on a model."""

    model: str
    unit: Unit
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
        # The offline renderer costs nothing; listed so offline batches are admitted.
        Rate("offline", "image", 0.0, 0.0),
        Rate("offline-clip", "clip_second", 0.0, 0.0),
    )
}


@dataclass(frozen=True)
class RateCard:
    rates: dict[str, Rate]

    def get(self, model: str) -> Rate | None:
        return self.rates.get(model)

    def require(self, model: str) -> Rate:
        rate = self.rates.get(model)
        if rate is None:
            raise ValidationError(f"No price for model {model!r} on the rate card; add it in Settings → Rate card")
        return rate

    def price(self, model: str, *, seconds: float = 0.0) -> tuple[float, float]:
        """(usd, credits) of one image, or of one clip of `seconds`."""
        rate = self.require(model)
        qty = seconds if rate.unit == "clip_second" else 1.0
        return rate.usd * qty, rate.credits * qty


# ---- the rate card in the database -------------------------------------------------------------------------

def load_rate_card(session: Session) -> RateCard:
    """The defaults overlaid with the `rate_overrides` table (shared by every process on the database)."""
    rates = dict(DEFAULT_RATES)
    for row in session.scalars(select(RateOverride)):
        if row.unit not in ("image", "clip_second"):
            continue  # a hand-broken row falls back to the default rather than breaking every page
        rates[row.model] = Rate(model=row.model, unit=row.unit,  # type: ignore[arg-type]
                                credits=float(row.credits), usd=float(row.usd), source=row.source)
    return RateCard(rates)


def set_rate(session: Session, model: str, *, unit: Unit, credits: float, usd: float, source: str = "edited",
             actor: str = "") -> Rate:
    """Edit (or add) one model's price; stored as an override row, logged with who changed it."""
    require("admin")
    model = model.strip()
    if not model:
        raise ValidationError("A rate needs a model name")
    if len(model) > 128:
        raise ValidationError("A model name is at most 128 characters")
    if unit not in ("image", "clip_second"):
        raise ValidationError("A rate is per image or per clip second")
    if credits < 0 or usd < 0:
        raise ValidationError("Prices cannot be negative")
    rate = Rate(model, unit, float(credits), float(usd), source)
    row = session.get(RateOverride, model)
    old = None if row is None else {"credits": row.credits, "usd": row.usd, "source": row.source}
    if row is None:
        row = RateOverride(model=model)
        session.add(row)
    row.unit, row.credits, row.usd, row.source, row.updated_by = unit, rate.credits, rate.usd, source, actor
    row.updated_at = utcnow()
    log_activity(session, "rate.set", actor=actor, subject_type="rate", model=model, unit=unit,
                 credits=rate.credits, usd=rate.usd, source=source, old=old)
    session.flush()
    return rate


def reset_rate(session: Session, model: str, *, actor: str = "") -> bool:
    """Drop a model's override so its seeded default applies again; False when there was none."""
    require("admin")
    row = session.get(RateOverride, model)
    if row is None:
        return False
    session.delete(row)
    log_activity(session, "rate.reset", actor=actor, subject_type="rate", model=model,
                 old={"credits": row.credits, "usd": row.usd, "source": row.source})
    session.flush()
    return True


def import_legacy_rate_card(sessions: sessionmaker[Session], data_dir: Path, *,
                            actor: str = "system") -> list[str]:
    """Move `<data dir>/rate_card.json` (where overrides lived before migration 0002) into the database, once.

    Models already priced in the database keep their price (another process may have imported or edited them
    first). The import is logged, committed, and only then is the file renamed `rate_card.json.imported`, so
    the next start skips it and a failed commit leaves it for the next try. Returns the models imported.
    """
    path = Path(data_dir) / LEGACY_RATE_CARD_FILE
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = None  # unreadable: it priced nothing before either; log it and move it aside
    imported: list[str] = []
    skipped: list[str] = []
    try:
        with session_scope(sessions) as session:
            for model, raw in (data.items() if isinstance(data, dict) else ()):
                try:
                    unit, credits, usd = raw["unit"], float(raw["credits"]), float(raw["usd"])
                except (KeyError, TypeError, ValueError):
                    skipped.append(str(model))
                    continue
                if (unit not in ("image", "clip_second") or credits < 0 or usd < 0 or len(model) > 128
                        or session.get(RateOverride, model) is not None):
                    skipped.append(str(model))
                    continue
                session.add(RateOverride(model=model, unit=unit, credits=credits, usd=usd,
                                         source=str(raw.get("source", "edited"))[:16], updated_by=actor))
                imported.append(model)
            log_activity(session, "rate_card.imported", actor=actor, subject_type="rate", file=str(path),
                         models=imported, skipped=skipped, readable=data is not None)
    except IntegrityError:
        return []  # another process sharing this data dir imported the same file at the same moment
    try:
        path.replace(path.with_name(LEGACY_RATE_CARD_FILE + ".imported"))
    except FileNotFoundError:
        pass  # a second process on the same data dir renamed it first
    return imported


class EstimateClient(Protocol):
    """What the rate card needs from the Higgs client: `POST /estimate/{slug}` → {"credits", "usd"}."""

    def estimate(self, slug: str, body: dict[str, Any]) -> Any: ...


def refresh_rate_card(session: Session, client: EstimateClient,
                      requests: Mapping[str, tuple[Unit, dict[str, Any], float]], *,
                      actor: str = "") -> dict[str, str]:
    """Ask the estimate endpoint for each model and store the prices it reports.

    `requests` maps a model to (unit, sample body, quantity the body buys: 1 image, or the clip's seconds).
    Returns per model "updated" or the reason it was left as it was (some models answer with a description).
    """
    outcome: dict[str, str] = {}
    for model, (unit, body, quantity) in requests.items():
        try:
            answer = client.estimate(model, body)
        except Exception as err:  # noqa: BLE001 - one failing model must not stop the others; reason reported
            outcome[model] = f"not updated: {err}"
            continue
        credits, usd = _number(_field(answer, "credits")), _number(_field(answer, "usd"))
        if credits is None or usd is None or quantity <= 0:
            note = _field(answer, "note")
            outcome[model] = "not updated: the API gave no numeric price" + (f" ({note})" if note else "")
            continue
        set_rate(session, model, unit=unit, credits=credits / quantity, usd=usd / quantity, source="api",
                 actor=actor)
        outcome[model] = "updated"
    return outcome


def refresh_configured_rates(session: Session, client: EstimateClient, *, image_model: str, video_model: str,
                             clip_seconds: int, aspect_ratio: str = "16:9", actor: str = "") -> dict[str, str]:
    """Price the studio's configured image and video models with the estimate endpoint (a sample body each)."""
    from core.higgs.schema import clip_body, image_body

    sample = "A presenter in a bright classroom, medium shot"
    clip = clip_body(video_model, prompt=sample, start_url="https://example.invalid/start.png",
                     duration=clip_seconds, aspect_ratio=aspect_ratio)
    seconds = float(clip.get("duration", clip_seconds))
    return refresh_rate_card(session, client, {
        image_model: ("image", image_body(image_model, prompt=sample, aspect_ratio=aspect_ratio), 1.0),
        video_model: ("clip_second", clip, seconds),
    }, actor=actor)


def _field(answer: Any, name: str) -> Any:
    return answer.get(name) if isinstance(answer, Mapping) else getattr(answer, name, None)


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


# ---- estimates and admission --------------------------------------------------------------------------------

@dataclass(frozen=True)
class BatchItem:
    """One render a batch would pay for. `problem` is a failed pre-flight check (gate, missing input, …)."""

    kind: Literal["image", "clip"]
    model: str
    subject_id: int | None = None  # frame id for images, shot id for clips
    seconds: float = 0.0  # clip length
    label: str = ""
    problem: str | None = None


@dataclass(frozen=True)
class BatchEstimate:
    items: int
    base_usd: float
    base_credits: float
    reroll_rate: float
    usd: float
    credits: float
    problems: dict[str, str] = field(default_factory=dict)  # item label → why it cannot run


@dataclass(frozen=True)
class Admission:
    admitted: bool
    level: Literal["ok", "warning", "blocked"]
    reason: str
    estimate: BatchEstimate
    budget_usd: float | None
    spent_usd: float
    committed_usd: float

    def raise_if_refused(self) -> None:
        if not self.admitted:
            raise GateError(self.reason, category="budget" if self.level == "blocked" and not
                            self.estimate.problems else "gate")


def observed_reroll_rate(session: Session, *, kind: str, file_id: int | None = None) -> float:
    """Extra renders per subject so far: (charged jobs − subjects rendered) / subjects rendered, 0 without history."""
    subject = Job.frame_id if kind == "image" else Job.shot_id
    stmt = select(func.count(Job.id), func.count(func.distinct(subject))).where(
        Job.kind == kind, Job.status == "succeeded", subject.is_not(None))
    if file_id is not None:
        stmt = stmt.where(_job_in_file(file_id))
    jobs, subjects = session.execute(stmt).one()
    if not subjects:
        return 0.0
    return max(0.0, (jobs - subjects) / subjects)


def estimate_batch(session: Session, items: Sequence[BatchItem], *, rate_card: RateCard,
                   file_id: int | None = None) -> BatchEstimate:
    """items × rate, times (1 + the re-roll rate observed on this script) per kind."""
    problems: dict[str, str] = {}
    base = {"image": [0.0, 0.0], "clip": [0.0, 0.0]}
    for n, item in enumerate(items, start=1):
        label = item.label or f"{item.kind} {item.subject_id or n}"
        if label in problems:
            label = f"{label} (item {n})"
        if item.problem:
            problems[label] = item.problem
            continue
        rate = rate_card.get(item.model)
        if rate is None:
            problems[label] = f"no price for model {item.model!r} on the rate card"
            continue
        seconds = item.seconds or DEFAULT_CLIP_SECONDS
        usd, credits = rate_card.price(item.model, seconds=seconds)
        base[item.kind][0] += usd
        base[item.kind][1] += credits
    rates = {kind: observed_reroll_rate(session, kind=kind, file_id=file_id) for kind in base}
    base_usd = base["image"][0] + base["clip"][0]
    usd = sum(v[0] * (1 + rates[k]) for k, v in base.items())
    credits = sum(v[1] * (1 + rates[k]) for k, v in base.items())
    weighted = (usd / base_usd - 1) if base_usd else max(rates.values())
    return BatchEstimate(items=len(items), base_usd=round(base_usd, 4),
                         base_credits=round(base["image"][1] + base["clip"][1], 4), reroll_rate=round(weighted, 4),
                         usd=round(usd, 4), credits=round(credits, 4), problems=problems)


def admit_batch(session: Session, file_id: int, items: Sequence[BatchItem], *, rate_card: RateCard) -> Admission:
    """Decide, all or nothing, whether a batch may be queued against the script's remaining budget."""
    source = session.get(SourceFile, file_id)
    if source is None:
        raise NotFoundError(f"Script {file_id} does not exist")
    est = estimate_batch(session, items, rate_card=rate_card, file_id=file_id)
    spent = spend(session, file_id=file_id, rate_card=rate_card).usd
    committed = committed_usd(session, file_id=file_id, rate_card=rate_card)
    budget = source.budget_usd

    def verdict(admitted: bool, level: Literal["ok", "warning", "blocked"], reason: str) -> Admission:
        return Admission(admitted, level, reason, est, budget, round(spent, 4), round(committed, 4))

    if not items:
        return verdict(False, "blocked", "Nothing to render: the batch is empty")
    if est.problems:
        first = "; ".join(f"{k}: {v}" for k, v in list(est.problems.items())[:3])
        more = f" (and {len(est.problems) - 3} more)" if len(est.problems) > 3 else ""
        return verdict(False, "blocked", f"Nothing was queued: {len(est.problems)} of {len(items)} item(s) cannot "
                                         f"run — {first}{more}")
    cost_line = f"This batch: about ${est.usd:.2f} for {len(items)} item(s)"
    if budget is None:
        return verdict(True, "ok", f"{cost_line}. No budget is set for this script.")
    after = spent + committed + est.usd
    remaining = budget - spent - committed
    if after > budget + 1e-9:
        return verdict(False, "blocked",
                       f"Nothing was queued: this batch would cost about ${est.usd:.2f}, but only ${max(remaining, 0):.2f} "
                       f"of the ${budget:.2f} budget is left (${spent:.2f} spent, ${committed:.2f} already queued). "
                       f"Raise the budget or render fewer items.")
    if budget > 0 and after >= WARN_FRACTION * budget:
        return verdict(True, "warning",
                       f"{cost_line}. After it about {after / budget:.0%} of the ${budget:.2f} budget is used "
                       f"(${budget - after:.2f} left).")
    return verdict(True, "ok", f"{cost_line}; ${budget - after:.2f} of the ${budget:.2f} budget stays free.")


def items_for_frames(session: Session, frame_ids: Iterable[int], *, model: str) -> list[BatchItem]:
    """Image items for a batch, each carrying the gate check (locked frames are never re-rendered)."""
    items: list[BatchItem] = []
    for fid in frame_ids:
        frame = session.get(Frame, fid)
        if frame is None:
            items.append(BatchItem("image", model, fid, label=f"frame {fid}", problem="no longer exists"))
            continue
        label = f"shot {frame.shot.position} frame {frame.position}"
        problem = "locked: its image cannot change" if frame.review_status == "locked" else None
        items.append(BatchItem("image", model, fid, label=label, problem=problem))
    return items


def items_for_shots(session: Session, shot_ids: Iterable[int], *, model: str, seconds: float,
                    relax: bool) -> list[BatchItem]:
    """Clip items for a batch, each carrying the approval gate (`review.clip_block_reason`)."""
    from core.review import clip_block_reason  # review imports nothing from here; local import keeps layers clear

    items: list[BatchItem] = []
    for sid in shot_ids:
        shot = session.get(Shot, sid)
        if shot is None:
            items.append(BatchItem("clip", model, sid, seconds, label=f"shot {sid}", problem="no longer exists"))
            continue
        items.append(BatchItem("clip", model, sid, seconds, label=f"shot {shot.position}",
                               problem=clip_block_reason(session, sid, relax=relax)))
    return items


def admit_video_batch(session: Session, video_id: int, *, kind: Literal["image", "clip"], settings: Any,
                      subject_ids: Sequence[int] | None = None) -> Admission:
    """Admission for "render this video" (every live frame or shot, or just `subject_ids`), priced with the
    configured renderer's model and the rate card; clips obey the approval gate unless the
    settings relax it (`review.clip_gate_relaxed`)."""
    from core.review import clip_gate_relaxed, current_shots

    video = session.get(Video, video_id)
    if video is None:
        raise NotFoundError(f"Video {video_id} does not exist")
    offline = settings.active_renderer == "offline"
    card = load_rate_card(session)
    shots = current_shots(session, video_id)
    if kind == "image":
        model = "offline" if offline else settings.higgs_image_model
        ids = list(subject_ids) if subject_ids is not None else \
            [f.id for s in shots for f in s.frames if f.deleted_at is None]
        items = items_for_frames(session, ids, model=model)
    else:
        model = "offline-clip" if offline else settings.higgs_video_model
        ids = list(subject_ids) if subject_ids is not None else [s.id for s in shots]
        items = items_for_shots(session, ids, model=model, seconds=float(settings.clip_duration_s),
                                relax=clip_gate_relaxed(settings))
    return admit_batch(session, video.source_file_id, items, rate_card=card)


# ---- spend --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Spend:
    usd: float
    credits: float
    jobs: int
    priced_from_card: int  # jobs without an API-reported cost, priced from the rate card
    by_kind: dict[str, float]


def job_cost(job: Job, rate_card: RateCard, *, clip_seconds: float | None = None) -> tuple[float, float]:
    """(usd, credits) a job cost: the API's figures when reported, else the rate card (0 for an unknown model)."""
    if job.cost_usd is not None:
        return job.cost_usd, job.cost_credits or 0.0
    rate = rate_card.get(job.model) or rate_card.get(job.provider)
    if rate is None:
        return 0.0, 0.0
    seconds = clip_seconds or _number((job.params or {}).get("duration")) or DEFAULT_CLIP_SECONDS
    qty = seconds if rate.unit == "clip_second" else 1.0
    return rate.usd * qty, (job.cost_credits if job.cost_credits is not None else rate.credits * qty)


def spend(session: Session, *, file_id: int | None = None, video_id: int | None = None,
          rate_card: RateCard | None = None) -> Spend:
    """What the completed jobs of a script or video cost (only completed generations are charged)."""
    card = rate_card or RateCard(dict(DEFAULT_RATES))
    stmt = select(Job).where(Job.status == "succeeded")
    stmt = _scope(stmt, file_id=file_id, video_id=video_id)
    return _sum(session, session.scalars(stmt).all(), card)


def committed_usd(session: Session, *, file_id: int, rate_card: RateCard) -> float:
    """The rate-card price of jobs queued or running for the script: money already promised."""
    stmt = _scope(select(Job).where(Job.status.in_(JOB_ACTIVE)), file_id=file_id, video_id=None)
    return _sum(session, session.scalars(stmt).all(), rate_card).usd


def cost_per_approved_clip_second(session: Session, *, file_id: int | None = None, video_id: int | None = None,
                                  rate_card: RateCard | None = None) -> float | None:
    """Total spend over the seconds of selected clips in approved or locked shots; None when there are none."""
    stmt = (select(func.coalesce(func.sum(Asset.duration_s), 0.0))
            .select_from(Shot).join(Asset, Asset.id == Shot.selected_clip_id)
            .join(Storyboard, Storyboard.id == Shot.storyboard_id).join(Video, Video.id == Storyboard.video_id)
            .where(Shot.review_status.in_(sorted(APPROVED_STATUSES)), Shot.deleted_at.is_(None), Storyboard.is_current))
    if video_id is not None:
        stmt = stmt.where(Video.id == video_id)
    if file_id is not None:
        stmt = stmt.where(Video.source_file_id == file_id)
    seconds = float(session.scalar(stmt) or 0.0)
    if seconds <= 0:
        return None
    return spend(session, file_id=file_id, video_id=video_id, rate_card=rate_card).usd / seconds


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


def budget_status(session: Session, file_id: int, *, rate_card: RateCard) -> BudgetStatus:
    source = session.get(SourceFile, file_id)
    if source is None:
        raise NotFoundError(f"Script {file_id} does not exist")
    spent = spend(session, file_id=file_id, rate_card=rate_card).usd
    committed = committed_usd(session, file_id=file_id, rate_card=rate_card)
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


def set_budget(session: Session, file_id: int, usd: float | None, *, actor: str) -> None:
    """Set (or clear, with None) a script's budget in USD."""
    require("admin")
    source = session.get(SourceFile, file_id)
    if source is None:
        raise NotFoundError(f"Script {file_id} does not exist")
    if usd is not None and usd < 0:
        raise ValidationError("A budget cannot be negative")
    old = source.budget_usd
    source.budget_usd = usd
    log_activity(session, "budget.set", actor=actor, source_file_id=file_id, subject_type="source_file",
                 subject_id=file_id, old=old, new=usd)
    session.flush()


# ---- query helpers ------------------------------------------------------------------------------------------

def _job_ids(*, file_id: int | None, video_id: int | None) -> Any:
    """The ids of jobs belonging to a script or video, via the job's own shot or its frame's shot."""
    stmt = (select(Job.id).outerjoin(Frame, Frame.id == Job.frame_id)
            .join(Shot, Shot.id == func.coalesce(Job.shot_id, Frame.shot_id))
            .join(Storyboard, Storyboard.id == Shot.storyboard_id).join(Video, Video.id == Storyboard.video_id))
    if video_id is not None:
        stmt = stmt.where(Video.id == video_id)
    if file_id is not None:
        stmt = stmt.where(Video.source_file_id == file_id)
    return stmt


def _job_in_file(file_id: int) -> Any:
    return Job.id.in_(_job_ids(file_id=file_id, video_id=None))


def _scope(stmt: Any, *, file_id: int | None, video_id: int | None) -> Any:
    if file_id is None and video_id is None:
        return stmt
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
        u, c = job_cost(job, card, clip_seconds=durations.get(job.id))
        from_card += job.cost_usd is None
        usd += u
        credits += c
        by_kind[job.kind] = by_kind.get(job.kind, 0.0) + u
    return Spend(round(usd, 4), round(credits, 4), len(jobs), from_card, {k: round(v, 4) for k, v in by_kind.items()})


# ---- voice-over (issue 17) ----------------------------------------------------------------------------------
# Kept apart from the image / clip rate card above so it moves as one block: priced per character of spoken text
# (after the lexicon), as OpenAI prices text-to-speech. A voice job stores this price when it is queued
# (`Job.cost_usd`), so `committed_usd`, `spend` and the budget gate count it with no voice-specific code.

VOICE_USD_PER_MILLION_CHARS: dict[str, float] = {
    "gpt-4o-mini-tts": 12.0,  # OpenAI's "about $0.015 a minute" at ~1,250 characters a minute
    "tts-1": 15.0,
    "tts-1-hd": 30.0,
    "espeak-ng": 0.0,  # the offline voice is free
}


def voice_price(model: str, characters: int) -> float:
    """USD for speaking `characters` with `model`; an unknown model is refused with the way out."""
    rate = VOICE_USD_PER_MILLION_CHARS.get(model)
    if rate is None:
        raise ValidationError(f"No voice price for model {model!r}: known voice models are "
                              f"{', '.join(sorted(VOICE_USD_PER_MILLION_CHARS))}")
    return round(rate * max(0, characters) / 1_000_000, 6)
