"""Clips that follow the plan, over real HTTP against the local Higgs server: the camera move and motion prompt in
the request, start and end images for a model whose schema takes both (under its own field names) and only the
start for one that does not, a duration fitted to the narration, and chained shots sharing one image and one
charge. Models the studio has never seen are read from their published schemas: an unknown slug with
start_image / end_image and durations [4, 8], a listed slug whose live schema has no end field, a duration range
and a string enum; what is queued, priced and sent agree."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from core import money
from core.assets import AssetStore
from core.cost import set_rate
from core.continuity import set_chain_break, set_chain_shots
from core.db import session_scope
from core.higgs import PollSchedule
from core.higgs import published
from core.higgs.schema import check_body, clip_durations, end_frame_field, nearest_duration
from core.jobs import Worker, planning, quote_clip, quote_video_clips, request_clip, request_video_clips
from core.models import Frame, Job, Shot
from core.render.higgs_provider import HiggsProvider
from core.render.providers import OfflineProvider
from core.runtime import Runtime
from core.settings import Settings
from tests.conftest import make_test_settings
from tests.core.jobs_factory import make_board
from tests.fakes.higgs_server import _URL, SCHEMAS, FakeHiggsServer

OMNI = "kling-video/omni/first-last-frame"
TAIL = "kling-video/v2.5-turbo/pro/image-to-video"
START_ONLY = "kling-video/v2.1/pro/image-to-video"
IMAGE = "higgsfield-ai/soul/standard"
UNSEEN = "acme/motion-gen/v3"  # neither "video" nor "kling" in its name, and not in the spec table
UNSEEN_SCHEMA = {"type": "object", "required": ["prompt", "start_image"], "additionalProperties": False,
                 "properties": {"prompt": {"type": "string"}, "start_image": _URL, "end_image": _URL,
                                "duration": {"type": "integer", "enum": [4, 8]}}}
FAST_POLLS = PollSchedule(initial_s=0.05, factor=1.5, max_s=0.3, jitter=0.1)


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return make_test_settings(tmp_path / "data", db_url, allow_unapproved_clips=True)


@pytest.fixture
def server() -> Iterator[FakeHiggsServer]:
    with FakeHiggsServer(latency_s=0.1, seed=11) as srv:
        yield srv


def _rt(runtime: Runtime, server: FakeHiggsServer, model: str) -> Runtime:
    key_id, secret = server.credentials
    settings = runtime.settings.model_copy(update={
        "hf_key": SecretStr(f"{key_id}:{secret}"), "renderer": "higgs", "higgs_base_url": server.base_url,
        "allow_private_downloads": True, "allow_http_downloads": True, "higgs_video_model": model})
    return Runtime(settings=settings, engine=runtime.engine, sessions=runtime.sessions)


def _drain(rt: Runtime) -> None:
    store = AssetStore(rt.data_dir)
    higgs = HiggsProvider.from_settings(rt.settings, store, poll=FAST_POLLS, backoff_base_s=0.01, timeout_s=2.0)
    Worker(rt, providers={"offline": OfflineProvider(store, clip_duration_s=1), "higgs": higgs},
           backoff_s=0.02, idle_s=0.02).run(drain=True)


def _bodies(server: FakeHiggsServer, slug: str) -> list[dict[str, Any]]:
    return [r.body for r in server.requests if r.slug == slug]


def test_end_frame_fields_are_read_from_the_published_schema() -> None:
    assert end_frame_field(OMNI, SCHEMAS[OMNI]) == "last_frame_url"
    assert end_frame_field(TAIL, SCHEMAS[TAIL]) == "tail_image_url"
    assert end_frame_field(START_ONLY, SCHEMAS[START_ONLY]) is None
    # A model the table does not know, with an end field in its schema, still gets its end frame.
    assert end_frame_field("acme/video/new", {"properties": {"image_url": {}, "end_image_url": {}}}) == "end_image_url"
    assert clip_durations(TAIL, SCHEMAS[TAIL]) == (5, 10) and clip_durations(START_ONLY, SCHEMAS[START_ONLY]) is None
    assert [nearest_duration(s, (5, 10)) for s in (2.0, 7.4, 7.5, 9.0, 30.0)] == [5, 5, 10, 10, 10]


@pytest.mark.parametrize(("model", "start_field", "end_field"),
                         [(OMNI, "first_frame_url", "last_frame_url"), (TAIL, "image_url", "tail_image_url")])
def test_a_planned_clip_sends_start_and_end_images_with_its_camera_move(
        runtime: Runtime, server: FakeHiggsServer, model: str, start_field: str, end_field: str) -> None:
    rt = _rt(runtime, server, model)
    with session_scope(rt.sessions) as s:
        board = make_board(s, shots=1, frames=3)
        shot = s.get(Shot, board.shot_ids[0])
        shot.camera_move, shot.motion_prompt = "orbit", "The camera circles the teacher as she points at the map."
        shot.narration_text = " ".join(["word"] * 20)  # ~9 s at 130 words a minute
        clip_id = request_clip(s, shot.id, settings=rt.settings).id
        assert len(s.get(Job, clip_id).depends_on) == 2  # first and last keyframes; the middle one is not rendered
    _drain(rt)
    with rt.sessions() as s:
        clip = s.get(Job, clip_id)
        assert clip.status == "succeeded", clip.error
        frames = [s.get(Frame, fid) for fid in board.frames[0]]
        assert [f.selected_image_id is not None for f in frames] == [True, False, True]
        assert clip.input_asset_ids == [frames[0].selected_image_id, frames[2].selected_image_id]
    (body,) = _bodies(server, model)
    assert body[start_field] and body[end_field] and body[start_field] != body[end_field]
    assert "Slow orbit around the subject" in body["prompt"] and "circles the teacher" in body["prompt"]
    assert body["duration"] == 10  # the accepted length nearest to ~9 s of narration
    assert len(_bodies(server, IMAGE)) == 2


def test_a_start_only_model_gets_only_the_start_and_middle_or_end_frames_are_not_rendered(
        runtime: Runtime, server: FakeHiggsServer) -> None:
    rt = _rt(runtime, server, START_ONLY)
    with session_scope(rt.sessions) as s:
        board = make_board(s, shots=1, frames=3)
        quote = quote_video_clips(s, board.video_id, settings=rt.settings)
        images, clips = quote.images, quote.clips
        assert (images, clips) == (1, 1)  # the estimate prices only the start image
        clip_id = request_clip(s, board.shot_ids[0], settings=rt.settings).id
        assert len(s.get(Job, clip_id).depends_on) == clips
    _drain(rt)
    with rt.sessions() as s:
        assert s.get(Job, clip_id).status == "succeeded"
        assert [s.get(Frame, f).selected_image_id is not None for f in board.frames[0]] == [True, False, False]
    (body,) = _bodies(server, START_ONLY)
    assert set(body) == {"prompt", "image_url"}  # no end field, no duration: the schema has neither
    assert "Slow, steady push-in" in body["prompt"]  # a shot without a plan keeps the calm default


def test_chained_shots_share_one_image_and_one_charge(runtime: Runtime, server: FakeHiggsServer) -> None:
    rt = _rt(runtime, server, OMNI)
    with session_scope(rt.sessions) as s:
        board = make_board(s, shots=3, frames=2)
        set_chain_shots(s, board.file_id, True, actor="tester")
        set_chain_break(s, board.shot_ids[2], True, actor="tester")  # the third shot starts on its own again
        jobs = request_video_clips(s, board.video_id, settings=rt.settings).jobs
        assert len(jobs) == 3
    _drain(rt)
    with rt.sessions() as s:
        clips = [s.get(Job, j.id) for j in jobs]
        assert all(c.status == "succeeded" for c in clips), [c.error for c in clips]
        shot1_last, shot2_first, shot3_first = board.frames[0][1], board.frames[1][0], board.frames[2][0]
        assert clips[1].params["start_frame_id"] == shot1_last and clips[1].params["chained_from_shot"] == \
            board.shot_ids[0]
        assert clips[2].params["start_frame_id"] == shot3_first and "chained_from_shot" not in clips[2].params
        assert s.get(Frame, shot2_first).selected_image_id is None  # its picture is shot 1's last image
        assert clips[0].input_asset_ids[1] == clips[1].input_asset_ids[0]  # one asset shared
    bodies = _bodies(server, OMNI)
    assert len(bodies) == 3 and len({b["first_frame_url"] for b in bodies}) == 3
    shared = [(a, b) for a in bodies for b in bodies if b["first_frame_url"] == a["last_frame_url"]]
    assert len(shared) == 1  # shot 2 starts on shot 1's last image; shot 3's chain is broken
    # 5 keyframe images (shot 1: 2, shot 2: its last, shot 3: 2) and 3 clips: each charged once
    image_charges = [r for r in server.requests if r.slug == IMAGE and r.charged]
    assert len(image_charges) == 5 and server.charged_requests == 8
    assert max(server.charges_by_key().values()) == 1


def test_a_clip_prompt_describes_its_real_start_and_quotes_no_arabic(runtime: Runtime) -> None:
    """A chained clip opens on the previous shot's last keyframe, so its prompt says so; the shot's Arabic summary
    and an Arabic motion line are left out of the English prompt (they invite lettering in the picture)."""
    from core.jobs.planning import motion_prompt

    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=2, frames=2)
        set_chain_shots(s, board.file_id, True, actor="tester")
        for shot_id in board.shot_ids:
            shot = s.get(Shot, shot_id)
            shot.summary = "المعلم يشرح فكرة الدرس أمام السبورة."
            shot.motion_prompt = "حركة بطيئة نحو السبورة"
            shot.camera_move = "pan left"
        [clip] = request_video_clips(s, board.video_id, settings=runtime.settings).jobs[1:]
        assert clip.params["start_frame_id"] == board.frames[0][1]
        prompt = clip.prompt_text
        assert "Slow pan left" in prompt
        assert "shot 1 frame 2" in prompt.split("Opens on:")[1].split("Ends on:")[0]  # shot 1's last keyframe
        assert "shot 2 frame 2" in prompt.split("Ends on:")[1]
        assert not any("\u0600" <= ch <= "\u06ff" for ch in prompt), prompt
        shot = s.get(Shot, board.shot_ids[0])
        assert "Motion:" not in motion_prompt(s, shot, list(shot.frames))


def _narrated_shot(s: Any, shot_id: int, words: int) -> Shot:
    shot = s.get(Shot, shot_id)
    shot.narration_text = " ".join(["word"] * words)
    s.flush()
    return shot


def test_an_unseen_model_gets_both_images_and_the_duration_its_schema_accepts_priced_as_sent(
        runtime: Runtime, server: FakeHiggsServer) -> None:
    server.publish(UNSEEN, UNSEEN_SCHEMA, price={"credits": "3", "usd": "0.2"})
    rt = _rt(runtime, server, UNSEEN)
    with session_scope(rt.sessions) as s:
        set_rate(s, UNSEEN, unit="clip_second", credits=1, usd=0.5, actor="ed")
        board = make_board(s, shots=1, frames=3)
        _narrated_shot(s, board.shot_ids[0], 15)  # about 7 s at 130 words a minute
        quote = quote_clip(s, board.shot_ids[0], settings=rt.settings)
        assert (quote.images, quote.clips) == (2, 1)  # the first and the last keyframe, not the middle one
        (quoted,) = [j for j in quote.jobs if j.kind == "clip"]
        assert quoted.price.seconds == 8 and quoted.price.usd == pytest.approx(8 * 0.5)
        clip = request_clip(s, board.shot_ids[0], settings=rt.settings)
        clip_id = clip.id
        assert clip.params["duration"] == 8 and clip.params["end_frame_id"] == board.frames[0][2]
        assert len(clip.depends_on) == 2
        assert money.price_job(clip, money.load_rate_card(s)).usd == pytest.approx(quoted.price.usd)
    _drain(rt)
    with rt.sessions() as s:
        job = s.get(Job, clip_id)
        assert job.status == "succeeded", job.error
        assert [s.get(Frame, f).selected_image_id is not None for f in board.frames[0]] == [True, False, True]
    (body,) = _bodies(server, UNSEEN)
    assert set(body) == {"prompt", "start_image", "end_image", "duration"}
    assert body["start_image"] != body["end_image"] and body["duration"] == 8  # sent as priced
    assert check_body(UNSEEN_SCHEMA, body) == []


def test_a_listed_model_whose_live_schema_has_no_end_field_renders_no_end_frame(
        runtime: Runtime, server: FakeHiggsServer) -> None:
    live = {"type": "object", "required": ["first_frame_url", "prompt"], "additionalProperties": False,
            "properties": {"prompt": {"type": "string"}, "first_frame_url": _URL,
                           "duration": {"type": "integer", "enum": [5, 10]}}}
    server.publish(OMNI, live)  # the table says it takes a last frame; the account's schema says not
    rt = _rt(runtime, server, OMNI)
    with session_scope(rt.sessions) as s:
        board = make_board(s, shots=1, frames=3)
        assert not planning.takes_end_frame(rt.settings, "higgs")
        view = planning.clip_model_view(rt.settings, "higgs")
        assert view.table_because is None and not view.caps.takes_end_frame
        assert quote_video_clips(s, board.video_id, settings=rt.settings).images == 1
        clip_id = request_clip(s, board.shot_ids[0], settings=rt.settings).id
    _drain(rt)
    with rt.sessions() as s:
        assert s.get(Job, clip_id).status == "succeeded"
        assert [s.get(Frame, f).selected_image_id is not None for f in board.frames[0]] == [True, False, False]
    assert len(_bodies(server, IMAGE)) == 1  # no end frame rendered (or paid) only to be dropped
    (body,) = _bodies(server, OMNI)
    assert set(body) == {"prompt", "first_frame_url", "duration"}


@pytest.mark.parametrize(("duration", "words", "sent"), [
    ({"type": "integer", "minimum": 2, "maximum": 12}, 40, 12),  # ~18 s of narration: clamped to the maximum
    ({"type": "string", "enum": ["5", "10"]}, 15, "5"),  # ~7 s: the nearest choice, as the string it is
])
def test_durations_follow_ranges_and_string_enums(runtime: Runtime, server: FakeHiggsServer,
                                                  duration: dict[str, Any], words: int, sent: Any) -> None:
    slug = "acme/motion-gen/v4"
    schema = {"type": "object", "required": ["prompt", "image"], "additionalProperties": False,
              "properties": {"prompt": {"type": "string"}, "image": _URL, "duration": duration}}
    server.publish(slug, schema)
    rt = _rt(runtime, server, slug)
    with session_scope(rt.sessions) as s:
        board = make_board(s, shots=1, frames=2)
        _narrated_shot(s, board.shot_ids[0], words)
        quote = quote_clip(s, board.shot_ids[0], settings=rt.settings)
        (quoted,) = [j for j in quote.jobs if j.kind == "clip"]
        clip_id = request_clip(s, board.shot_ids[0], settings=rt.settings).id
    _drain(rt)
    with rt.sessions() as s:
        job = s.get(Job, clip_id)
        assert job.status == "succeeded", job.error
        assert job.params["duration"] == int(sent) == quoted.price.seconds
    (body,) = _bodies(server, slug)
    assert body["duration"] == sent and type(body["duration"]) is type(sent)
    assert set(body) == {"prompt", "image", "duration"}


def test_the_model_list_is_read_once_and_shared_through_the_data_dir(
        runtime: Runtime, server: FakeHiggsServer) -> None:
    import json

    server.publish(UNSEEN, UNSEEN_SCHEMA)
    rt = _rt(runtime, server, UNSEEN)
    for _ in range(3):
        assert planning.takes_end_frame(rt.settings, "higgs")
        assert planning.clip_model_view(rt.settings, "higgs").caps.durations == (4, 8)
    assert server.state.hits["models"] == 1  # one read for every question of a page run
    path = published.cache_path(rt.data_dir)
    first_read = json.loads(path.read_text())["fetched_at"]
    published.forget()  # a fresh process (or the studio, after the worker read the list) starts from the file
    assert planning.takes_end_frame(rt.settings, "higgs") and server.state.hits["models"] == 1
    with session_scope(rt.sessions) as s:
        board = make_board(s, shots=1, frames=2)
        clip_id = request_clip(s, board.shot_ids[0], settings=rt.settings).id
    assert server.state.hits["models"] == 1
    _drain(rt)  # the worker reads the list itself and rewrites the file
    with rt.sessions() as s:
        assert s.get(Job, clip_id).status == "succeeded"
    assert server.state.hits["models"] == 2 and json.loads(path.read_text())["fetched_at"] > first_read


def test_without_a_model_list_the_table_answers_and_says_so(runtime: Runtime, server: FakeHiggsServer) -> None:
    rt = _rt(runtime, server, START_ONLY)
    down = rt.settings.model_copy(update={"higgs_base_url": "http://127.0.0.1:9"})  # nothing listens there
    view = planning.clip_model_view(down, "higgs")
    assert view.table_because and not view.caps.takes_end_frame  # the table's word for v2.1: start only
    assert planning.clip_model_view(down, "higgs").table_because == view.table_because  # not asked again


def test_a_model_offered_after_the_list_was_read_is_found(runtime: Runtime, server: FakeHiggsServer,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    rt = _rt(runtime, server, UNSEEN)
    assert published.model_list(rt.settings).offered(UNSEEN) is False
    server.publish(UNSEEN, UNSEEN_SCHEMA)
    monkeypatch.setattr(published, "MISSING_RETRY_S", 0.0)  # the list is older than that: read it again
    assert planning.takes_end_frame(rt.settings, "higgs") and server.state.hits["models"] == 2


def test_a_chained_clip_reads_fresh_while_its_images_are_the_ones_it_moved_between(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    """A chained clip starts on the previous shot's last keyframe: the board must not call it stale because its
    start image is not its own first frame's; changing that previous frame's image does make it stale."""
    from core.board import load_current_board
    from core.library import ingest_file
    from core.prompts import OfflineRefiner, frames_in_scope, refine_frames
    from tests.core.docx_factory import make_docx

    rt = Runtime(settings=runtime.settings.model_copy(update={"clip_duration_s": 1}), engine=runtime.engine,
                 sessions=runtime.sessions)
    data = make_docx([("heading", "Video 1: Cells"), ("para", "A cell is small. It has a membrane. It has a nucleus. "
                                                               "Mitochondria make energy.")])
    with session_scope(rt.sessions) as s:
        result = ingest_file(s, data, "cells.docx", settings=rt.settings, shots=2, frames=2)
        set_chain_shots(s, result.source_file_id, True, actor="tester")
        [video_id] = result.video_ids
    with rt.sessions() as s:
        frame_ids = frames_in_scope(s, video_id=video_id)
    refine_frames(rt.sessions, frame_ids, OfflineRefiner(), concurrency=1)
    with session_scope(rt.sessions) as s:
        request_video_clips(s, video_id, settings=rt.settings)
    Worker(rt, concurrency=2, idle_s=0.05).run(drain=True)
    with rt.sessions() as s:
        board = load_current_board(s, video_id)
        assert board is not None and all(sh.clip_id for sh in board.shots)
        assert [sh.clip_freshness.state for sh in board.shots] == ["fresh", "fresh"], \
            [sh.clip_freshness.reasons for sh in board.shots]
        shared = board.shots[0].frames[-1].id
    with session_scope(rt.sessions) as s:
        request_clip(s, board.shots[0].id, settings=rt.settings)  # nothing new: same inputs
        frame = s.get(Frame, shared)
        frame.selected_image_id = None  # the shared keyframe loses its image
    with rt.sessions() as s:
        board = load_current_board(s, video_id)
        assert board is not None and board.shots[1].clip_freshness.stale
