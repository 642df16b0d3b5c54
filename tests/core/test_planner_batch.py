"""Planning videos as a batch, over real HTTP against the local OpenAI-compatible server: a valid plan stored as a
new version; every bad reply ending in a valid plan or the storyboard as it was with the reason on it — never a
partial or overlapping one; reuse of unchanged inputs; the estimate and the budget gate; the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import func, select

from core.cast import add_member, assigned
from core.cost import set_budget
from core.db import session_scope
from core.errors import GateError
from core.library import current_storyboard, ingest_file
from core.models import Frame, Shot, Storyboard
from core.planner.batch import estimate_plan, plan_request_for, plan_videos, videos_in_scope
from core.planner.offline import OfflinePlanner
from core.planner.openai_planner import OpenAIPlanner
from core.planner.validate import plan_problems
from core.planner.types import KeyframePlan, PlannedShot, ShotPlanReply
from core.prompts.openai_refiner import RetryPolicy
from core.runtime import Runtime
from tests.core.docx_factory import make_docx
from tests.fakes.openai_server import FakeOpenAIServer, Reply

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-test-PLANBATCH-0123456789"
FAST = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02)
VIDEO_1 = ["Welcome to the course on cells.", "A cell is the smallest unit of life.",
           "Every cell has a membrane around it.", "Inside sits the nucleus with its DNA.",
           "Mitochondria make the energy.", "Let us sum up what we learned."]


def _narration(v: int = 1) -> str:
    return " ".join(s.replace("course", f"course part {v}") for s in VIDEO_1)


def _script(videos: int = 1) -> bytes:
    blocks: list[tuple] = []
    for v in range(1, videos + 1):
        blocks.append(("heading", f"Video {v}: Cells part {v}"))
        blocks.append(("para", "[Visual: a microscope on a lab bench]"))
        blocks.append(("para", _narration(v)))
    return make_docx(blocks)


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


def _ingest(runtime: Runtime, videos: int = 1) -> tuple[int, list[int]]:
    with session_scope(runtime.sessions) as s:
        result = ingest_file(s, _script(videos), "cells.docx", settings=runtime.settings)
        return result.source_file_id, list(result.video_ids)


def _planner(server: FakeOpenAIServer) -> OpenAIPlanner:
    return OpenAIPlanner(api_key=KEY, model="gpt-4o-mini", base_url=server.base_url, timeout_s=5.0, retry=FAST)


def _board_state(runtime: Runtime, video_id: int) -> tuple[int, int, int]:
    with session_scope(runtime.sessions) as s:
        board = current_storyboard(s, video_id)
        versions = s.scalar(select(func.count(Storyboard.id)).where(Storyboard.video_id == video_id))
        return board.id, board.version, int(versions or 0)


def _partition(runtime: Runtime, video_id: int) -> list[str]:
    with session_scope(runtime.sessions) as s:
        board = current_storyboard(s, video_id)
        shots = list(s.scalars(select(Shot).where(Shot.storyboard_id == board.id).order_by(Shot.position)))
        return [sh.narration for sh in shots]


def test_a_valid_ai_plan_is_stored_as_a_new_version_with_its_cast(runtime: Runtime,
                                                                  openai_server: FakeOpenAIServer) -> None:
    file_id, (video_id,) = _ingest(runtime)
    with session_scope(runtime.sessions) as s:
        add_member(s, file_id, "Dr. Lina", kind="presenter", description="a biologist in a white coat",
                   assets=runtime.assets)
    before = _board_state(runtime, video_id)

    summary = plan_videos(runtime.sessions, [video_id], _planner(openai_server), concurrency=2, actor="tester")

    assert (summary.planned, summary.reused, summary.fell_back) == (1, 0, 0)
    board_id, version, versions = _board_state(runtime, video_id)
    assert (version, versions) == (before[1] + 1, before[2] + 1)
    assert summary.storyboards == {video_id: board_id}
    with session_scope(runtime.sessions) as s:
        board = s.get(Storyboard, board_id)
        assert (board.planner, board.planner_model, board.template_version) == ("openai", "gpt-4o-mini", "plan-2")
        assert len(board.plan_input_hash) == 64
        shots = list(s.scalars(select(Shot).where(Shot.storyboard_id == board_id).order_by(Shot.position)))
        assert all(sh.camera_move and sh.shot_size and sh.motion_prompt for sh in shots)
        frames = list(s.scalars(select(Frame).join(Shot).where(Shot.storyboard_id == board_id)))
        assert len({f.scene_text for f in frames}) == len(frames)  # no two keyframes alike
        assert assigned(s, [shots[0].id]) and not assigned(s, [sh.id for sh in shots[1:]])
    # every sentence exactly once, in order
    assert " ".join(_partition(runtime, video_id)).split() == _narration().split()
    user = openai_server.requests[0].body["messages"][1]["content"]
    assert "(at sentence 1) [Visual: a microscope on a lab bench]" in user and "Dr. Lina" in user


@pytest.mark.parametrize("kind", ["plan_drop", "plan_repeat", "plan_reorder", "plan_bad_move", "plan_truncated",
                                  "refusal"])
def test_a_reply_still_bad_keeps_the_storyboard_with_the_reason(runtime: Runtime, openai_server: FakeOpenAIServer,
                                                                 kind: str) -> None:
    _file_id, (video_id,) = _ingest(runtime)
    before = _board_state(runtime, video_id)
    narration_before = _partition(runtime, video_id)
    openai_server.script(kind, kind)

    summary = plan_videos(runtime.sessions, [video_id], _planner(openai_server))

    assert (summary.planned, summary.fell_back) == (0, 1)
    assert _board_state(runtime, video_id) == before  # no new version, nothing half-applied
    assert _partition(runtime, video_id) == narration_before
    reason = summary.reasons[video_id]
    assert ("refused" in reason) if kind == "refusal" else ("still invalid after one re-ask" in reason)
    with session_scope(runtime.sessions) as s:
        note = current_storyboard(s, video_id).note
    assert reason in note and "unchanged" in note


@pytest.mark.parametrize("kind", ["plan_drop", "plan_repeat", "plan_reorder", "plan_bad_move", "plan_truncated",
                                  "malformed"])
def test_a_reply_bad_once_is_fixed_by_the_reask_and_stored(runtime: Runtime, openai_server: FakeOpenAIServer,
                                                           kind: str) -> None:
    _file_id, (video_id,) = _ingest(runtime)
    openai_server.script(kind)
    summary = plan_videos(runtime.sessions, [video_id], _planner(openai_server))
    assert summary.planned == 1 and len(openai_server.requests) == 2
    assert " ".join(_partition(runtime, video_id)).split() == _narration().split()


def test_rate_limits_are_waited_out_and_endless_ones_fall_back(runtime: Runtime,
                                                               openai_server: FakeOpenAIServer) -> None:
    _file_id, (video_id,) = _ingest(runtime)
    openai_server.script(Reply("rate_limit", retry_after_ms=50))
    assert plan_videos(runtime.sessions, [video_id], _planner(openai_server)).planned == 1

    openai_server.clear()
    before = _board_state(runtime, video_id)
    openai_server.script(*[Reply("rate_limit", retry_after_ms=20)] * 3)
    summary = plan_videos(runtime.sessions, [video_id], _planner(openai_server), force=True)
    assert summary.fell_back == 1 and "429" in summary.reasons[video_id]
    assert _board_state(runtime, video_id) == before


def test_unchanged_inputs_are_reused_not_paid_again(runtime: Runtime, openai_server: FakeOpenAIServer) -> None:
    _file_id, video_ids = _ingest(runtime, videos=2)
    planner = _planner(openai_server)
    assert plan_videos(runtime.sessions, video_ids, planner).planned == 2
    sent = len(openai_server.requests)
    states = [_board_state(runtime, v) for v in video_ids]

    again = plan_videos(runtime.sessions, video_ids, planner)

    assert (again.planned, again.reused) == (0, 2) and len(openai_server.requests) == sent
    assert [_board_state(runtime, v) for v in video_ids] == states
    with session_scope(runtime.sessions) as s:
        assert estimate_plan(s, video_ids, planner).reused == 2 and estimate_plan(s, video_ids, planner).usd == 0


def test_concurrency_is_bounded_and_progress_reports_every_video(runtime: Runtime,
                                                                 openai_server: FakeOpenAIServer) -> None:
    file_id, video_ids = _ingest(runtime, videos=5)
    openai_server.set_latency(0.1)
    seen: list[tuple[int, int, int, str]] = []
    with session_scope(runtime.sessions) as s:
        assert videos_in_scope(s, file_id=file_id) == video_ids
    summary = plan_videos(runtime.sessions, video_ids, _planner(openai_server), concurrency=2,
                          progress=lambda *a: seen.append(a))
    assert summary.planned == 5 and openai_server.max_in_flight <= 2
    assert [s[0] for s in seen] == [1, 2, 3, 4, 5] and {s[2] for s in seen} == set(video_ids)


def test_the_estimate_prices_tokens_and_the_budget_gate_refuses_before_sending(
        runtime: Runtime, openai_server: FakeOpenAIServer) -> None:
    file_id, video_ids = _ingest(runtime, videos=3)
    planner = _planner(openai_server)
    with session_scope(runtime.sessions) as s:
        est = estimate_plan(s, video_ids, planner)
        assert est.videos == 3 and est.prompt_tokens > 3 * 300 and est.completion_tokens > 0
        assert 0 < est.usd < 0.01 and est.rate_known
        assert estimate_plan(s, video_ids, OfflinePlanner()).usd == 0
        set_budget(s, file_id, est.usd / 2, actor="tester")
    with pytest.raises(GateError) as info:
        plan_videos(runtime.sessions, video_ids, planner)
    assert info.value.category == "budget" and "Nothing was planned" in str(info.value)
    assert openai_server.requests == []


def test_a_plan_the_store_refuses_falls_back_whole(runtime: Runtime) -> None:
    """A planner whose plan passes its own checks but shows one picture twice: the store refuses it, whole."""
    _file_id, (video_id,) = _ingest(runtime)
    before = _board_state(runtime, video_id)

    class Twice(OfflinePlanner):
        def plan(self, req, *, gate=None):  # type: ignore[no-untyped-def]
            same = (KeyframePlan(description="the same picture"),)
            return ShotPlanReply(shots=(
                PlannedShot(first_sentence=1, last_sentence=3, shot_size="wide", camera_move="static", keyframes=same),
                PlannedShot(first_sentence=4, last_sentence=6, shot_size="wide", camera_move="static", keyframes=same),
            ))

    summary = plan_videos(runtime.sessions, [video_id], Twice())
    assert summary.fell_back == 1 and "same picture" in summary.reasons[video_id]
    assert _board_state(runtime, video_id) == before


def test_the_offline_plan_is_a_valid_partition(runtime: Runtime) -> None:
    _file_id, (video_id,) = _ingest(runtime)
    with session_scope(runtime.sessions) as s:
        req = plan_request_for(s, video_id)
    assert plan_problems(OfflinePlanner().plan(req), len(req.sentences)) == []
    assert plan_videos(runtime.sessions, [video_id], OfflinePlanner()).planned == 1


def _cli(args: list[str], *, db_url: str, data_dir: Path, base_url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "HF_"))}
    env.update(DATABASE_URL=db_url, STUDIO_DATA_DIR=str(data_dir), PYTHONPATH=str(ROOT))
    if base_url:
        env.update(OPENAI_API_KEY=KEY, OPENAI_BASE_URL=base_url, REFINE_MAX_ATTEMPTS="2")
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=data_dir.parent, env=env, capture_output=True,
                          text=True, timeout=120)


def test_cli_plans_a_script_and_prints_planned_reused_and_fallbacks(tmp_path: Path,
                                                                    openai_server: FakeOpenAIServer) -> None:
    data_dir = tmp_path / "data"
    db_url = f"sqlite:///{tmp_path / 'cli.db'}"
    script = tmp_path / "cells.docx"
    script.write_bytes(_script(2))
    ingest = _cli(["ingest", str(script)], db_url=db_url, data_dir=data_dir)
    file_id = json.loads(ingest.stdout)["file_id"]

    est = _cli(["plan", "--file", str(file_id), "--provider", "openai", "--estimate"], db_url=db_url,
               data_dir=data_dir, base_url=openai_server.base_url)
    estimate = json.loads(est.stdout)
    assert estimate["admitted"] and estimate["estimate"]["videos"] == 2 and estimate["estimate"]["usd"] > 0
    assert openai_server.requests == []

    openai_server.script("plan_drop", "plan_drop")  # the first video asked fails twice
    run = _cli(["plan", "--file", str(file_id), "--provider", "openai", "--concurrency", "1"], db_url=db_url,
               data_dir=data_dir, base_url=openai_server.base_url)
    out = json.loads(run.stdout)
    assert run.returncode == 1 and (out["planned"], out["fell_back"]) == (1, 1)
    assert "dropped" in next(iter(out["reasons"].values()))
    again = json.loads(_cli(["plan", "--file", str(file_id), "--provider", "openai"], db_url=db_url,
                            data_dir=data_dir, base_url=openai_server.base_url).stdout)
    assert (again["reused"], again["planned"]) == (1, 1)
    offline = _cli(["plan", "--video", "1", "--provider", "offline"], db_url=db_url, data_dir=data_dir)
    assert offline.returncode == 0 and json.loads(offline.stdout)["planned"] == 1


def _board_shape(session, video_id: int) -> list[tuple[str, tuple[str, ...], str, str]]:  # type: ignore[no-untyped-def]
    board = current_storyboard(session, video_id)
    shots = session.scalars(select(Shot).where(Shot.storyboard_id == board.id, Shot.deleted_at.is_(None))
                            .order_by(Shot.position))
    return [(s.narration or "", tuple(f.scene_text for f in s.frames if f.deleted_at is None), s.shot_size,
             s.camera_move) for s in shots]


def test_planning_offline_gives_the_board_the_script_was_built_with(runtime: Runtime) -> None:
    """"Plan" with the offline planner (what a studio without a key plans with) is the deterministic builder: a
    paced board with visual directions and a scene mark is planned into the very same shots and keyframes — not
    into a fixed 4 × 3 board that drops the directions and runs a shot across the scene change."""
    data = make_docx([
        ("heading", "الفيديو الأول: مقدمة"), ("para", "[Visual: a lab bench]"),
        ("para", "مرحبا بكم في الدورة. هذه هي الجملة الثانية من الدرس."),
        ("para", "[Visual: a microscope close-up]"),
        ("para", "الجملة الثالثة هنا عن الخلية. والرابعة عن الغشاء."),
        ("para", "المشهد الثاني: المختبر"),
        ("para", "الخامسة عن النواة. السادسة عن الطاقة. السابعة [لقطة قريبة للشاشة] الثامنة والأخيرة."),
    ])
    with session_scope(runtime.sessions) as s:
        [video_id] = ingest_file(s, data, "paced.docx", settings=runtime.settings, density="paced", pace_s=3,
                                 frames=3).video_ids
    with runtime.sessions() as s:
        built = _board_shape(s, video_id)
        req = plan_request_for(s, video_id)
    assert req.density == "paced" and req.pace_s == 3 and req.direction_at and req.scene_starts
    summary = plan_videos(runtime.sessions, [video_id], OfflinePlanner(), wpm=runtime.settings.speaking_rate_wpm)
    assert summary.planned == 1, summary.reasons
    with runtime.sessions() as s:
        assert current_storyboard(s, video_id).density == "paced"
        assert _board_shape(s, video_id) == built
        frames = [t for _n, texts, _s, _m in built for t in texts]
    assert any("microscope" in t for t in frames)  # the script's directions are keyframes
