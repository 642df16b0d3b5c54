"""Money is one rule: the CLI, the API and the studio's pre-check price the same request the same way and give the
same answer; an estimate prices exactly what the request then queues; a request is admitted whole or not at all;
every way of asking for a clip passes the role, approval and budget gates; cast candidates count in the spend.

Each test runs on SQLite and PostgreSQL (the `runtime` fixture).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select

from core import catalog, money
from core.api import create_app
from core.authz import Principal, Role, acting_as
from core.batch_check import check_video_images
from core.cli import main
from core.cli import render_cmds
from core.cost import set_budget, set_rate
from core.db import session_scope
from core.errors import GateError
from core.jobs import planning, quote_clip, quote_video_images, request_clip, request_explicit_clip
from core.models import Asset, Frame, Job, Shot
from core.review import set_status
from core.runtime import Runtime
from tests.core.review_factory import make_script

SOUL = "higgsfield-ai/soul/standard"  # $0.094 an image on the default rate card
OMNI = "kling-video/omni/first-last-frame"  # $0.10 a clip second, durations 5 or 10, takes an end frame
START_ONLY = "kling-video/v2.1/pro/image-to-video"  # no end frame, no duration (fixed-length clips)
REVIEWER = Principal("rita@client.test", "Rita", frozenset({Role.REVIEWER}))


def _paid(runtime: Runtime, **overrides: Any) -> Runtime:
    settings = runtime.settings.model_copy(update={"renderer": "higgs", "hf_key": SecretStr("id:secret"),
                                                   "higgs_image_model": SOUL, "higgs_video_model": OMNI,
                                                   "allow_unapproved_clips": False, **overrides})
    return Runtime(settings=settings, engine=runtime.engine, sessions=runtime.sessions)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """`python -m core …` against a given runtime; returns (exit code, printed JSON or None, stderr)."""
    def run(rt: Runtime, *argv: str) -> tuple[int, Any, str]:
        monkeypatch.setattr(render_cmds, "open_runtime", lambda: rt)
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, (json.loads(out) if out.strip() else None), err

    yield run


def _jobs(rt: Runtime) -> int:
    with rt.sessions() as s:
        return int(s.scalar(select(func.count(Job.id))) or 0)


def test_the_estimate_prices_exactly_the_re_renders_the_request_then_queues(runtime: Runtime, cli: Any) -> None:
    """The reported case: images exist (rendered with other inputs), `--estimate` said "0 image(s): $0.00", and the
    same command then queued 3 re-renders. Now the estimate is the request, not written."""
    rt = _paid(runtime)
    with session_scope(rt.sessions) as s:
        ids = make_script(s, rt.data_dir, shots=1, frames=3, clip_shots=0)  # every frame has an image already
    video = str(ids.video_ids[0])
    code, est, _ = cli(rt, "render", "images", "--video", video, "--estimate")
    assert code == 0 and _jobs(rt) == 3  # only the factory's finished jobs: the estimate queued nothing
    assert est["images"] == 3 and est["usd"] == pytest.approx(3 * 0.094) and est["priced_from"] == "rate card"
    with TestClient(create_app(rt)) as http:  # the API's estimate of one of those frames agrees
        one = http.post("/generation/images/estimate", json={"frame_id": ids.frame_ids[0]}).json()
    assert (one["images"], one["usd"]) == (1, pytest.approx(0.094))
    code, out, _ = cli(rt, "render", "images", "--video", video)
    assert code == 0
    queued = [j for j in out["jobs"] if j["status"] == "pending"]
    assert len(queued) == est["images"] and out["estimate"] == est["estimate"]
    with rt.sessions() as s:
        committed = money.budget_status(s, ids.file_id).committed_usd
    assert committed == pytest.approx(est["usd"])  # what is now promised is what the estimate said
    # Asked again while they are queued: nothing new to pay for, and the estimate says so.
    code, again, _ = cli(rt, "render", "images", "--video", video, "--estimate")
    assert (again["images"], again["usd"], again["unchanged"]) == (0, 0, 3)


def test_an_unknown_model_is_never_free_and_gets_one_answer_everywhere(runtime: Runtime, cli: Any) -> None:
    rt = _paid(runtime, higgs_image_model="retired/model")
    fallback = money.FALLBACK_USD["image"]
    with session_scope(rt.sessions) as s:
        ids = make_script(s, rt.data_dir, shots=1, frames=1, clip_shots=0, with_images=False, budget_usd=0.05)
    frame, video = ids.frame_ids[0], ids.video_ids[0]

    # Under a $0.05 budget, the fallback price ($0.10) is refused by the CLI, the API and the studio alike.
    code, est, _ = cli(rt, "render", "images", "--video", str(video), "--estimate")
    assert code == 1 and est["usd"] == pytest.approx(fallback) and est["priced_from"] == "fallback"
    assert not est["budget"]["admitted"] and "only $0.05" in est["budget"]["reason"]
    code, _, err = cli(rt, "render", "images", "--frame", str(frame))
    assert code == 2 and "budget" in err
    with TestClient(create_app(rt)) as http:
        api_est = http.post("/generation/images/estimate", json={"frame_id": frame})
        refused = http.post("/generation/images", json={"frame_id": frame})
    assert api_est.status_code == 200 and api_est.json()["usd"] == pytest.approx(fallback)
    assert api_est.json()["priced_from"] == "fallback" and not api_est.json()["admitted"]
    assert refused.status_code == 409 and refused.json()["category"] == "budget"
    assert refused.json()["detail"] == api_est.json()["reason"]  # the estimate's answer is the request's
    with rt.sessions() as s:
        check = check_video_images(s, video, settings=rt.settings)
    assert not check.admitted and "fallback price for retired/model" in check.headline()
    assert _jobs(rt) == 0

    # With room in the budget all three queue it, at the same fallback price, and it counts as promised money.
    with session_scope(rt.sessions) as s:
        set_budget(s, ids.file_id, 1.0, actor="ed")
    with rt.sessions() as s:
        assert check_video_images(s, video, settings=rt.settings).admitted
    code, est, _ = cli(rt, "render", "images", "--frame", str(frame), "--estimate")
    assert code == 0 and est["usd"] == pytest.approx(fallback)
    with TestClient(create_app(rt)) as http:
        assert http.post("/generation/images", json={"frame_id": frame}).status_code == 202
    with rt.sessions() as s:
        assert money.budget_status(s, ids.file_id).committed_usd == pytest.approx(fallback)
    # Once an admin prices the model, the rate card's price applies.
    with session_scope(rt.sessions) as s:
        set_rate(s, "retired/model", unit="image", credits=1, usd=0.02, actor="ed")
        assert money.budget_status(s, ids.file_id).committed_usd == pytest.approx(0.02)


def test_a_request_is_admitted_whole_or_not_at_all_from_the_cli_and_the_api(runtime: Runtime, cli: Any) -> None:
    rt = _paid(runtime, allow_unapproved_clips=True)
    with session_scope(rt.sessions) as s:
        # 3 images at $0.094 = $0.28 against $0.20: two would fit, so a per-job check would queue two.
        ids = make_script(s, rt.data_dir, shots=1, frames=3, clip_shots=0, with_images=False, budget_usd=0.2)
    code, _, err = cli(rt, "render", "images", "--video", str(ids.video_ids[0]))
    assert code == 2 and "Nothing was queued" in err and "only $0.20" in err
    assert _jobs(rt) == 0
    # A shot's clip through the API: its two missing images ($0.19) fit, the clip with them ($0.50 more) does not.
    with session_scope(rt.sessions) as s:
        two = make_script(s, rt.data_dir, shots=1, frames=2, clip_shots=0, with_images=False, budget_usd=0.3)
        quote = quote_clip(s, two.shot_ids[0], settings=rt.settings)
    assert (quote.images, quote.clips) == (2, 1) and not quote.admission.admitted
    with TestClient(create_app(rt)) as http:
        api_est = http.post("/generation/video/estimate", json={"shot_id": two.shot_ids[0]}).json()
        refused = http.post("/generation/video", json={"shot_id": two.shot_ids[0]})
    assert (api_est["images"], api_est["clips"], api_est["usd"]) == (2, 1, pytest.approx(quote.total_usd))
    assert not api_est["admitted"]
    assert refused.status_code == 409 and refused.json()["category"] == "budget"
    assert refused.json()["detail"] == quote.admission.reason  # the same words as its estimate
    assert _jobs(rt) == 0  # not even the images


def _approved_script(rt: Runtime, **kwargs: Any) -> tuple[Any, list[int]]:
    """A one-shot script whose two frames have images; returns the ids and the frames' selected image ids."""
    with session_scope(rt.sessions) as s:
        ids = make_script(s, rt.data_dir, shots=1, frames=2, clip_shots=0, **kwargs)
        images = [s.get(Frame, f).selected_image_id for f in ids.frame_ids]  # type: ignore[union-attr]
    return ids, images


