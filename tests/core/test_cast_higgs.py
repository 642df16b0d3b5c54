"""The cast and sets in renders over real HTTP against the local Higgs server: each request of a frame showing a
cast member carries its reference in the field the model's schema names, each reference image is uploaded once
for a whole video and after a worker restart, models without a reference field get none, clips on
reference-taking video models get them too. Both databases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from core.cast import add_member, assign_cast, get_member
from core.db import session_scope
from core.higgs import PollSchedule
from core.jobs import Worker, request_clip, request_video_images
from core.models import Asset, Frame, Job
from core.render.higgs_provider import HiggsProvider
from core.render.providers import OfflineProvider, RenderProvider
from core.runtime import Runtime
from core.settings import Settings
from tests.conftest import make_test_settings
from tests.core.jobs_factory import Board, make_board
from tests.fakes.higgs_server import FakeHiggsServer, make_png

REFERENCE_IMAGE_MODEL = "bytedance/seedream/v4/edit"  # schema field: image_urls (a list)
REFERENCE_VIDEO_MODEL = "kling-video/o1/reference-to-video"  # start in image_url, references in reference_image_urls
FAST_POLLS = PollSchedule(initial_s=0.05, factor=1.5, max_s=0.2, jitter=0.1)
PRESENTER_PHOTO = make_png("presenter Layla", (256, 256))
STUDIO_PHOTO = make_png("the studio set", (320, 180))


@pytest.fixture
def settings(tmp_path: Any, db_url: str) -> Settings:
    return make_test_settings(tmp_path / "data", db_url, allow_unapproved_clips=True)


@pytest.fixture
def server() -> Iterator[FakeHiggsServer]:
    with FakeHiggsServer(latency_s=0.1, seed=11) as srv:
        yield srv


def _higgs(rt: Runtime, server: FakeHiggsServer, **overrides: Any) -> Runtime:
    key_id, secret = server.credentials
    settings = rt.settings.model_copy(update={"hf_key": SecretStr(f"{key_id}:{secret}"), "renderer": "higgs",
                                              "higgs_base_url": server.base_url, "allow_private_downloads": True,
                                              "allow_http_downloads": True, **overrides})
    return Runtime(settings=settings, engine=rt.engine, sessions=rt.sessions)


def _drain(rt: Runtime) -> None:
    """A fresh worker with fresh providers each time: nothing survives in memory from the previous one, as after
    a restart of the worker process."""
    providers: dict[str, RenderProvider] = {
        "offline": OfflineProvider(rt.assets, clip_duration_s=1),
        "higgs": HiggsProvider.from_settings(rt.settings, rt.assets, poll=FAST_POLLS, backoff_base_s=0.01,
                                             timeout_s=2.0),
    }
    Worker(rt, providers=providers, backoff_s=0.02, idle_s=0.02, concurrency=4).run(drain=True)


def _cast(rt: Runtime, board: Board) -> None:
    """Layla presents (the default for every shot); shot 2 shows her in the studio set."""
    with session_scope(rt.sessions) as s:
        add_member(s, board.file_id, "Layla", kind="presenter", description="A woman in her thirties, navy blazer",
                   images=[PRESENTER_PHOTO], assets=rt.assets)
        add_member(s, board.file_id, "Studio", kind="set", description="A bright TV studio with a desk",
                   images=[STUDIO_PHOTO], assets=rt.assets)
        assign_cast(s, board.shot_ids[1], ["Layla", "Studio"])


def _bodies(server: FakeHiggsServer, slug: str) -> list[dict[str, Any]]:
    return [r.body for r in server.requests if r.slug == slug]


def _uploaded_sha256(server: FakeHiggsServer) -> list[str]:
    return sorted(sha for _, sha in server.upload_ledger())


def test_twelve_frames_carry_their_references_uploaded_once_even_after_a_restart(
        runtime: Runtime, server: FakeHiggsServer) -> None:
    import hashlib

    rt = _higgs(runtime, server, higgs_image_model=REFERENCE_IMAGE_MODEL)
    with session_scope(rt.sessions) as s:
        board = make_board(s, shots=3, frames=4)  # a 12-frame video
    _cast(rt, board)
    with session_scope(rt.sessions) as s:
        assert len(request_video_images(s, board.video_id, settings=rt.settings).jobs) == 12
    _drain(rt)

    with rt.sessions() as s:
        layla = get_member(s, board.file_id, "Layla").images[0]
        studio = get_member(s, board.file_id, "Studio").images[0]
        assert layla.remote_url and studio.remote_url
        jobs = list(s.query(Job).filter(Job.kind == "image"))
        assert {j.status for j in jobs} == {"succeeded"}, [j.error for j in jobs]
        frame_shot = {f.id: f.shot_id for f in s.query(Frame)}
    bodies = _bodies(server, REFERENCE_IMAGE_MODEL)
    assert len(bodies) == 12
    by_prompt = {b["prompt"]: b for b in bodies}
    for job in jobs:
        sent = by_prompt[job.prompt_text]["image_urls"]
        if frame_shot[job.frame_id] == board.shot_ids[1]:
            assert sent == [layla.remote_url, studio.remote_url]  # people before the set
        else:
            assert sent == [layla.remote_url]  # nobody chosen: the course presenter
    expected = sorted([hashlib.sha256(PRESENTER_PHOTO).hexdigest(), hashlib.sha256(STUDIO_PHOTO).hexdigest()])
    assert _uploaded_sha256(server) == expected  # two reference images, two uploads, for twelve requests

    # A restart (new worker, new provider, new HTTP client) re-rolling all twelve: the stored URLs are reused.
    with session_scope(rt.sessions) as s:
        assert request_video_images(s, board.video_id, settings=rt.settings, force=True).created == 12
    _drain(rt)
    assert len(_bodies(server, REFERENCE_IMAGE_MODEL)) == 24
    assert _uploaded_sha256(server) == expected
    assert all(b["image_urls"][0] == layla.remote_url for b in _bodies(server, REFERENCE_IMAGE_MODEL))
    assert server.state.keyed_downloads == 0


def test_a_model_without_a_reference_field_is_sent_none_and_nothing_is_uploaded(
        runtime: Runtime, server: FakeHiggsServer) -> None:
    rt = _higgs(runtime, server)  # the default image model, higgsfield-ai/soul/standard: no reference field
    with session_scope(rt.sessions) as s:
        board = make_board(s, shots=2, frames=2)
    _cast(rt, board)
    with session_scope(rt.sessions) as s:
        request_video_images(s, board.video_id, settings=rt.settings)
    _drain(rt)
    bodies = _bodies(server, rt.settings.higgs_image_model)
    assert len(bodies) == 4
    assert all(set(b) <= {"prompt", "aspect_ratio", "resolution"} for b in bodies), bodies
    assert server.upload_ledger() == []
    with rt.sessions() as s:
        assert {j.status for j in s.query(Job)} == {"succeeded"}
        assert all(not get_member(s, board.file_id, n).images[0].remote_url for n in ("Layla", "Studio"))


def test_a_clip_on_a_reference_taking_video_model_gets_the_references(
        runtime: Runtime, server: FakeHiggsServer) -> None:
    rt = _higgs(runtime, server, higgs_image_model=REFERENCE_IMAGE_MODEL, higgs_video_model=REFERENCE_VIDEO_MODEL)
    with session_scope(rt.sessions) as s:
        board = make_board(s, shots=2, frames=2)
    _cast(rt, board)
    with session_scope(rt.sessions) as s:
        clip_ids = [request_clip(s, shot_id, settings=rt.settings).id for shot_id in board.shot_ids]
    _drain(rt)
    with rt.sessions() as s:
        clips = [s.get(Job, i) for i in clip_ids]
        assert [c.status for c in clips] == ["succeeded", "succeeded"], [c.error for c in clips]
        layla = get_member(s, board.file_id, "Layla").images[0].remote_url
        studio = get_member(s, board.file_id, "Studio").images[0].remote_url
        starts = [s.get(Asset, s.get(Frame, fs[0]).selected_image_id).remote_url for fs in board.frames]
    bodies = _bodies(server, REFERENCE_VIDEO_MODEL)
    assert len(bodies) == 2
    by_start = {b["image_url"]: b for b in bodies}
    assert by_start[starts[0]]["reference_image_urls"] == [layla]
    assert by_start[starts[1]]["reference_image_urls"] == [layla, studio]
    assert len(server.upload_ledger()) == 2  # the two references; the start frames were Higgs outputs already


def test_a_picked_candidate_rendered_by_higgs_is_sent_by_its_output_url_without_an_upload(
        runtime: Runtime, server: FakeHiggsServer) -> None:
    from core.cast import pick_candidate
    from core.cast_candidates import request_candidates

    rt = _higgs(runtime, server, higgs_image_model=REFERENCE_IMAGE_MODEL)
    with session_scope(rt.sessions) as s:
        board = make_board(s, shots=1, frames=2)
        add_member(s, board.file_id, "Layla", kind="presenter", description="A woman in her thirties, navy blazer",
                   assets=rt.assets)
        request_candidates(s, board.file_id, "Layla", settings=rt.settings, count=2)
    _drain(rt)
    candidate_bodies = _bodies(server, REFERENCE_IMAGE_MODEL)
    assert len(candidate_bodies) == 2 and all("image_urls" not in b for b in candidate_bodies)
    with session_scope(rt.sessions) as s:
        layla = get_member(s, board.file_id, "Layla")
        assert len(layla.images) == 2
        picked = pick_candidate(s, layla.images[1].id)
        picked_url = picked.remote_url
        request_video_images(s, board.video_id, settings=rt.settings)
    _drain(rt)
    frame_bodies = _bodies(server, REFERENCE_IMAGE_MODEL)[2:]
    assert len(frame_bodies) == 2 and all(b["image_urls"] == [picked_url] for b in frame_bodies)
    assert server.upload_ledger() == []  # the candidate is still online at Higgs: its URL is reused


@pytest.mark.slow  # two real worker processes, the first killed mid-video; SQLite only
def test_a_worker_killed_mid_video_is_replaced_without_uploading_a_reference_again(
        sqlite_runtime: Runtime) -> None:
    import hashlib
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from tests.core.jobs_factory import wait_for_job

    root = Path(__file__).resolve().parents[2]
    with FakeHiggsServer(latency_s=1.0, seed=5) as server:
        rt = _higgs(sqlite_runtime, server, higgs_image_model=REFERENCE_IMAGE_MODEL)
        with session_scope(rt.sessions) as s:
            board = make_board(s, shots=3, frames=4)
        _cast(rt, board)
        with session_scope(rt.sessions) as s:
            ids = [j.id for j in request_video_images(s, board.video_id, settings=rt.settings).jobs]
        key_id, secret = server.credentials
        env = {**os.environ, "PYTHONPATH": str(root), "DATABASE_URL": rt.settings.db_url,
               "STUDIO_DATA_DIR": str(rt.data_dir), "HF_KEY": f"{key_id}:{secret}", "RENDERER": "higgs",
               "HIGGS_BASE_URL": server.base_url, "HIGGS_IMAGE_MODEL": REFERENCE_IMAGE_MODEL, "JOB_LEASE_S": "1.0",
               "RENDER_CONCURRENCY": "2", "ALLOW_PRIVATE_DOWNLOADS": "true", "ALLOW_HTTP_DOWNLOADS": "true"}
        first = subprocess.Popen([sys.executable, "-m", "core", "worker"], cwd=root, env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_job(rt, ids[0], lambda j: j.remote_request_id is not None, timeout=30)
        finally:
            os.kill(first.pid, signal.SIGKILL)
            first.wait(10)
        uploaded_before = len(server.upload_ledger())
        second = subprocess.run([sys.executable, "-m", "core", "worker", "--drain"], cwd=root, env=env,
                                check=False, capture_output=True, text=True, timeout=120)
        assert second.returncode == 0, second.stderr[-2000:]
        with rt.sessions() as s:
            assert [s.get(Job, i).status for i in ids] == ["succeeded"] * 12
        expected = sorted([hashlib.sha256(PRESENTER_PHOTO).hexdigest(), hashlib.sha256(STUDIO_PHOTO).hexdigest()])
        assert 1 <= uploaded_before <= 2 and _uploaded_sha256(server) == expected
        assert server.charged_requests == 12 and max(server.charges_by_key().values()) == 1


def test_candidates_that_would_break_the_budget_are_refused_and_nothing_is_queued(
        runtime: Runtime, server: FakeHiggsServer) -> None:
    from core.cast_candidates import request_candidates
    from core.cost import set_budget
    from core.errors import GateError

    rt = _higgs(runtime, server, higgs_image_model=REFERENCE_IMAGE_MODEL)
    with session_scope(rt.sessions) as s:
        board = make_board(s, shots=1, frames=1)
        add_member(s, board.file_id, "Layla", kind="presenter", description="Navy blazer", assets=rt.assets)
        set_budget(s, board.file_id, 0.05, actor="ana")
    with session_scope(rt.sessions) as s, pytest.raises(GateError, match=r"No candidates were queued: 3 image\(s\)"):
        request_candidates(s, board.file_id, "Layla", settings=rt.settings)
    with rt.sessions() as s:
        assert s.query(Job).count() == 0
    with session_scope(rt.sessions) as s:  # offline candidates are free: always allowed
        assert len(request_candidates(s, board.file_id, "Layla", settings=rt.settings, provider="offline")) == 3
