"""The refiners draw the keyframe: a planned frame's request carries its description, beat, the shot's directions,
size and camera move; the OpenAI refiner sends them (beat as context); the offline prompt holds no Arabic."""

from __future__ import annotations

from sqlalchemy import select

from core.db import session_scope
from core.library import ingest_file
from core.models import Frame, Shot, Storyboard
from core.planner.batch import plan_videos
from core.planner.offline import OfflinePlanner
from core.prompts.context import build_request
from core.prompts.keyframe import has_arabic
from core.prompts.offline import OfflineRefiner
from core.prompts.openai_refiner import OpenAIRefiner, RetryPolicy
from core.runtime import Runtime
from tests.core.docx_factory import make_docx
from tests.fakes.openai_server import FakeOpenAIServer


def _planned_frame(runtime: Runtime) -> int:
    data = make_docx([("heading", "الفيديو الأول: الخلية"), ("para", "[Visual: microscope on a lab bench]"),
                      ("para", "الخلية هي وحدة بناء الكائن الحي. لكل خلية غشاء يحيط بها. وفي داخلها نواة.")])
    with session_scope(runtime.sessions) as s:
        video_id = ingest_file(s, data, "cell.docx", settings=runtime.settings).video_ids[0]
    plan_videos(runtime.sessions, [video_id], OfflinePlanner())
    with session_scope(runtime.sessions) as s:
        board = s.scalar(select(Storyboard).where(Storyboard.video_id == video_id, Storyboard.is_current))
        shot = s.scalar(select(Shot).where(Shot.storyboard_id == board.id).order_by(Shot.position))
        shot.shot_size, shot.camera_move, shot.location = "close-up", "push in", "a biology lab"
        return s.scalars(select(Frame).where(Frame.shot_id == shot.id).order_by(Frame.position)).first().id


def test_a_planned_frame_is_refined_from_its_keyframe_and_plan(sqlite_runtime: Runtime) -> None:
    frame_id = _planned_frame(sqlite_runtime)
    with session_scope(sqlite_runtime.sessions) as s:
        req = build_request(s, frame_id)
    assert req.beat and has_arabic(req.beat)
    assert (req.planned_size, req.camera_move, req.location) == ("close-up", "push in", "a biology lab")
    assert req.directions == ("[Visual: microscope on a lab bench]",)

    offline = OfflineRefiner().refine(req)
    assert not has_arabic(offline.prompt) and offline.prompt.startswith("Close-up shot of")
    assert "push in" in offline.camera and "a biology lab" in offline.prompt

    with FakeOpenAIServer() as server:
        OpenAIRefiner(api_key="sk-test-kf", model="gpt-test", base_url=server.base_url,
                      retry=RetryPolicy(max_attempts=1)).refine(req)
        system, user = server.requests[0].body["messages"]
    assert "keyframe to draw" in system["content"] and "never quote it" in system["content"]
    for line in ("Planned shot size: close-up", "Camera move: push in", "Location: a biology lab",
                 "Visual directions for this shot: [Visual: microscope on a lab bench]",
                 f"Narration beat (context only, never drawn as text): {req.beat}"):
        assert line in user["content"]