def _approve(rt: Runtime, frame_ids: list[int]) -> None:
    with session_scope(rt.sessions) as s:
        for fid in frame_ids:
            set_status(s, "frame", fid, "in_review", actor="ed")
            set_status(s, "frame", fid, "approved", actor="ed")


def test_clips_from_explicit_images_pass_the_approval_gate(runtime: Runtime) -> None:
    rt = _paid(runtime)
    ids, images = _approved_script(rt)
    body = {"start_image_id": images[0], "end_image_id": images[1], "prompt": "Slow push-in"}
    with TestClient(create_app(rt)) as http:
        refused = http.post("/generation/video", json=body)
        assert refused.status_code == 409 and "not approved" in refused.json()["detail"]
        assert _jobs(rt) == 2  # the factory's two image jobs only
        _approve(rt, ids.frame_ids)
        queued = http.post("/generation/video", json=body)
        assert queued.status_code == 202, queued.text
    with rt.sessions() as s:
        job = s.get(Job, queued.json()["id"])
        assert job is not None and job.source_file_id == ids.file_id
        # Charged to the script: a 5 s clip at $0.10 a second is queued money.
        assert money.budget_status(s, ids.file_id).committed_usd == pytest.approx(0.5)
    # The lead's switch relaxes the gate, as for shot clips: an unapproved image then may start a clip.
    relaxed = _paid(runtime, allow_unapproved_clips=True)
    other, other_images = _approved_script(relaxed)
    with TestClient(create_app(relaxed)) as http:
        ok = http.post("/generation/video", json={"start_image_id": other_images[0], "prompt": "Pan left"})
    assert ok.status_code == 202, ok.text


