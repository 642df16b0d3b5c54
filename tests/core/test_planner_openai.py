"""The OpenAI planner over real HTTP against the local fake server: a valid plan, and every bad reply ending in
either a valid plan (after one re-ask carrying the problems) or a clear error — never a partial plan."""

from __future__ import annotations

import json
import time
from typing import Iterator

import pytest

from core.errors import ProviderError
from core.planner.openai_planner import OpenAIPlanner
from core.planner.types import CAMERA_MOVES, SHOT_SIZES, PlanRequest
from core.planner.validate import plan_problems
from core.prompts.openai_refiner import RetryPolicy
from core.prompts.types import StyleBibleData
from tests.fakes.openai_server import FakeOpenAIServer, Reply

KEY = "sk-test-PLANNER-0123456789"
FAST = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05)
SENTENCES = (
    "في هذا الدرس نتعرف على الخلية.", "الخلية هي وحدة بناء الكائن الحي.", "لكل خلية غشاء يحيط بها.",
    "وفي داخلها نواة تحمل المادة الوراثية.", "تنتج الميتوكوندريا الطاقة.", "والآن نلخص ما تعلمناه.",
)
REQ = PlanRequest(sentences=SENTENCES, video_title="الخلية", course_title="أحياء", shots=3, frames=3,
                  directions=("[Visual: microscope close-up of a cell]",), scenes=("before sentence 5: Scene 2",),
                  cast=("Dr. Lina",), style=StyleBibleData(visual_style="clean 3D illustration"))


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


def planner_for(server: FakeOpenAIServer, retry: RetryPolicy = FAST) -> OpenAIPlanner:
    return OpenAIPlanner(api_key=KEY, model="gpt-plan", base_url=server.base_url, timeout_s=2.0, retry=retry)


def test_a_valid_plan_covers_every_sentence_with_known_sizes_and_moves(openai_server: FakeOpenAIServer) -> None:
    plan = planner_for(openai_server).plan(REQ)

    assert plan_problems(plan, len(SENTENCES)) == []
    assert len(plan.shots) == 3
    assert all(s.shot_size in SHOT_SIZES and s.camera_move in CAMERA_MOVES for s in plan.shots)
    assert plan.shots[0].cast == ("Dr. Lina",)
    (sent,) = openai_server.requests
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    fmt = sent.body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    user = sent.body["messages"][1]["content"]
    for expected in ("[1] في هذا الدرس", "[6] والآن نلخص", "Visual: microscope", "Scene 2", "clean 3D illustration",
                     "Dr. Lina", "Keyframes per shot: 3", "push in, pull out"):
        assert expected in user


@pytest.mark.parametrize("kind", ["plan_drop", "plan_repeat", "plan_reorder", "plan_bad_move", "plan_truncated",
                                  "malformed", "invalid", "plan_extra_keyframes"])
def test_a_bad_plan_is_asked_again_once_with_its_problems_and_the_fixed_plan_is_used(
        openai_server: FakeOpenAIServer, kind: str) -> None:
    openai_server.script(kind)
    plan = planner_for(openai_server).plan(REQ)

    assert plan_problems(plan, len(SENTENCES)) == []
    first, second = openai_server.requests
    assert first.answered_with == kind and second.answered_with == "ok"
    messages = second.body["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    reask = messages[-1]["content"]
    assert "cannot be used" in reask and "sentences 1 to 6" in reask
    expected = {"plan_drop": "dropped", "plan_repeat": "repeat", "plan_reorder": "repeat or go back",
                "plan_bad_move": "'dolly zoom'", "plan_truncated": "cut off", "malformed": "not valid JSON",
                "invalid": "does not fit the plan format", "plan_extra_keyframes": "6 keyframes, but at most 3"}[kind]
    assert expected in reask


@pytest.mark.parametrize("kind", ["plan_drop", "plan_repeat", "plan_reorder", "plan_bad_move", "plan_truncated"])
def test_a_plan_still_bad_after_the_reask_is_an_error_not_a_partial_plan(
        openai_server: FakeOpenAIServer, kind: str) -> None:
    openai_server.script(kind, kind)
    with pytest.raises(ProviderError) as info:
        planner_for(openai_server).plan(REQ)
    assert info.value.category == "invalid_plan"
    assert "still invalid after one re-ask" in str(info.value)
    assert len(openai_server.requests) == 2  # asked once again, not more


def test_a_refusal_is_not_asked_again(openai_server: FakeOpenAIServer) -> None:
    openai_server.script("refusal")
    with pytest.raises(ProviderError) as info:
        planner_for(openai_server).plan(REQ)
    assert info.value.category == "refused" and "refused to plan" in str(info.value)
    assert len(openai_server.requests) == 1


def test_rate_limits_wait_for_retry_after_then_plan(openai_server: FakeOpenAIServer) -> None:
    openai_server.script(Reply("rate_limit", retry_after="1"))
    started = time.perf_counter()
    plan = planner_for(openai_server).plan(REQ)
    assert time.perf_counter() - started >= 0.95
    assert plan_problems(plan, len(SENTENCES)) == []
    assert [r.answered_with for r in openai_server.requests] == ["rate_limit", "ok"]


def test_rate_limits_that_never_end_give_up_with_a_clear_error(openai_server: FakeOpenAIServer) -> None:
    openai_server.script(*[Reply("rate_limit", retry_after_ms=10)] * 5)
    with pytest.raises(ProviderError) as info:
        planner_for(openai_server).plan(REQ)
    assert info.value.category == "rate_limited" and "gave up after 3 attempts" in str(info.value)


def test_a_server_without_structured_output_is_asked_in_json_mode(openai_server: FakeOpenAIServer) -> None:
    openai_server.set_reject_json_schema(True)
    planner = planner_for(openai_server)
    assert plan_problems(planner.plan(REQ), len(SENTENCES)) == []
    assert [r.body["response_format"]["type"] for r in openai_server.requests] == ["json_schema", "json_object"]
    planner.plan(REQ)
    assert openai_server.requests[-1].body["response_format"]["type"] == "json_object"  # remembered


def test_a_json_mode_server_is_told_the_shape_and_a_fenced_answer_is_read(openai_server: FakeOpenAIServer) -> None:
    """A server that only does JSON mode gets no schema in the request: the prompt itself spells out the answer's
    shape; and a reply wrapped in a ```json code fence (usual for such servers) is read, not re-asked."""
    openai_server.set_reject_json_schema(True)
    openai_server.script(Reply("ok"), Reply("fenced"))
    plan = planner_for(openai_server).plan(REQ)
    assert plan_problems(plan, len(SENTENCES)) == []
    asked = [r for r in openai_server.requests if r.body["response_format"]["type"] == "json_object"]
    assert len(asked) == 1 and asked[0].answered_with == "fenced"  # read as it came: no re-ask
    system = asked[0].body["messages"][0]["content"]
    assert '{"shots": [{"first_sentence": 1' in system and '"keyframes": [{"description"' in system


def test_the_key_never_appears_in_an_error(openai_server: FakeOpenAIServer) -> None:
    server = FakeOpenAIServer(require_key="another-key").start()
    try:
        with pytest.raises(ProviderError) as info:
            planner_for(server).plan(REQ)
    finally:
        server.stop()
    assert info.value.category == "auth" and KEY not in str(info.value) and KEY not in repr(planner_for(server))


def test_usage_is_counted_per_request(openai_server: FakeOpenAIServer) -> None:
    planner = planner_for(openai_server)
    planner.plan(REQ)
    assert planner.usage["requests"] == 1 and planner.usage["prompt_tokens"] > 100
    assert json.loads(json.dumps(planner.usage))
