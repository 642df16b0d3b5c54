"""Cost: editing the rate card (defaults in code, edits and Higgs estimates in the `rate_overrides` table) and a
script's budget, and the cost per approved clip second.

The rate card lives in code (`core.money.DEFAULT_RATES`, the seeded defaults) plus the `rate_overrides` table
holding only what a producer edited or what the Higgs estimate endpoint reported, so a new default in code reaches
every studio while edits survive upgrades, and every studio and worker sharing the database uses the same prices.

Pricing, spend and budget admission are one rule in `core.money` (re-exported here for the pages that read a
script's spend): what a render costs, what a request would queue, whether the budget admits it whole.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from core.activity import log_activity
from core.authz import require
from core.catalog import PRICE_UNITS
from core.catalog import PriceUnit as Unit
from core.db import session_scope
from core.errors import NotFoundError, ValidationError
from core.models import Asset, RateOverride, Shot, SourceFile, Storyboard, Video, utcnow
from core.money import (
    DEFAULT_RATES,
    WARN_FRACTION,
    BudgetStatus,
    Rate,
    RateCard,
    Spend,
    budget_status,
    committed_usd,
    job_cost,
    load_rate_card,
    observed_reroll_rate,
    spend,
)
from core.review import APPROVED_STATUSES

__all__ = [
    "DEFAULT_RATES", "WARN_FRACTION", "BudgetStatus", "Rate", "RateCard", "Spend", "budget_status",
    "committed_usd", "cost_per_approved_clip_second", "import_legacy_rate_card", "job_cost", "load_rate_card",
    "observed_reroll_rate", "refresh_configured_rates", "refresh_rate_card", "reset_rate", "set_budget",
    "set_rate", "spend",
]

LEGACY_RATE_CARD_FILE = "rate_card.json"  # where overrides lived before migration 0002


# ---- the rate card in the database -------------------------------------------------------------------------

def set_rate(session: Session, model: str, *, unit: Unit, credits: float, usd: float, source: str = "edited",
             actor: str = "") -> Rate:
    """Edit (or add) one model's price; stored as an override row, logged with who changed it."""
    require("admin")
    model = model.strip()
    if not model:
        raise ValidationError("A rate needs a model name")
    if len(model) > 128:
        raise ValidationError("A model name is at most 128 characters")
    if unit not in PRICE_UNITS:
        raise ValidationError("A rate is per image, per clip second or per character spoken (a voice)")
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
                if (unit not in PRICE_UNITS or credits < 0 or usd < 0 or len(model) > 128
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


# ---- spend ------------------------------------------------------------------------------------------------

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