def test_clips_from_explicit_images_pass_the_budget_and_the_role(runtime: Runtime) -> None:
    rt = _paid(runtime)
    ids, images = _approved_script(rt, budget_usd=0.01)
    _approve(rt, ids.frame_ids)
    body = {"start_image_id": images[0], "end_image_id": images[1], "prompt": "Slow push-in"}
    with TestClient(create_app(rt)) as http:
        first = http.post("/generation/video", json=body)
        second = http.post("/generation/video", json={**body, "prompt": "Slow pull out"})
    assert first.status_code == second.status_code == 409
    assert first.json()["category"] == "budget" and "would cost $0.50" in first.json()["detail"]
    assert _jobs(rt) == 2
    with session_scope(rt.sessions) as s, acting_as(REVIEWER):
        start = s.get(Asset, images[0])
        assert start is not None
        with pytest.raises(GateError) as err:
            request_explicit_clip(s, start=start, end=None, prompt="Slow push-in", settings=rt.settings)
        assert err.value.category == "forbidden"
        with pytest.raises(GateError) as err:  # the API's adapter refuses before it fetches anything
            from core.api.clips import queue_explicit_clip
            from core.api.schemas import ClipJobIn

            queue_explicit_clip(s, ClipJobIn(start_image_url="https://example.org/a.png",  # type: ignore[arg-type]
                                             prompt="x"), settings=rt.settings)
        assert err.value.category == "forbidden"
    assert _jobs(rt) == 2


def _narrate(s: Any, shot_id: int, *, words: int) -> None:
    """Give the shot its own narration of `words` words (stored text, no span of the body)."""
    shot = s.get(Shot, shot_id)
    shot.narration_text, shot.narration_start, shot.narration_end = " ".join(["word"] * words), None, None
    s.flush()
    s.expire(shot)


def test_the_catalog_decides_end_frames_durations_and_the_price_unit() -> None:
    omni = catalog.capabilities("higgs", OMNI)
    assert omni.takes_end_frame and omni.durations == (5, 10) and omni.price_unit == "clip_second"
    assert omni.fit_duration(9.2) == 10 and omni.fit_duration(6) == 5
    start_only = catalog.capabilities("higgs", START_ONLY)
    assert not start_only.takes_end_frame and start_only.durations is None and start_only.fit_duration(9) is None
    assert start_only.billed_seconds(None) == catalog.FIXED_CLIP_SECONDS
    assert catalog.capabilities("higgs", SOUL).price_unit == "image"
    offline = catalog.capabilities("offline", "offline-clip")
    assert offline.takes_end_frame and offline.fit_duration(7.4) == 7
    # The model's published schema wins over the table (as when the body is built).
    schema = {"properties": {"prompt": {}, "image_url": {}, "duration": {"enum": [4, 8]}}}
    from_schema = catalog.capabilities("higgs", OMNI, schema=schema)
    assert not from_schema.takes_end_frame and from_schema.fit_duration(7) == 8


