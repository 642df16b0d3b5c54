"""Rate card, the observed re-roll rate, all-or-nothing admission against a budget, spend (`core.cost`,
`core.money`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from sqlalchemy import select

from pydantic import SecretStr

from core import cost, money, review
from core.activity import recent_activity
from core.db import session_scope
from core.errors import GateError, ValidationError
from core.models import Job, RateOverride
from core.runtime import Runtime, open_runtime
from tests.core.review_factory import add_job, make_script

SOUL = "higgsfield-ai/soul/standard"
KLING = "kling-video/v2.1/pro/image-to-video"


def test_rate_card_defaults_edits_and_reset(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as session:
        card = cost.load_rate_card(session)
        assert card.require(SOUL).usd == pytest.approx(0.094)
        cost.set_rate(session, SOUL, unit="image", credits=2, usd=0.2, actor="ed")
        cost.set_rate(session, "new/model", unit="clip_second", credits=1, usd=0.05, actor="ed")
    with session_scope(runtime.sessions) as session:
        card = cost.load_rate_card(session)
        assert card.price(SOUL) == (pytest.approx(0.2), pytest.approx(2))
        assert card.price("new/model", seconds=10) == (pytest.approx(0.5), pytest.approx(10))
        # Only the edits are stored, with who made them; the defaults stay in code.
        rows = session.scalars(select(RateOverride).order_by(RateOverride.model)).all()
        assert [(r.model, r.updated_by) for r in rows] == [(SOUL, "ed"), ("new/model", "ed")]
        assert cost.reset_rate(session, SOUL, actor="ed") is True
        assert cost.reset_rate(session, SOUL, actor="ed") is False
    with session_scope(runtime.sessions) as session:
        assert cost.load_rate_card(session).require(SOUL).source == "default"
        actions = [a.action for a in recent_activity(session)]
        assert actions.count("rate.set") == 2 and actions.count("rate.reset") == 1
        with pytest.raises(ValidationError, match="rate card"):
            card.require("unknown/model")
        with pytest.raises(ValidationError):
            cost.set_rate(session, SOUL, unit="image", credits=-1, usd=0)
    assert not (runtime.data_dir / "rate_card.json").exists()


def test_rates_are_shared_by_processes_on_different_data_dirs(runtime: Runtime, tmp_path: Path) -> None:
    from tests.conftest import make_test_settings

    other = open_runtime(make_test_settings(tmp_path / "other-data", runtime.settings.db_url))
    try:
        with session_scope(runtime.sessions) as session:
            cost.set_rate(session, KLING, unit="clip_second", credits=3, usd=0.3)
        with other.sessions() as session:
            assert cost.load_rate_card(session).require(KLING).usd == pytest.approx(0.3)
    finally:
        other.engine.dispose()


def test_legacy_rate_card_file_is_imported_once(runtime: Runtime) -> None:
    legacy = runtime.data_dir / "rate_card.json"
    legacy.write_text(json.dumps({
        SOUL: {"unit": "image", "credits": 3, "usd": 0.3, "source": "edited"},
        KLING: {"unit": "clip_second", "credits": 9, "usd": 0.9, "source": "api"},
        "broken/model": {"unit": "image"},
    }))
    with session_scope(runtime.sessions) as session:  # already edited here: the database wins
        cost.set_rate(session, KLING, unit="clip_second", credits=1, usd=0.11, actor="ed")
    reopened = open_runtime(runtime.settings)
    try:
        with reopened.sessions() as session:
            card = cost.load_rate_card(session)
            assert card.require(SOUL).usd == pytest.approx(0.3) and card.require(SOUL).source == "edited"
            assert card.require(KLING).usd == pytest.approx(0.11)
            entry = recent_activity(session, limit=1)[0]
            assert entry.action == "rate_card.imported"
            assert entry.detail["models"] == [SOUL] and set(entry.detail["skipped"]) == {KLING, "broken/model"}
        assert not legacy.exists() and (runtime.data_dir / "rate_card.json.imported").is_file()
        assert cost.import_legacy_rate_card(reopened.sessions, runtime.data_dir) == []  # once only
        with reopened.sessions() as session:
            assert [a.action for a in recent_activity(session)].count("rate_card.imported") == 1
    finally:
        reopened.engine.dispose()


class FakeEstimator:
    def __init__(self, answers: Mapping[str, Any]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def estimate(self, slug: str, body: dict[str, Any]) -> Any:
        self.calls.append((slug, dict(body)))
        model = slug
        answer = self.answers[model]
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_refresh_from_the_estimate_endpoint(runtime: Runtime) -> None:
    client = FakeEstimator({
        SOUL: {"credits": "2", "usd": "0.125"},
        KLING: {"credits": "10", "usd": "0.5"},  # for a 5 s clip → per second
        "flux-pro/kontext/max/text-to-image": {"credits": "see pricing page", "usd": None},
        "bytedance/seedream/v4/text-to-image": RuntimeError("404 model not found"),
    })
    with session_scope(runtime.sessions) as session:
        outcome = cost.refresh_rate_card(session, client, {
            SOUL: ("image", {"prompt": "x"}, 1),
            KLING: ("clip_second", {"prompt": "x", "duration": 5}, 5),
            "flux-pro/kontext/max/text-to-image": ("image", {"prompt": "x"}, 1),
            "bytedance/seedream/v4/text-to-image": ("image", {"prompt": "x"}, 1),
        }, actor="ed")
    assert outcome[SOUL] == "updated" and outcome[KLING] == "updated"
    assert "no numeric price" in outcome["flux-pro/kontext/max/text-to-image"]
    assert "404" in outcome["bytedance/seedream/v4/text-to-image"]
    with runtime.sessions() as session:
        card = cost.load_rate_card(session)
    assert card.require(KLING).usd == pytest.approx(0.1) and card.require(KLING).source == "api"
    assert card.require(SOUL).credits == pytest.approx(2)
    assert card.require("flux-pro/kontext/max/text-to-image").source == "default"


def test_refresh_prices_the_configured_models_per_clip_second(runtime: Runtime) -> None:
    from core.higgs.types import Estimate

    client = FakeEstimator({SOUL: Estimate(credits=2.0, usd=0.12),
                            KLING: Estimate(credits=None, usd=None, note="see the pricing page")})
    with session_scope(runtime.sessions) as session:
        outcome = cost.refresh_configured_rates(session, client, image_model=SOUL, video_model=KLING,
                                                clip_seconds=5)
    assert outcome[SOUL] == "updated" and "see the pricing page" in outcome[KLING]
    assert [m for m, _ in client.calls] == [SOUL, KLING]
    assert client.calls[1][1]["prompt"] and client.calls[0][1]["prompt"]
    with runtime.sessions() as session:
        assert cost.load_rate_card(session).require(SOUL).usd == pytest.approx(0.12)


def test_the_observed_reroll_rate_is_a_forecast_not_part_of_the_price(runtime: Runtime) -> None:
    with runtime.sessions() as session:
        ids = make_script(session, runtime.data_dir, shots=1, frames=2, clip_shots=0)
        assert money.observed_reroll_rate(session, kind="image", file_id=ids.file_id) == 0
        # One frame re-rolled twice: 4 charged jobs over 2 frames → 100 % re-roll rate.
        add_job(session, "image", frame_id=ids.frame_ids[0], model=SOUL, cost=0.094)
        add_job(session, "image", frame_id=ids.frame_ids[0], model=SOUL, cost=0.094)
        add_job(session, "image", frame_id=ids.frame_ids[1], model=SOUL, status="failed")  # not charged
        assert money.observed_reroll_rate(session, kind="image", file_id=ids.file_id) == pytest.approx(1.0)
        # An estimate prices what would be queued, nothing more: two images are two images' price.
        pending = [Job(kind="image", provider="higgs", model=SOUL, params={}) for _ in range(2)]
        assert money.quote_jobs(session, ids.file_id, pending).total_usd == pytest.approx(2 * 0.094)


def test_admission_under_warning_and_over_budget(runtime: Runtime) -> None:
    with runtime.sessions() as session:
        cost.set_rate(session, KLING, unit="clip_second", credits=1, usd=1.0)
        card = cost.load_rate_card(session)
        ids = make_script(session, runtime.data_dir, shots=3, frames=1, clip_shots=0, with_images=False)
        # $0 spent so far; every clip is 5 s at $1/s.
        cost.set_budget(session, ids.file_id, 20.0, actor="ed")

        def clips(n: int) -> list[Job]:
            return [Job(kind="clip", provider="higgs", model=KLING, params={"duration": 5}) for _ in range(n)]

        under = money.quote_jobs(session, ids.file_id, clips(2)).admission  # $10 of $20
        assert under.admitted and under.level == "ok"
        assert "$10.00 of the $20.00 budget stays free" in under.reason
        add_job(session, "clip", shot_id=ids.shot_ids[0], model=KLING, cost=7.0)  # $7 spent
        warn = money.quote_jobs(session, ids.file_id, clips(2)).admission  # 7 + 10 = 85 %
        assert warn.admitted and warn.level == "warning" and "85%" in warn.reason
        over = money.quote_jobs(session, ids.file_id, clips(3)).admission  # 7 + 15 > 20
        assert not over.admitted and over.level == "blocked"
        assert "Nothing was queued" in over.reason and "$13.00" in over.reason
        with pytest.raises(GateError, match="budget"):
            over.raise_if_refused()
        # Jobs already queued count against the budget too.
        add_job(session, "clip", shot_id=ids.shot_ids[1], model=KLING, status="pending", params={"duration": 5})
        status = cost.budget_status(session, ids.file_id, rate_card=card)
        assert status.committed_usd == pytest.approx(5.0) and status.fraction == pytest.approx(0.6)
        assert not money.quote_jobs(session, ids.file_id, clips(2)).admission.admitted


def test_a_gated_item_is_skipped_with_its_reason_and_an_unknown_model_is_not_free(runtime: Runtime) -> None:
    """Gated shots and frames are left out with why (the studio's "cannot yet"); the rest is priced whole, and a
    model missing from the rate card is priced at the stated fallback, never at $0."""
    from core.jobs import quote_video_clips, quote_video_images

    higgs = runtime.settings.model_copy(update={"renderer": "higgs", "hf_key": SecretStr("id:secret"),
                                                "allow_unapproved_clips": False})
    with runtime.sessions() as session:
        ids = make_script(session, runtime.data_dir, shots=2, frames=1, clip_shots=0, with_images=False)
        review.set_status(session, "frame", ids.frame_ids[0], "in_review", actor="ed")
        review.set_status(session, "frame", ids.frame_ids[0], "approved", actor="ed")
        verdict = quote_video_clips(session, ids.video_ids[0], settings=higgs)
        assert verdict.clips == 1 and "not approved" in verdict.skipped[ids.shot_ids[1]]
        review.set_status(session, "frame", ids.frame_ids[0], "locked", actor="ed")
        images = quote_video_images(session, ids.video_ids[0], settings=higgs)
        assert "locked" in images.skipped[ids.frame_ids[0]] and images.images == 1
        retired = higgs.model_copy(update={"higgs_image_model": "retired/model"})
        unknown = quote_video_images(session, ids.video_ids[0], settings=retired)
        assert unknown.total_usd == pytest.approx(money.FALLBACK_USD["image"]) and unknown.source == "fallback"
        assert "fallback price for retired/model" in unknown.summary()


def test_spend_per_video_and_script_and_cost_per_approved_second(runtime: Runtime) -> None:
    with runtime.sessions() as session:
        card = cost.load_rate_card(session)
        ids = make_script(session, runtime.data_dir, videos=2, shots=1, frames=2, clip_shots=1)
        # Per video: 2 images at $0.094 reported by the API + one 5 s clip priced from the card ($0.0875/s).
        per_video = 2 * 0.094 + 5 * 0.0875
        one = cost.spend(session, video_id=ids.video_ids[0], rate_card=card)
        assert one.usd == pytest.approx(per_video) and one.jobs == 3 and one.priced_from_card == 1
        assert one.by_kind["clip"] == pytest.approx(5 * 0.0875)
        assert cost.spend(session, file_id=ids.file_id, rate_card=card).usd == pytest.approx(2 * per_video)
        assert cost.cost_per_approved_clip_second(session, file_id=ids.file_id, rate_card=card) is None
        shot = ids.shot_ids[0]
        for fid in ids.frame_ids[:2]:
            review.set_status(session, "frame", fid, "in_review", actor="ed")
            review.set_status(session, "frame", fid, "approved", actor="ed")
        review.set_status(session, "shot", shot, "in_review", actor="ed")
        review.set_status(session, "shot", shot, "approved", actor="ed")
        per_second = cost.cost_per_approved_clip_second(session, file_id=ids.file_id, rate_card=card)
        assert per_second == pytest.approx(2 * per_video / 5.0)


def test_admitting_a_whole_video_uses_the_configured_model(runtime: Runtime) -> None:
    from core.jobs import quote_video_clips, quote_video_images
    from tests.conftest import make_test_settings

    higgs = make_test_settings(runtime.data_dir, runtime.settings.db_url, renderer="higgs", hf_key="id:secret")
    offline = make_test_settings(runtime.data_dir, runtime.settings.db_url, renderer="offline")
    with runtime.sessions() as session:
        ids = make_script(session, runtime.data_dir, shots=2, frames=2, clip_shots=0, with_images=False,
                          budget_usd=0.2)
        images = quote_video_images(session, ids.video_ids[0], settings=higgs)
        assert not images.admission.admitted and images.total_usd == pytest.approx(4 * 0.094)
        assert "only $0.20" in images.admission.reason
        assert quote_video_images(session, ids.video_ids[0], settings=offline).admission.admitted
        # Clips wait for approval even when free.
        clips = quote_video_clips(session, ids.video_ids[0], settings=offline)
        assert clips.clips == 0 and all("not approved" in why for why in clips.skipped.values())