def test_planning_and_prices_follow_the_catalog(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    """Change what the catalog says about the configured model and planning, the job and its price follow."""
    rt = _paid(runtime, allow_unapproved_clips=True, higgs_video_model="studio/new-video-model")
    with session_scope(rt.sessions) as s:
        ids = make_script(s, rt.data_dir, shots=1, frames=2, clip_shots=0)
        set_rate(s, "studio/new-video-model", unit="clip_second", credits=1, usd=0.5, actor="ed")
        _narrate(s, ids.shot_ids[0], words=13)  # 6 s at 130 words a minute
    real = catalog.capabilities

    def told(provider: str, model: str, **kw: Any) -> catalog.Capabilities:
        if model == "studio/new-video-model":
            return catalog.Capabilities(provider, model, "clip", "clip_second", start_field="image_url",
                                        end_field=None, durations=(3, 7))  # start only, 3 or 7 seconds
        return real(provider, model, **kw)

    monkeypatch.setattr(catalog, "capabilities", told)
    with session_scope(rt.sessions) as s:
        assert not planning.takes_end_frame(rt.settings, "higgs")
        quote = quote_clip(s, ids.shot_ids[0], settings=rt.settings)
        assert quote.total_usd == pytest.approx(7 * 0.5)  # 6 s of narration → 7 s sent, priced for 7
        job = request_clip(s, ids.shot_ids[0], settings=rt.settings)
        assert job.params["duration"] == 7 and job.params["end_frame_id"] is None
        assert len(job.input_asset_ids) == 1  # only the start image is sent
        assert money.price_job(job, money.load_rate_card(s)).usd == pytest.approx(quote.total_usd)


def test_a_clip_is_priced_for_the_duration_it_is_sent_with_not_the_setting(runtime: Runtime) -> None:
    rt = _paid(runtime, allow_unapproved_clips=True, clip_duration_s=5)
    with session_scope(rt.sessions) as s:
        ids = make_script(s, rt.data_dir, shots=1, frames=2, clip_shots=0)
        _narrate(s, ids.shot_ids[0], words=20)  # about 9 s
        quote = quote_clip(s, ids.shot_ids[0], settings=rt.settings)
        assert quote.clips == 1 and quote.total_usd == pytest.approx(10 * 0.10)  # 10 s sent, not 5
        job = request_clip(s, ids.shot_ids[0], settings=rt.settings)
        assert job.params["duration"] == 10
        assert money.budget_status(s, ids.file_id).committed_usd == pytest.approx(quote.total_usd)


def test_cast_candidates_count_in_the_scripts_spend_and_budget(runtime: Runtime) -> None:
    from core.cast import add_member
    from core.cast_candidates import request_candidates

    rt = _paid(runtime)
    with session_scope(rt.sessions) as s:
        ids = make_script(s, rt.data_dir, shots=1, frames=1, clip_shots=0)
        add_member(s, ids.file_id, "Layla", kind="presenter", description="Navy blazer", assets=rt.assets)
        before = money.spend(s, file_id=ids.file_id).usd
        jobs = request_candidates(s, ids.file_id, "Layla", settings=rt.settings, count=2)
        assert {j.source_file_id for j in jobs} == {ids.file_id}
        assert money.budget_status(s, ids.file_id).committed_usd == pytest.approx(2 * 0.094)
        jobs[0].status = "succeeded"
        s.flush()
        assert money.spend(s, file_id=ids.file_id).usd == pytest.approx(before + 0.094)
        # The queued candidate now leaves too little for two more under a budget of what is spent + $0.15.
        set_budget(s, ids.file_id, before + 0.15, actor="ed")
        with pytest.raises(GateError, match="No candidates were queued"):
            request_candidates(s, ids.file_id, "Layla", settings=rt.settings, count=2)


def test_offline_requests_are_free_and_pass_any_budget(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as s:
        ids = make_script(s, runtime.data_dir, shots=1, frames=2, clip_shots=0, with_images=False, budget_usd=0.0)
        offline = runtime.settings.model_copy(update={"renderer": "offline"})
        quote = quote_video_images(s, ids.video_ids[0], settings=offline)
        assert quote.images == 2 and quote.total_usd == 0 and quote.cost_text() == "free (offline)"
        assert quote.admission.admitted
